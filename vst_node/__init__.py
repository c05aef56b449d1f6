"""vst-node: temporally stable video style transfer for compositing pipelines."""

__version__ = "0.1.0"
