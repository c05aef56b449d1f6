"""Farm rendering: chunk plans, one task per chunk on any machine, adapters to Dask and OpenCue."""
