"""benchkit: the code vst-node's benchmark scripts share (tools/bench_*.py, method_compare.py, ...).

The scripts in tools/ are thin entry points (`python tools/bench_x.py ...`, which puts tools/ on
sys.path, so `import benchkit` works); the tests import the same modules (pytest's `pythonpath`).

    machine    where a benchmark ran (describe, device_name), synchronised timing, the JSON writer
    options    the command-line options several scripts share (--data, --device, --json, --set ...)
    sintel     MPI Sintel frames, ground-truth flow and masks from the shared data folder
    trace      when a run's loss trace first reached a level
    host_reads counting the calls that make the CPU wait for the GPU (item, float, bool, alpha=)
    flow       the flow section: every backend on every ground-truth pair
    scaling    the scaling section: seconds and peak memory against resolution and shot length
    table1     the Sintel section: Ruder et al. Table 1, the pastiche peer, convergence
    report     report.md and the charts from a suite.json, one module per report section
"""
