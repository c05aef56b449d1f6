"""What people and pipelines call: the command line, the render job, progress, the demo."""
