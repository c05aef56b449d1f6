"""`python -m vst_node ...` is the `vst-node` command (for hosts that run an interpreter, not a script)."""

from vst_node.faces.cli import main

raise SystemExit(main())
