"""Which mechanism stops a submission that breaks each limit, how fast, and by how much it overshoots.

Each case runs a small program built to break one limit, the way the grader runs
student code (bubblewrap sandbox, rlimits, the grading worker's watchdog; the
output budget on a real kernel), with small limits, and reports what stopped it:

    .venv/bin/python bench/limit_enforcement.py [--json out.json]

Sampling: a 10 ms sampler outside the sandbox records the peak of what the
watchdog measures (anonymous memory, tasks), so "peak" is what the machine saw.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from grader import limits as lim  # noqa: E402
from grader import sandbox  # noqa: E402
from grader.limits import Limits, Watchdog  # noqa: E402

MiB = 2**20

CASES = {
    "memory, one process": ("memory", Limits(memory=512 * MiB), '''
hoard = []
try:
    while True:
        block = bytearray(16 * 2**20)
        block[::4096] = b"x" * len(block[::4096])
        hoard.append(block)
except MemoryError:
    print("MemoryError at", len(hoard) * 16, "MiB")
'''),
    "memory, four processes": ("memory", Limits(memory=512 * MiB), '''
import os, time
for _ in range(4):
    if os.fork() == 0:
        block = bytearray(200 * 2**20)
        block[::4096] = b"x" * len(block[::4096])
        time.sleep(30)
        os._exit(0)
time.sleep(30)
'''),
    "processes": ("processes", Limits(processes=64), '''
import os, time
made = 0
try:
    for _ in range(500):
        if os.fork() == 0:
            time.sleep(30)
            os._exit(0)
        made += 1
except OSError as error:
    print("fork failed after", made, "processes:", error)
time.sleep(30)
'''),
    "disk, working folder (tmpfs)": ("disk", Limits(disk=64 * MiB), '''
written = 0
try:
    with open("big.bin", "wb") as handle:
        for _ in range(1024):
            handle.write(b"x" * 2**20)
            written += 1
except OSError as error:
    print("stopped at", written, "MiB:", error)
'''),
    "disk, a writable host folder": ("disk", Limits(disk=64 * MiB), '''
import sys
written = 0
try:
    with open(sys.argv[1] + "/big.bin", "wb") as handle:
        for _ in range(1024):
            handle.write(b"x" * 2**20)
            written += 1
except OSError as error:
    print("stopped at", written, "MiB:", error)
'''),
}


def sample_peak(root: int, folder: Path, stop: threading.Event, peak: dict) -> None:
    """The largest memory, task count and host-folder size seen below ``root``, every 10 ms."""
    while not stop.is_set():
        used = lim.usage(root)
        memory = lim.proportional_memory(root) if used["memory"] else 0
        for key, value in (("memory", memory), ("processes", used["tasks"]), ("disk", lim.folder_size(folder))):
            peak[key] = max(peak.get(key, 0), value)
        time.sleep(0.01)


def run_case(name: str, limit: str, limits: Limits, code: str) -> dict:
    with tempfile.TemporaryDirectory() as host:
        work, shared = Path(host) / "work", Path(host) / "shared"
        work.mkdir()
        shared.mkdir()
        argv = sandbox.sandboxed([sys.executable, "-c", code, str(shared)], cwd=str(work), writable=[str(shared)],
                                 library=False, limits=limits, private_cwd=True)
        # a thin parent stands in for the grading worker: the watchdog watches below it
        parent = subprocess.Popen([sys.executable, "-c", "import subprocess, sys; "
                                   "done = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
                                   "print(done.stdout.strip()[-300:])", *argv], stdout=subprocess.PIPE, text=True)
        watchdog = Watchdog(parent.pid, limits, folders=[shared])
        stop, peak = threading.Event(), {}
        sampler = threading.Thread(target=sample_peak, args=(parent.pid, shared, stop, peak), daemon=True)
        started = time.monotonic()
        watchdog.start()
        sampler.start()
        said = parent.communicate(timeout=120)[0].strip()
        seconds = time.monotonic() - started
        stop.set()
        watchdog.close()
        stopped_by = "the watchdog" if watchdog.take_events() else "an error inside the sandbox"
    return {"case": name, "limit": lim.reason(limit, limits)["reason"].removesuffix(" exceeded"),
            "stopped_by": stopped_by, "seconds": round(seconds, 2), "said": said,
            "peak": peak.get(limit), "peak_over_limit": round(peak.get(limit, 0) / getattr(limits, limit), 2)}


def output_case() -> dict:
    import nbformat

    from grader.execute import LimitedExecute
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "for i in range(10**6):\n    print('x' * 1000)")])
    started = time.monotonic()
    executed, _ = LimitedExecute(output_limit=MiB, timeout=120, kernel_name="python3").preprocess(
        notebook, {"metadata": {"path": "."}})
    kept = sum(len(o.get("text", "")) for o in executed.cells[0].outputs if o.output_type == "stream")
    return {"case": "output, 1 GB printed", "limit": "output limit 1 MiB",
            "stopped_by": "the kernel client (output dropped)",
            "seconds": round(time.monotonic() - started, 2),
            "said": ", ".join(o.ename for o in executed.cells[0].outputs if o.output_type == "error"),
            "peak": kept, "peak_over_limit": round(kept / MiB, 2)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    if not sandbox.available():
        sys.exit("needs bubblewrap: " + sandbox.INSTALL_HINT)
    print(f"running as {'root' if os.geteuid() == 0 else 'a normal user'}; "
          f"bubblewrap --size {'works' if sandbox._sizes_work(sandbox.bwrap_path()) else 'is missing'}")
    rows = [run_case(name, *case) for name, case in CASES.items()] + [output_case()]
    for row in rows:
        peak = row["peak"] if row["limit"].startswith("process") else lim.format_size(row["peak"] or 0)
        seen = f", peak seen outside {peak} ({row['peak_over_limit']}x the limit)" if row["peak"] else ""
        print(f"{row['case']:30s} {row['limit']:22s} stopped by {row['stopped_by']} after {row['seconds']} s"
              f"{seen}" + (f"; it said: {row['said']}" if row["said"] else ""))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
