"""A local Dask cluster as real processes (a scheduler and workers on 127.0.0.1), for the farm
benchmark and the farm tests: started and stopped by the caller, every wait bounded."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path


class LocalCluster:
    """A Dask scheduler and workers, each its own process in its own process group."""

    def __init__(self, folder: Path, threads_per_worker: int = 1, death_timeout: float = 10) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.scheduler_file = self.folder / "scheduler.json"
        self.threads = threads_per_worker  # torch's threads in each task (OMP_NUM_THREADS)
        self.death_timeout = death_timeout
        self.scheduler: subprocess.Popen | None = None
        self.workers: list[subprocess.Popen] = []

    def _start(self, *args: str, log: str) -> subprocess.Popen:
        handle = open(self.folder / log, "ab")  # noqa: SIM115 - the process owns it
        env = {**os.environ, "OMP_NUM_THREADS": str(self.threads)}
        return subprocess.Popen(
            [sys.executable, "-m", *args],
            stdout=handle,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )

    @property
    def address(self) -> str:
        return json.loads(self.scheduler_file.read_text())["address"]

    def start_scheduler(self, timeout: float = 60) -> str:
        self.scheduler_file.unlink(missing_ok=True)
        self.scheduler = self._start(
            "distributed.cli.dask_scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--no-dashboard",
            "--scheduler-file",
            str(self.scheduler_file),
            log="scheduler.log",
        )
        deadline = time.monotonic() + timeout
        while not self.scheduler_file.exists():
            if self.scheduler.poll() is not None:
                raise RuntimeError((self.folder / "scheduler.log").read_text())
            if time.monotonic() > deadline:
                raise TimeoutError("the Dask scheduler did not start")
            time.sleep(0.1)
        time.sleep(0.2)
        return self.address

    def start_workers(self, count: int, timeout: float = 60) -> None:
        from distributed import Client

        for index in range(len(self.workers), len(self.workers) + count):
            self.workers.append(
                self._start(
                    "distributed.cli.dask_worker",
                    "--scheduler-file",
                    str(self.scheduler_file),
                    "--nthreads",
                    "1",
                    "--no-nanny",
                    "--no-dashboard",
                    "--host",
                    "127.0.0.1",
                    "--name",
                    f"w{index}",
                    "--death-timeout",
                    str(self.death_timeout),
                    log=f"worker{index}.log",
                )
            )
        with Client(self.address, timeout=timeout) as client:
            client.wait_for_workers(count, timeout=timeout)  # at least these (older ones may be gone)

    def stop(self, timeout: float = 15) -> None:
        """SIGTERM every process group, SIGKILL what is left after `timeout`."""
        processes = [*self.workers, *([self.scheduler] if self.scheduler else [])]
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for process in processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        self.workers = []
        self.scheduler = None
