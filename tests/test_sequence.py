"""Sequence patterns, frame-range specs and the up-front check that every frame exists."""

from __future__ import annotations

from pathlib import Path

import pytest

from vst_node.errors import InputError
from vst_node.io.sequence import (
    STILL_FRAME,
    SequencePattern,
    format_frames,
    frame_spec,
    parse_frame_range,
    resolve_frames,
)


def touch(folder: Path, *names: str) -> None:
    for name in names:
        (folder / name).write_bytes(b"x")


@pytest.mark.parametrize(
    ("text", "frame", "expected"),
    [
        ("shot/render.####.exr", 7, "shot/render.0007.exr"),
        ("shot/render.@@@@.exr", 7, "shot/render.0007.exr"),
        ("shot/render.%04d.exr", 7, "shot/render.0007.exr"),
        ("shot/render.%d.exr", 7, "shot/render.7.exr"),
        ("shot/render_#.exr", 1234, "shot/render_1234.exr"),
        ("shot/render.####.exr", 12345, "shot/render.12345.exr"),
        ("shot/render.##.exr", -3, "shot/render.-03.exr"),
    ],
)
def test_pattern_paths(text: str, frame: int, expected: str) -> None:
    pattern = SequencePattern.parse(text)
    assert not pattern.is_still
    assert pattern.path(frame) == Path(expected)
    assert str(pattern) == text


def test_padding_counts_one_digit_per_character() -> None:
    assert SequencePattern.parse("a.###.exr").padding == 3
    assert SequencePattern.parse("a.@@@@@@.exr").padding == 6
    assert SequencePattern.parse("a.%06d.exr").padding == 6
    assert SequencePattern.parse("a.%d.exr").padding == 0


def test_still_has_no_token() -> None:
    pattern = SequencePattern.parse("plate/style.png")
    assert pattern.is_still
    assert pattern.path(42) == Path("plate/style.png")
    assert str(pattern) == "plate/style.png"


def test_two_tokens_are_refused() -> None:
    with pytest.raises(InputError, match="more than one frame token"):
        SequencePattern.parse("v###/render.####.exr")


def test_token_in_folder_is_refused() -> None:
    with pytest.raises(InputError, match="file name"):
        SequencePattern.parse("render_####/beauty.exr")


def test_discover_finds_matching_frames_sorted(tmp_path: Path) -> None:
    touch(
        tmp_path,
        "r.0003.exr",
        "r.0001.exr",
        "r.10000.exr",  # longer than the padding: accepted
        "r.001.exr",  # too short: a different file than path(1) would name
        "r.01000.exr",  # too long with a leading zero: ambiguous, not path(1000)
        "r.0002.exr.tmp",
        ".r.0004.tmp.exr",
        "x.0005.exr",
        "r.abcd.exr",
    )
    (tmp_path / "r.0006.exr").mkdir()  # a folder is not a frame
    pattern = SequencePattern.parse(str(tmp_path / "r.####.exr"))
    assert pattern.discover() == [1, 3, 10000]
    for frame in pattern.discover():
        assert pattern.path(frame).is_file()


def test_discover_unpadded_and_printf(tmp_path: Path) -> None:
    touch(tmp_path, "a.1.exr", "a.12.exr", "a.07.exr", "b.0012.png")
    assert SequencePattern.parse(str(tmp_path / "a.%d.exr")).discover() == [1, 12]
    assert SequencePattern.parse(str(tmp_path / "b.%04d.png")).discover() == [12]


def test_discover_escapes_regex_characters(tmp_path: Path) -> None:
    touch(tmp_path, "shot[v2]+.0001.exr", "shotv2.0002.exr")
    assert SequencePattern.parse(str(tmp_path / "shot[v2]+.####.exr")).discover() == [1]


def test_discover_missing_folder(tmp_path: Path) -> None:
    assert SequencePattern.parse(str(tmp_path / "nope" / "r.####.exr")).discover() == []


def test_discover_still(tmp_path: Path) -> None:
    pattern = SequencePattern.parse(str(tmp_path / "still.png"))
    assert pattern.discover() == []
    touch(tmp_path, "still.png")
    assert pattern.discover() == [STILL_FRAME]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("1001-1005", [1001, 1002, 1003, 1004, 1005]),
        ("1-9x2", [1, 3, 5, 7, 9]),
        ("1-10x4", [1, 5, 9]),
        ("7", [7]),
        ("5-5", [5]),
        ("1,3,5-7,10-20x5", [1, 3, 5, 6, 7, 10, 15, 20]),
        (" 3 , 1, 2-3 ", [1, 2, 3]),
        ("10-12,1-3x2,11", [1, 3, 10, 11, 12]),
        ("-3", [-3]),
        ("-3--1", [-3, -2, -1]),
        ("-2-1", [-2, -1, 0, 1]),
        ("-10--1x4", [-10, -6, -2]),
    ],
)
def test_parse_frame_range(spec: str, expected: list[int]) -> None:
    assert parse_frame_range(spec) == expected


@pytest.mark.parametrize(
    ("spec", "quoted"),
    [
        ("5-1", "'5-1'"),
        ("x", "'x'"),
        ("1-10x0", "'1-10x0'"),
        ("1,,3", "''"),
        ("1-", "'1-'"),
        ("--3", "'--3'"),
        ("-3--5", "'-3--5'"),
        ("1.5", "'1.5'"),
        ("1-3y2", "'1-3y2'"),
    ],
)
def test_parse_frame_range_errors_quote_the_bad_part(spec: str, quoted: str) -> None:
    with pytest.raises(InputError) as info:
        parse_frame_range(spec)
    assert quoted in str(info.value)


@pytest.mark.parametrize("spec", ["", "   "])
def test_parse_frame_range_empty(spec: str) -> None:
    with pytest.raises(InputError, match="empty"):
        parse_frame_range(spec)


def test_format_frames() -> None:
    assert format_frames([1010, 1001, 1002, 1003]) == "1001-1003, 1010"
    assert format_frames([5]) == "5"
    assert format_frames([]) == ""
    assert format_frames([3, 3, 4]) == "3-4"
    many = format_frames(range(0, 100, 2), limit=3)
    assert many == "0, 2, 4, … and 47 more"


def test_resolve_frames_discovers_when_no_spec(tmp_path: Path) -> None:
    touch(tmp_path, "r.0001.exr", "r.0002.exr")
    pattern = SequencePattern.parse(str(tmp_path / "r.####.exr"))
    assert resolve_frames(pattern, None) == [1, 2]


def test_resolve_frames_nothing_matches_names_pattern(tmp_path: Path) -> None:
    pattern = SequencePattern.parse(str(tmp_path / "r.####.exr"))
    with pytest.raises(InputError, match=r"no frames match .*r\.####\.exr"):
        resolve_frames(pattern, None)


def test_resolve_frames_reports_every_missing_frame_once(tmp_path: Path) -> None:
    touch(tmp_path, *(f"r.{f:04d}.exr" for f in (1, 2, 5, 9)))
    pattern = SequencePattern.parse(str(tmp_path / "r.####.exr"))
    assert resolve_frames(pattern, "1-9x4") == [1, 5, 9]
    with pytest.raises(InputError) as info:
        resolve_frames(pattern, "1-10")
    message = str(info.value)
    assert "6 of 10" in message
    assert "3-4, 6-8, 10" in message
    assert str(pattern) in message


def test_resolve_frames_bad_spec(tmp_path: Path) -> None:
    pattern = SequencePattern.parse(str(tmp_path / "r.####.exr"))
    with pytest.raises(InputError, match="'9-1'"):
        resolve_frames(pattern, "9-1")


def test_resolve_frames_still(tmp_path: Path) -> None:
    pattern = SequencePattern.parse(str(tmp_path / "s.png"))
    with pytest.raises(InputError, match="does not exist"):
        resolve_frames(pattern, None)
    touch(tmp_path, "s.png")
    assert resolve_frames(pattern, None) == [STILL_FRAME]
    with pytest.raises(InputError, match="single image"):
        resolve_frames(pattern, "1-3")


def test_an_existing_folder_with_hash_or_at_in_its_name_is_a_name(tmp_path) -> None:
    for folder in ("take#2", "show@2"):
        (tmp_path / folder).mkdir()
        pattern = SequencePattern.parse(str(tmp_path / folder / "p.####.exr"))
        assert pattern.padding == 4 and pattern.path(7) == tmp_path / folder / "p.0007.exr"
    still = tmp_path / "plate_v#3.exr"
    still.write_bytes(b"")
    assert SequencePattern.parse(str(still)).is_still  # an existing file is a still, whatever its name


def test_a_typo_sized_range_is_refused_before_it_is_built() -> None:
    with pytest.raises(InputError, match="over 1,000,000 frames"):
        parse_frame_range("1001-100000000")
    assert len(parse_frame_range("1-1000000")) == 1_000_000


def test_negative_frames_are_discovered_as_named_and_read_back(tmp_path: Path) -> None:
    pattern = SequencePattern.parse(str(tmp_path / "shot.####.exr"))
    for frame in (-2, -1, 0, 1):
        touch(tmp_path, pattern.path(frame).name)
    # Names path() would never give (other padding, a minus zero) are not frames of this pattern.
    for stray in ("shot.-001.exr", "shot.-0000.exr", "shot.001.exr", "shot.00001.exr"):
        touch(tmp_path, stray)
    assert pattern.path(-1).name == "shot.-0001.exr"
    assert pattern.discover() == [-2, -1, 0, 1]
    assert resolve_frames(pattern, "-2-0") == [-2, -1, 0]


def test_frame_spec_is_read_back_by_parse_frame_range() -> None:
    frames = [-3, -2, -1, 1, 2, 5, 1001, 1002]
    assert frame_spec(reversed(frames)) == "-3--1,1-2,5,1001-1002"
    assert parse_frame_range(frame_spec(frames)) == frames
