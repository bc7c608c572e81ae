"""Per-submission resource limits, and what enforces each one.

A student's notebook (its kernel) and its cross-check run under the same
limits, so that one submission cannot take the machine down for the others:

============  =========  ===================================================================
limit         default    enforced by
============  =========  ===================================================================
memory        4 GiB      ``RLIMIT_DATA`` on every sandboxed process (an allocation past it
                         raises ``MemoryError`` / TensorFlow's ``ResourceExhaustedError`` in
                         the cell), and the :class:`Watchdog` on the sum over the sandbox's
                         processes (``Pss_Anon``; it stops the sandbox)
processes     512        ``RLIMIT_NPROC`` inside the sandbox's user namespace (``fork`` fails
                         with ``EAGAIN``; Linux does not apply it to root), and the
                         :class:`Watchdog`'s count of tasks (threads included)
output        8 MiB      the kernel client (``grader.execute``): output past it is dropped,
                         the cell gets an ``OutputLimitExceeded`` error; the cross-check
                         counts its child's output the same way and stops it past the limit
disk          512 MiB    size-limited tmpfs mounts (bubblewrap ``--size``) for the working
                         folder and ``/tmp`` (``ENOSPC``); ``RLIMIT_FSIZE`` per file; the
                         :class:`Watchdog` on the writable host folders (kernel sockets,
                         cross-check output)
wall time     300 s      the autograde pool (kills the worker, its kernel and sandbox);
                         the cross-check has its own (120 s), after which its child is killed
cell time     30 s       nbclient's timeout per cell from ``nbgrader_config.py``: the kernel
                         is interrupted, the cell gets a ``CellTimeoutError``
============  =========  ===================================================================

What breaking a limit costs (:func:`charge`) depends only on which limit broke, never on where or when
the kill landed:

- the memory, process, output or disk limit, anywhere (the kernel or the cross-check, any cell, before or
  after the answer's maps were saved): every test scores 0;
- a time limit costs the work it stopped: a cell past the cell time limit scores 0 in nbgrader's score, a
  notebook past its wall time is not graded by nbgrader, a cross-check past its wall time scores 0 on every
  test whose maps it had not saved; the cross-check's score is the grade.

Each broken limit is listed for review with its value and where, e.g. "memory limit 4 GiB exceeded in the
cross-check" (:func:`reason`).
"""
from __future__ import annotations

import dataclasses
import json
import os
import re
import signal
import sys
import threading
import time

ENV = "GRADER_LIMITS"                  # how the worker hands the limits to the kernel launcher
SHM_SIZE = 64 * 2**20                  # /dev/shm in the sandbox (multiprocessing's semaphores)
NEAR = 0.9                             # a process that died this close to its memory rlimit died of it

_UNITS = {"": 1, "B": 1, "K": 2**10, "KB": 2**10, "KIB": 2**10, "M": 2**20, "MB": 2**20, "MIB": 2**20,
          "G": 2**30, "GB": 2**30, "GIB": 2**30, "T": 2**40, "TB": 2**40, "TIB": 2**40}


def parse_size(text) -> int:
    """Bytes from ``4G``, ``512MiB``, ``8M`` or a plain number (binary units: 1 G = 2**30 bytes)."""
    # Not exercise_logic.data.memory.parse_bytes: importing the library imports TensorFlow, and this
    # module is loaded by the sandbox's kernel launcher on every submission.
    match = re.fullmatch(r"\s*([\d.]+)\s*([A-Za-z]*)\s*", str(text))
    if not match or match.group(2).upper() not in _UNITS:
        raise ValueError(f"not a size: {text!r} (examples: 4G, 512M, 8MiB)")
    return int(float(match.group(1)) * _UNITS[match.group(2).upper()])


def format_size(size: int) -> str:
    """``4 GiB``, ``512 MiB``, ``1.5 GiB``: the unit the instructor would write."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if size >= scale:
            return f"{size / scale:.4g} {unit}"
    return f"{size} B"


@dataclasses.dataclass(frozen=True)
class Limits:
    """What one submission may use. Sizes in bytes, wall time in seconds."""

    memory: int = 4 * 2**30
    processes: int = 512
    output: int = 8 * 2**20
    disk: int = 512 * 2**20
    wall_time: float = 300.0
    crosscheck_time: float = 120.0

    def __post_init__(self):
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if not isinstance(value, (int, float)) or value <= 0:
                raise ValueError(f"limit {field.name} must be a positive number, got {value!r}")

    def to_env(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_env(cls, environ=os.environ) -> "Limits":
        text = environ.get(ENV)
        return cls(**json.loads(text)) if text else cls()

    def describe(self, name: str, where: str = "kernel") -> str:
        """The value of one limit as the instructor would write it (the wall time of ``where``)."""
        if name == "wall-time":
            return f"{self.crosscheck_time if where == 'crosscheck' else self.wall_time:g} s"
        value = getattr(self, name)
        return format_size(value) if name in ("memory", "output", "disk") else f"{value:g}"


LIMIT_NAMES = {"memory": "memory", "processes": "process", "output": "output", "disk": "disk",
               "wall-time": "wall-time", "cell-time": "cell time"}
RESOURCES = ("memory", "processes", "output", "disk")   # breaking one anywhere costs every point (charge)


def reason(name: str, limits: Limits, where: str = "kernel", cells=(), value: str | None = None) -> dict:
    """The record of one broken limit: ``{"limit", "where", "reason", "cells"}``.

    ``cells``: the cells where it broke (grade ids), when known. ``value``: the
    limit's value in words, for a limit that ``limits`` does not hold (the cell time).
    """
    value = limits.describe(name, where) if value is None else value
    text = " ".join(part for part in (f"{LIMIT_NAMES[name]} limit", value, "exceeded") if part)
    if where == "crosscheck":
        text += " in the cross-check"
    if cells:
        text += f" ({', '.join(cells)})"
    return {"limit": name, "where": where, "reason": text, "cells": list(cells)}


# -- in the sandbox: rlimits --------------------------------------------------
# Run by the sandbox's own Python (-I -S: no site, no user code) right before the
# student's process: sets hard limits that nothing inside can raise again.
_SET_RLIMITS = (
    "import os, resource, sys\n"
    "for item in sys.argv[1].split(','):\n"
    "    name, value = item.split('=')\n"
    "    resource.setrlimit(getattr(resource, 'RLIMIT_' + name), (int(value), int(value)))\n"
    "os.execv(sys.argv[2], sys.argv[2:])\n")


def rlimits(limits: Limits) -> dict[str, int]:
    return {"DATA": limits.memory, "NPROC": limits.processes, "FSIZE": limits.disk, "CORE": 0}


def under_rlimits(command: list[str], limits: Limits) -> list[str]:
    """``command`` prefixed so that it runs with the hard rlimits of ``limits``."""
    spec = ",".join(f"{name}={value}" for name, value in rlimits(limits).items())
    return [sys.executable, "-I", "-S", "-c", _SET_RLIMITS, spec, *command]


# -- limits that show up as an error in a cell or a cross-check case ----------
_ERRORS = (
    ("memory", re.compile(r"(MemoryError|ResourceExhaustedError)\b|std::bad_alloc|OOM when allocating")),
    ("processes", re.compile(r"\[Errno 11\] Resource temporarily unavailable|can't start new thread")),
    ("disk", re.compile(r"\[Errno (28|27)\] (No space left on device|File too large)")),
    ("output", re.compile(r"\bOutputLimitExceeded\b")),
)


def limit_in_error(text: str) -> str | None:
    """Which limit an error message (``"Name: message"``) reports, if any."""
    for name, pattern in _ERRORS:
        if pattern.search(text or ""):
            return name
    return None


CELL_TIMEOUT_ERROR = "CellTimeoutError"          # nbgrader's error on a cell that ran past its time
_CELL_TIME = re.compile(r"cell time limit ([\d.]+ s)")


def cell_time_message(seconds: float) -> str:
    """The error of a cell stopped at its time limit (``grader.execute``), in both languages."""
    return f"cell time limit {seconds:g} s exceeded / セルの制限時間 {seconds:g} 秒を超えました"


def _errors(cells):
    """(grade id or None, "Name: message") of every error output of executed notebook cells."""
    for cell in cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                yield grade_id, f"{output.get('ename', '')}: {output.get('evalue', '')}"


def _add(found: dict, key: str, grade_id: str | None) -> None:
    where = found.setdefault(key, [])
    if grade_id and grade_id not in where:
        where.append(grade_id)


def limits_in_cells(cells) -> dict[str, list[str]]:
    """Resource limit -> the graded cells (grade ids) whose errors report it, for executed notebook cells."""
    found: dict[str, list[str]] = {}
    for grade_id, error in _errors(cells):
        name = limit_in_error(error)
        if name:
            _add(found, name, grade_id)
    return found


def cell_time_limits(cells) -> dict[str, list[str]]:
    """The cell time limit that ran out ("30 s"; "" if unstated) -> the cells (grade ids) it stopped."""
    found: dict[str, list[str]] = {}
    for grade_id, error in _errors(cells):
        if error.startswith(CELL_TIMEOUT_ERROR + ":"):
            value = _CELL_TIME.search(error)
            _add(found, value.group(1) if value else "", grade_id)
    return found


def notebook_limits(cells, limits: Limits, enforced=()) -> list[dict]:
    """The records of the limits a notebook's kernel broke (see :func:`reason`).

    ``cells``: the executed notebook's cells (none when nbgrader left no
    notebook); ``enforced``: the limits the watchdog stopped the kernel for.
    """
    resources = limits_in_cells(cells)
    return ([reason(name, limits, "kernel", resources.get(name, ())) for name in dict.fromkeys([*enforced, *resources])]
            + [reason("cell-time", limits, "kernel", grade_ids, value)
               for value, grade_ids in cell_time_limits(cells).items()])


def charge(result: dict) -> None:
    """Apply what the broken limits cost to the authoritative cross-check score (module docstring).

    ``result`` is a grading result (``grader.results``). A broken resource limit
    scores every test cell 0, with the limit's reason as the message of each cell it cost.
    """
    check = result.get("crosscheck")
    if not check:
        return
    costly = next((limit for limit in result.get("limits", []) if limit["limit"] in RESOURCES), None)
    for grade_id, points in check["cells"].items() if costly else ():
        if points:                        # a cell that failed on its own keeps its own message
            check["cells"][grade_id] = 0
            check.setdefault("messages", {})[grade_id] = costly["reason"]
    check["score"] = sum(check["cells"].values())


# -- the watchdog ---------------------------------------------------------------
def descendants(root: int) -> list[int]:
    """Every process below ``root`` (not ``root`` itself), parents before children."""
    found, queue = [], [root]
    while queue:
        pid = queue.pop(0)
        children = set()
        try:
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children") as handle:
                    children.update(int(child) for child in handle.read().split())
        except OSError:
            continue
        for child in sorted(children):
            found.append(child)
            queue.append(child)
    return found


def _status(pid: int) -> dict[str, int]:
    """``RssAnon`` and ``VmData`` in bytes and ``Threads`` of one process (zeros once it is gone).

    These are counters the kernel keeps: cheap to read however large the process.
    """
    try:
        with open(f"/proc/{pid}/status") as handle:
            fields = dict(line.split(":", 1) for line in handle if ":" in line)
        return {"anon": int(fields["RssAnon"].split()[0]) * 1024, "data": int(fields["VmData"].split()[0]) * 1024,
                "threads": int(fields["Threads"])}
    except (OSError, KeyError, ValueError):
        return {"anon": 0, "data": 0, "threads": 0}


def _proportional_anon(pid: int) -> int:
    """Anonymous memory of one process, pages shared with forked relatives divided among them."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            rollup = dict(line.split(":", 1) for line in handle if ":" in line)
        return int(rollup["Pss_Anon"].split()[0]) * 1024
    except (OSError, KeyError, ValueError):
        return _status(pid)["anon"]


def usage(root: int) -> dict[str, int]:
    """What every process below ``root`` uses together.

    ``memory``: anonymous memory in bytes, ``largest_data``: the largest data
    segment of one process (what ``RLIMIT_DATA`` caps), ``tasks``: processes and
    threads. ``memory`` counts a page that forked processes share once for each
    (an upper bound, from counters); :func:`proportional_memory` divides it.
    """
    total = {"memory": 0, "largest_data": 0, "tasks": 0}
    for pid in descendants(root):
        status = _status(pid)
        total["memory"] += status["anon"]
        total["largest_data"] = max(total["largest_data"], status["data"])
        total["tasks"] += status["threads"]
    return total


def proportional_memory(root: int) -> int:
    """Anonymous memory of every process below ``root``, shared pages counted once (``Pss_Anon``).

    Exact but slower than :func:`usage` (it walks the page tables), so the
    watchdog asks only when the upper bound is over the limit.
    """
    return sum(_proportional_anon(pid) for pid in descendants(root))


def folder_size(folder) -> int:
    """Bytes of the regular files under ``folder`` (sockets and the like do not count)."""
    total = 0
    stack = [str(folder)]
    while stack:
        try:
            with os.scandir(stack.pop()) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
                    elif entry.is_file(follow_symlinks=False):
                        total += entry.stat(follow_symlinks=False).st_blocks * 512
        except OSError:
            continue
    return total


class Watchdog(threading.Thread):
    """Stops every process below ``root`` when, together, they break a limit.

    Polls every ``interval`` seconds: the anonymous memory (proportional share,
    so forked copies are not counted twice) and the number of tasks of all
    descendants of ``root``, and the size of ``folders`` (writable host folders).
    A poll reads the kernel's counters; the page-table walk behind the
    proportional share runs only when the counters say the limit may be broken.
    On a breach it SIGKILLs the descendants (the sandbox's PID namespace dies
    with its first process) and records the limit in :attr:`events`.
    ``root`` itself (the grading worker) is never touched.
    """

    def __init__(self, root: int, limits: Limits, folders=(), interval: float = 0.25):
        super().__init__(daemon=True, name="grader-watchdog")
        self.root, self.limits, self.interval = root, limits, interval
        self.folders = [str(folder) for folder in folders]
        self.events: list[str] = []
        self.largest_data = 0            # of one process since the last take_events()
        self._lock = threading.Lock()
        self._stopping = threading.Event()

    def check(self) -> str | None:
        """The limit the processes below ``root`` break right now, if any (one poll)."""
        used = usage(self.root)
        self.largest_data = max(self.largest_data, used["largest_data"])
        if used["memory"] > self.limits.memory and proportional_memory(self.root) > self.limits.memory:
            return "memory"
        if used["tasks"] > self.limits.processes:
            return "processes"
        if any(folder_size(folder) > self.limits.disk for folder in self.folders):
            return "disk"
        return None

    def stop_descendants(self) -> None:
        for pid in descendants(self.root):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def run(self) -> None:
        while not self._stopping.wait(self.interval):
            broken = self.check()
            if broken:
                with self._lock:
                    self.events.append(broken)
                self.stop_descendants()
                time.sleep(self.interval)         # let the kills land before the next count

    def take_events(self, died: bool = False) -> list[str]:
        """The limits enforced since the last call (the worker asks after each part of a job).

        ``died``: the watched process died on its own. When one of its processes
        had reached its memory rlimit, that is why (an allocation failed where no
        Python code could catch it, as in TensorFlow's C++ code or with the
        memory already held by the traceback of an earlier ``MemoryError``).
        """
        with self._lock:
            events, self.events = self.events, []
            largest, self.largest_data = self.largest_data, 0
        if died and not events and largest >= NEAR * self.limits.memory:
            events.append("memory")
        return events

    def close(self) -> None:
        self._stopping.set()
