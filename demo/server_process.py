"""Start ``python -m demo`` as a child process, wait until it answers, stop it: for tests and benchmarks.

    with running_demo(["--dataset", "synthetic-28"], log_path=log) as server:
        httpx.get(server.url + "gradio_api/info")
"""
from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ServerFailed(RuntimeError):
    """The server exited or did not answer in time; the message ends with its log."""


@dataclass
class RunningServer:
    url: str
    process: subprocess.Popen
    log_path: Path
    started: float          # time.perf_counter() when the process was started
    ready_after: float      # seconds until it answered

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_until_ready(self, timeout: float = 180.0) -> None:
        """Return once ``/gradio_api/info`` answers; :class:`ServerFailed` if it exits or stays silent."""
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise ServerFailed(f"the app exited with code {self.process.returncode}:\n{self.log()[-3000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + "gradio_api/info", timeout=2).status_code in (200, 401):
                    self.ready_after = time.perf_counter() - self.started
                    return
            if time.monotonic() > deadline:
                self.stop()
                raise ServerFailed(f"the app did not answer within {timeout:.0f} s:\n{self.log()[-3000:]}")
            time.sleep(0.1)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int:
        """Send ``sig`` (SIGTERM, or SIGINT as Ctrl-C does), wait, kill if it hangs; the exit code."""
        # The whole process group: a wrapper (bwrap) does not pass signals on to the server it runs.
        if self.process.poll() is None:
            os.killpg(self.process.pid, sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)   # what the wrapper left behind
        return self.process.returncode


def start_demo(args=(), *, log_path, env: dict | None = None, port: int | None = None,
               timeout: float = 180.0, wrapper=(), wait: bool = True) -> RunningServer:
    """Start ``python -m demo --port PORT *args`` and wait until ``/gradio_api/info`` answers
    (200, or 401 when the server asks for a login); ``wait=False`` returns at once.

    ``env`` adds variables to this process's environment; a value of None removes one.
    ``wrapper`` is a command that runs it (e.g. ``["bwrap", ...]`` for a read-only folder).
    """
    port = port or free_port()
    environment = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    log_path = Path(log_path)
    started = time.perf_counter()
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [*map(str, wrapper), sys.executable, "-m", "demo", "--port", str(port), *map(str, args)], cwd=ROOT,
            env={name: value for name, value in environment.items() if value is not None},
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    server = RunningServer(f"http://127.0.0.1:{port}/", process, log_path, started, 0.0)
    if wait:
        server.wait_until_ready(timeout)
    return server


@contextlib.contextmanager
def running_demo(args=(), **options):
    """:func:`start_demo` as a context manager: the server is stopped on exit."""
    server = start_demo(args, **options)
    try:
        yield server
    finally:
        server.stop()
