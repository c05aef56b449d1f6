"""The model file `vst-node train` writes and `method: feedforward` reads.

One torch file holding plain data only (loaded with `torch.load(weights_only=True)`: no pickled
code runs): the architecture, the weights in half precision (a width-16 network is under 1 MB),
the digest of the preset sections the network was trained for, the training data and settings.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from vst_node import __version__
from vst_node.engine.transformer import Architecture, TransformerNet
from vst_node.errors import PresetError, VstError
from vst_node.settings import Preset, preset_digest

FORMAT = "vst-node-network"
VERSION = 1
# What a network bakes in: the style image and scale, the layers and distance of the style loss.
LOOK_SECTIONS = ("style", "layers", "style_loss")


def look_digest(preset: Preset) -> str:
    """Changes when the preset asks for another look than the one a network was trained for."""
    return preset_digest(preset, LOOK_SECTIONS)


@dataclass
class NetworkFile:
    """A trained network and what it was trained on."""

    architecture: Architecture
    state: dict[str, torch.Tensor]
    look: str  # look_digest of the preset it was trained for
    preset_name: str
    training: dict[str, Any] = field(default_factory=dict)  # settings, data summary, steps, device
    digest: str = ""  # of the weights: recorded in rendered frames' metadata

    def network(self, device: torch.device) -> TransformerNet:
        net = TransformerNet(self.architecture)
        try:
            net.load_state_dict({k: v.float() for k, v in self.state.items()})
        except RuntimeError as exc:
            raise VstError(
                f"model weights do not fit the recorded architecture {self.architecture}: {exc}"
            ) from exc
        return net.to(device).requires_grad_(False).for_rendering()


def weights_digest(state: dict[str, torch.Tensor]) -> str:
    digest = hashlib.sha256()
    for name in sorted(state):
        digest.update(name.encode())
        digest.update(state[name].detach().to("cpu", torch.float16).contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


def save_network(
    path: Path, net: TransformerNet, preset: Preset, training: dict[str, Any], look: str | None = None
) -> NetworkFile:
    """Write atomically (a temporary file renamed into place): a reader never sees half a model.
    `look`: the look_digest taken when training read the style image (default: now)."""
    state = {k: v.detach().to("cpu", torch.float16) for k, v in net.state_dict().items()}
    record = NetworkFile(
        net.architecture, state, look or look_digest(preset), preset.name, training, weights_digest(state)
    )
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "vst_node": __version__,
        "architecture": record.architecture.to_dict(),
        "state": state,
        "look": record.look,
        "preset_name": record.preset_name,
        "training": training,
        "digest": record.digest,
    }
    atomic_save(payload, Path(path))
    return record


def atomic_save(payload: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.chmod(temporary, 0o666 & ~umask)  # mkstemp makes it private; a model file is for sharing
        torch.save(payload, temporary)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def load_network_file(path: Path) -> NetworkFile:
    """Read a model file; anything else (a checkpoint, another program's file) is a clear error."""
    path = Path(path)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError as exc:
        raise PresetError(f"network.model {path}: no such file (train one with `vst-node train`)") from exc
    except Exception as exc:  # unpickling errors have many types; all mean "not our file"
        raise PresetError(f"network.model {path}: not a vst-node model file ({exc})") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise PresetError(f"network.model {path}: not a vst-node model file (no {FORMAT!r} format tag)")
    if payload.get("version") != VERSION:
        raise PresetError(
            f"network.model {path}: model file version {payload.get('version')};"
            f" this vst-node reads version {VERSION}"
        )
    try:
        architecture = Architecture(**payload["architecture"])
        return NetworkFile(
            architecture, payload["state"], payload["look"], payload["preset_name"],
            payload.get("training", {}), payload.get("digest", ""),
        )  # fmt: skip
    except (KeyError, TypeError) as exc:
        raise PresetError(f"network.model {path}: incomplete model file ({exc})") from exc


# The training settings that shape what a network paints (its loss weights and the style's size and
# depth): a preset that changes them asks for another network, like one with another style image.
LOOK_TRAINING_KEYS = ("content", "style", "tv", "max_layer", "style_side")


def check_look(record: NetworkFile, preset: Preset, path: Path) -> None:
    """A network renders only the look it learned: a preset asking for another one is an error."""
    retrain = f"retrain it with `vst-node train --preset {preset.source or preset.name} -o {path}`"
    if record.look != look_digest(preset):
        raise PresetError(
            f"network.model {path} was trained for preset {record.preset_name!r}, whose style image, "
            f"style.scale, layers or style_loss differ from preset {preset.name!r}; {retrain}"
        )
    trained = record.training.get("settings", {})
    changed = [
        f"training.{key} {getattr(preset.training, key)!r} (trained with {trained[key]!r})"
        for key in LOOK_TRAINING_KEYS
        if key in trained and getattr(preset.training, key) != trained[key]
    ]
    if changed:
        settings = "; ".join(changed)
        raise PresetError(f"network.model {path} was trained with other loss settings: {settings}; {retrain}")
