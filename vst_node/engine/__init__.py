"""The engine: VGG features, the optimiser, one frame's problem, flow and its cache, the stateful node."""
