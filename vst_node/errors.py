"""Exceptions that carry a message a user can act on (file, frame, key, what was expected)."""

from __future__ import annotations


class VstError(Exception):
    """Base class: anything the CLI reports as a clean one-line error instead of a traceback."""


class InputError(VstError):
    """Bad input media: missing frames, unreadable or deep EXR, wrong channels, mismatched sizes."""


class PresetError(VstError):
    """A preset file or an override is invalid; the message lists every problem found."""


class RenderError(VstError):
    """A frame failed while rendering."""
