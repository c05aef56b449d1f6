"""Farm tasks render in a child process that dies with the process that started it.

A farm worker killed with `kill -9` cannot stop its children, and an orphaned render would keep
writing frames that the rerun elsewhere writes too. So the child asks the kernel to kill it when its
parent goes (Linux: PR_SET_PDEATHSIG), and where that is not available a watchdog thread ends it as
soon as it has been re-parented.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

PARENT_ENV = "VST_FARM_PARENT"
_PR_SET_PDEATHSIG = 1


def spawn_task(command: list[str], log: Path) -> subprocess.Popen:
    """Start `command` as a child that dies with this process; its output goes to `log`."""
    log.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, PARENT_ENV: str(os.getpid()), "PYTHONUNBUFFERED": "1"}
    with open(log, "ab") as handle:
        return subprocess.Popen(
            command,
            stdout=handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )


def die_with_parent() -> None:
    """In the child: exit at once when the process named by $VST_FARM_PARENT is gone."""
    expected = os.environ.get(PARENT_ENV)
    if not expected:
        return
    parent = int(expected)
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)

    def watch() -> None:
        while True:
            if os.getppid() != parent:
                os._exit(1)
            time.sleep(0.5)

    threading.Thread(target=watch, name="vst-farm-watchdog", daemon=True).start()
