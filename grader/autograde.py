"""Autograde every submission with a pool of worker processes.

Design (see grader/README.md): N worker processes (default: one per CPU
core; more only causes false cell timeouts in the TensorFlow cell) each run
nbgrader in-process for one student at a time, so nbgrader's ~3.5 s start-up
is paid once per worker. All of them write to the one SQLite gradebook:
nbgrader's writes are short transactions and SQLite serialises them (no
"database is locked" in 10-way tests; see the README). Each submission has a
wall-time limit; a worker that overruns it is killed with its kernel (the
sandbox dies with it) and replaced, the student is marked for review, and the
batch goes on.
"""
from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

from .course import check_course, state_dir, tool_env
from .paths import REPO, load_spec


def submissions(course: Path, student_glob: str = "*") -> list[tuple[str, str]]:
    """(assignment, student) pairs found under submitted/."""
    import fnmatch
    spec = load_spec()
    pairs = []
    for student_dir in sorted((course / "submitted").glob("*")):
        if not fnmatch.fnmatch(student_dir.name, student_glob):
            continue
        for asg in spec.ASSIGNMENTS.values():
            if (student_dir / asg / f"{spec.NOTEBOOK}.ipynb").exists():
                pairs.append((asg, student_dir.name))
    return pairs


class Worker:
    def __init__(self, course: Path, env: dict):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "grader.worker", str(course)], cwd=REPO, env=env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            text=True, bufsize=1, start_new_session=True)
        self.job = None
        self.started = 0.0

    def send(self, job: dict) -> None:
        self.job, self.started = job, time.monotonic()
        self.process.stdin.write(json.dumps(job) + "\n")
        self.process.stdin.flush()

    def kill(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()

    def close(self) -> None:
        try:
            self.process.stdin.close()
            self.process.wait(timeout=30)
        except (subprocess.TimeoutExpired, BrokenPipeError, OSError):
            self.kill()


def autograde(course: Path, *, workers: int | None = None, notebook_timeout: float = 300,
              student: str = "*", crosscheck: bool = True, progress=print,
              cell_timeout: int | None = None) -> list[dict]:
    """Grade all submissions; returns one result per (assignment, student), also saved in .grader/."""
    course = check_course(course)
    if not (state_dir(course) / "crosscheck" / "references.npz").exists():
        from . import crosscheck as cc
        cc.prepare(state_dir(course) / "crosscheck")
    jobs = [{"assignment": a, "student": s, "crosscheck": crosscheck} for a, s in submissions(course, student)]
    if not jobs:
        progress("no submissions found: run `python -m grader collect SRC` first / 提出物がありません")
        return []
    cores = os.cpu_count() or 1
    workers = max(1, min(workers or cores, len(jobs)))
    threads = str(max(1, cores // workers))
    env = dict(tool_env(), OMP_NUM_THREADS=threads, TF_NUM_INTRAOP_THREADS=threads,
               TF_NUM_INTEROP_THREADS="1")
    if cell_timeout:
        env["GRADER_CELL_TIMEOUT"] = str(cell_timeout)
    progress(f"autograding {len(jobs)} submission(s) with {workers} worker(s) / "
             f"{len(jobs)} 件を {workers} 並列で採点します")
    pending, results, pool = list(jobs), [], []
    started = time.monotonic()

    def start_worker():
        worker = Worker(course, env)
        pool.append(worker)
        return worker

    for _ in range(workers):
        start_worker()
    for worker in pool:
        if pending:
            worker.send(pending.pop(0))
    while any(w.job for w in pool):
        busy = [w for w in pool if w.job]
        ready, _, _ = select.select([w.process.stdout for w in busy], [], [], 1.0)
        now = time.monotonic()
        for worker in busy:
            result = None
            if worker.process.stdout in ready:
                line = worker.process.stdout.readline()
                if line and not line.startswith("@@grader-result "):
                    continue                       # stray output: not a result
                if line:
                    result = json.loads(line[len("@@grader-result "):])
                else:       # the worker died (should not happen: kernels die, not workers)
                    result = {**worker.job, "status": "worker-died", "nbgrader_ok": False,
                              "nbgrader_cells": None}
                    worker.kill()
            elif now - worker.started > notebook_timeout:
                worker.kill()
                result = {**worker.job, "status": "timeout", "nbgrader_ok": False, "nbgrader_cells": None,
                          "nbgrader_log": f"notebook wall-time limit of {notebook_timeout:.0f} s exceeded"}
            if result is None:
                continue
            result.setdefault("status", "graded")
            results.append(result)
            cc = result.get("crosscheck") or {}
            progress(f"[{len(results)}/{len(jobs)}] {result['student']} ({result['assignment']}): "
                     f"nbgrader {_points(result.get('nbgrader_cells'))}, cross-check "
                     f"{cc.get('score', '-')}/{cc.get('max_score', '-')}, "
                     f"{result.get('seconds', now - worker.started):.1f} s"
                     + ("" if result["status"] == "graded" else f"  [{result['status']}]"))
            if worker.process.poll() is not None:   # replace a killed or dead worker
                pool.remove(worker)
                worker = start_worker()
            worker.job = None
            if pending:
                worker.send(pending.pop(0))
    for worker in pool:
        worker.close()
    if crosscheck:
        # a submission the notebook timeout cut off still gets its authoritative cross-check
        from . import crosscheck as cc
        spec = load_spec()
        for result in results:
            if "crosscheck" not in result:
                path = course / "submitted" / result["student"] / result["assignment"] / f"{spec.NOTEBOOK}.ipynb"
                result["crosscheck"] = cc.check_notebook(json.loads(path.read_text(encoding="utf-8")),
                                                         state_dir(course) / "crosscheck")
    save_results(course, results)
    progress(f"done in {time.monotonic() - started:.0f} s / 完了")
    return results


def _points(cells) -> str:
    if cells is None:
        return "not graded"
    return f"{sum(v or 0 for v in cells.values()):g}"


def results_path(course: Path) -> Path:
    return state_dir(course) / "results.json"


def save_results(course: Path, results: list[dict]) -> None:
    path = results_path(course)
    previous = {}
    if path.exists():
        previous = {(r["assignment"], r["student"]): r for r in json.loads(path.read_text())}
    for result in results:
        previous[(result["assignment"], result["student"])] = result
    path.write_text(json.dumps(sorted(previous.values(), key=lambda r: (r["student"], r["assignment"])),
                               indent=1, default=str))


def load_results(course: Path) -> list[dict]:
    path = results_path(course)
    return json.loads(path.read_text()) if path.exists() else []
