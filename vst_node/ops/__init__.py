"""Pure tensor and array operations: warping, losses, reliability weights, resizing, colour, metrics."""
