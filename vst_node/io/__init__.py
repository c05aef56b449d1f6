"""Image and sequence input/output: OpenImageIO frames, OCIO colour, sequence patterns, .flo files."""
