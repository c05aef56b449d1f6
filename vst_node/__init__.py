"""vst-node: temporally stable video style transfer for compositing pipelines.

Rooms, lowest first (a module imports only its own room and those below; tests/test_layout.py):
ops (tensor operations) -> io (images, colour, sequences) -> settings (presets, choice lists) ->
engine (VGG, optimiser, flow, the trained network, the stateful node) -> training (`vst-node train`:
content photographs, crops, losses, the loop) -> faces (CLI, render job, demo). Adapters above
them: ofx (the OpenFX-shaped face) and api, the names host plug-ins may rely on.
"""

__version__ = "0.1.0"
