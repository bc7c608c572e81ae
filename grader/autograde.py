"""Autograde every submission with a pool of worker processes.

Design (see grader/README.md): N worker processes (default: one per CPU
core; more only causes false cell timeouts in the TensorFlow cell) each run
nbgrader in-process for one student at a time, so nbgrader's ~3.5 s start-up
is paid once per worker. All of them write to the one SQLite gradebook:
nbgrader's writes are short transactions and SQLite serialises them (no
"database is locked" in 10-way tests; see the README).

Every outcome is one student's, never the run's: a notebook that overruns the
wall time (its worker is killed with its kernel and sandbox, and replaced), a
dead kernel, a dead worker or a failed cross-check is recorded for that
student, and the batch goes on. Each result is saved (``grader.results``) the
moment it is known, so an interrupted run (Ctrl-C, a kill, a reboot) resumes
where it stopped: only submissions without a complete result are graded
again, unless ``regrade`` is set.
"""
from __future__ import annotations

import contextlib
import fcntl
import fnmatch
import json
import os
import select
import signal
import subprocess
import sys
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

from . import results as store
from .course import CourseError, check_course, state_dir, tool_env
from .limits import Limits, charge, reason
from .paths import REPO, load_spec
from .sandbox import STUDENT_ENV
from .worker import FATAL, MARKER


def submissions(course: Path, student_glob: str = "*") -> list[tuple[str, str]]:
    """(assignment, student) pairs found under submitted/."""
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
            [sys.executable, "-m", "grader.worker", str(course), str(os.getpid())], cwd=REPO, env=env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            text=True, bufsize=1, start_new_session=True)
        self.job = None
        self.started = 0.0
        self.buffer = b""

    def read_lines(self) -> list[str] | None:
        """The complete lines the worker has written since the last call; None once it is gone."""
        data = os.read(self.process.stdout.fileno(), 1 << 16)
        if not data:
            return None
        self.buffer += data
        *lines, self.buffer = self.buffer.split(b"\n")
        return [line.decode("utf-8", "replace") for line in lines]

    def send(self, job: dict) -> None:
        self.job, self.started = job, time.monotonic()
        self.process.stdin.write(json.dumps(job) + "\n")
        self.process.stdin.flush()

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def close(self) -> None:
        try:
            self.process.stdin.close()
            self.process.wait(timeout=30)
        except (subprocess.TimeoutExpired, BrokenPipeError, OSError):
            self.kill()


class Interrupted(Exception):
    """Ctrl-C or SIGTERM during a run (what was graded is saved)."""


@contextlib.contextmanager
def course_lock(course: Path):
    """One autograde at a time per course (two would grade the same students)."""
    path = state_dir(course) / "autograde.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise CourseError(f"another autograde is running on {course} / 別の採点が実行中です") from None
        yield


@contextlib.contextmanager
def sigterm_interrupts():
    def handler(signum, frame):
        raise Interrupted
    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def plan(course: Path, student: str, crosscheck: bool, regrade: bool) -> tuple[list[dict], int]:
    """The jobs still to do, and how many submissions already have a complete result."""
    spec = load_spec()
    jobs, done = [], 0
    for asg, name in submissions(course, student):
        digest = store.sha256(course / "submitted" / name / asg / f"{spec.NOTEBOOK}.ipynb")
        saved = None if regrade else store.load(course, asg, name)
        if store.is_complete(saved, digest, crosscheck):
            done += 1
            continue
        # a result whose nbgrader part stands (a timeout, a dead worker) only lacks its cross-check
        nbgrader_done = saved is not None and saved.get("submission_sha256") == digest
        jobs.append({"assignment": asg, "student": name, "sha256": digest,
                     "run_nbgrader": not nbgrader_done, "run_crosscheck": crosscheck})
    return jobs, done


def failed(job: dict, status: str, log: str, seconds: float, limits: list[dict] = ()) -> dict:
    """The result of a job whose worker did not answer (only the job's identity is kept)."""
    return {"assignment": job["assignment"], "student": job["student"], "status": status,
            "nbgrader_ok": False, "nbgrader_cells": None, "nbgrader_log": log,
            "nbgrader_seconds": round(seconds, 2), "limits": list(limits)}


def autograde(course: Path, *, workers: int | None = None, limits: Limits | None = None,
              student: str = "*", crosscheck: bool = True, regrade: bool = False, progress=print,
              cell_timeout: int | None = None) -> list[dict]:
    """Grade the submissions that have no result yet; return the results of this run.

    Every result is also saved at once under ``COURSE/.grader/results/`` (see
    ``grader.results``). ``regrade``: grade every matching submission again.
    Raises :class:`Interrupted` on Ctrl-C / SIGTERM, after stopping the workers.
    """
    course = check_course(course)
    limits = limits or Limits()
    with course_lock(course), sigterm_interrupts():
        from . import crosscheck as cc
        if not cc.is_prepared(state_dir(course) / "crosscheck"):
            cc.prepare(state_dir(course) / "crosscheck")
        jobs, done = plan(course, student, crosscheck, regrade)
        if not jobs:
            progress("no submissions found: run `python -m grader collect SRC` first / 提出物がありません"
                     if not done else f"all {done} submission(s) already graded (--regrade grades them again) "
                                      f"/ {done} 件すべて採点済みです")
            return []
        partial = sum(not job["run_nbgrader"] for job in jobs)
        if done or partial:
            progress(f"resuming: {done} submission(s) already graded, {partial} with only nbgrader's part saved "
                     f"(their cross-check runs now), {len(jobs) - partial} not graded yet (--regrade grades "
                     f"everything again) / 続きから採点します: 採点済み {done} 件、nbgrader のみ済み {partial} 件"
                     f"（クロスチェックを実行）、未採点 {len(jobs) - partial} 件")
        return _run_pool(course, jobs, workers, limits, cell_timeout, progress)


def kernel_threads(workers: int) -> dict:
    """Thread settings for each of ``workers`` concurrent kernels: the cores shared out among them.

    Oversubscribed cores (every kernel's TensorFlow using all of them) make a parallel run slower.
    """
    threads = str(max(1, (os.cpu_count() or 1) // workers))
    return {"OMP_NUM_THREADS": threads, "TF_NUM_INTRAOP_THREADS": threads, "TF_NUM_INTEROP_THREADS": "1"}


def worker_env(workers: int, limits: Limits, cell_timeout: int | None = None) -> dict:
    """The environment of the grading workers, which their kernels and cross-checks inherit unsandboxed."""
    env = dict(tool_env(), **kernel_threads(workers), GRADER_LIMITS=limits.to_env(), **STUDENT_ENV)
    if cell_timeout:
        env["GRADER_CELL_TIMEOUT"] = str(cell_timeout)
    return env


def _run_pool(course, jobs, workers, limits, cell_timeout, progress) -> list[dict]:
    workers = max(1, min(workers or os.cpu_count() or 1, len(jobs)))
    env = worker_env(workers, limits, cell_timeout)
    total = len(jobs)
    progress(f"autograding {total} submission(s) with {workers} worker(s) / "
             f"{total} 件を {workers} 並列で採点します")
    run_id = uuid.uuid4().hex[:12]
    pending, finished, partial, pool = list(jobs), [], {}, []
    started = time.monotonic()

    def record(job, result):
        """Merge a worker's answer into the submission's result and save it at once."""
        key = (job["assignment"], job["student"])
        merged = dict(partial.pop(key, None) or ({} if job["run_nbgrader"] else store.load(course, *key) or {}))
        merged_limits = merged.get("limits", []) + result.pop("limits", [])
        merged.update(result, limits=merged_limits, submission_sha256=job["sha256"], run=run_id,
                      repairs=store.repairs(course, *key),
                      graded_at=datetime.now(timezone.utc).isoformat(timespec="seconds"))
        merged.setdefault("status", "graded")
        merged.setdefault("crosscheck", None)
        charge(merged)
        merged["seconds"] = round((merged.get("nbgrader_seconds") or 0)
                                  + ((merged["crosscheck"] or {}).get("seconds") or 0), 2)
        store.save(course, merged)
        return merged

    def finish(job, result):
        merged = record(job, result)
        finished.append(merged)
        cc = merged.get("crosscheck") or {}
        progress(f"[{len(finished)}/{total}] {merged['student']} ({merged['assignment']}): "
                 f"nbgrader {_points(merged.get('nbgrader_cells'))}, cross-check "
                 f"{cc.get('score', '-')}/{cc.get('max_score', '-')}, {merged['seconds']:.1f} s"
                 + ("" if merged["status"] == "graded" else f"  [{merged['status']}]"))

    def answered(worker, result) -> bool:
        """Record a worker's answer (or failure) for its job; True when the job is over."""
        job = worker.job
        key = (job["assignment"], job["student"])
        if result.pop("partial", False):
            # nbgrader is done (saved now); the same worker goes on with the cross-check,
            # which has a time limit of its own
            partial[key] = record(job, result)
            worker.job = dict(job, run_nbgrader=False)
            return False
        status = result.get("status")
        if status in ("timeout", "worker-died") and job["run_crosscheck"] and job["run_nbgrader"]:
            # the nbgrader part is over; the cross-check still scores the student, in a fresh worker
            partial[key] = record(job, result)
            pending.insert(0, dict(job, run_nbgrader=False))
            return True
        if status == "worker-died" and not job["run_nbgrader"]:
            result = {"crosscheck": _crosscheck_failed("the worker died during the cross-check"),
                      "limits": result["limits"]}
        elif not job["run_nbgrader"]:
            result.pop("status", None)          # a cross-check alone does not change the nbgrader status
        finish(job, result)
        return True

    try:
        for _ in range(workers):
            pool.append(Worker(course, env))
        for worker in pool:
            if pending:
                worker.send(pending.pop(0))
        while any(w.job for w in pool):
            busy = [w for w in pool if w.job]
            ready, _, _ = select.select([w.process.stdout for w in busy], [], [], 1.0)
            for worker in busy:
                results = []
                if worker.process.stdout in ready:
                    lines = worker.read_lines()
                    if lines is None:     # the worker died (killed from outside: kernels die, workers do not)
                        worker.kill()
                        results.append(failed(worker.job, "worker-died", "the grading worker process died",
                                              time.monotonic() - worker.started))
                    for line in lines or []:
                        if line.startswith(FATAL):
                            raise CourseError("a grading worker could not start / 採点プロセスを起動できません:\n"
                                              + json.loads(line[len(FATAL):]))
                        if line.startswith(MARKER):     # anything else is stray output, not a result
                            results.append(json.loads(line[len(MARKER):]))
                elif worker.job["run_nbgrader"] and time.monotonic() - worker.started > limits.wall_time:
                    worker.kill()
                    wall = reason("wall-time", limits)
                    results.append(failed(worker.job, "timeout", wall["reason"], limits.wall_time, [wall]))
                if not any([answered(worker, result) for result in results]):
                    continue
                if worker.process.poll() is not None:   # replace a killed or dead worker
                    pool.remove(worker)
                    worker = Worker(course, env)
                    pool.append(worker)
                worker.job = None
                if pending:
                    worker.send(pending.pop(0))
    except (KeyboardInterrupt, Interrupted):
        progress(f"interrupted: {len(finished)} of {total} graded and saved; run autograde again to grade "
                 f"the rest / 中断しました（{len(finished)}/{total} 件は保存済み。再実行すると続きから採点します）")
        raise Interrupted from None
    finally:
        for worker in pool:
            worker.kill() if worker.job else worker.close()
    progress(f"done in {time.monotonic() - started:.0f} s / 完了")
    return finished


def _crosscheck_failed(message: str) -> dict:
    spec = load_spec()
    return {"status": "error", "score": 0, "max_score": spec.AUTO_POINTS, "limits": [],
            "cells": {g: 0 for g in spec.TEST_CELLS}, "messages": {"*": message}}


def _points(cells) -> str:
    if cells is None:
        return "not graded"
    return f"{sum(v or 0 for v in cells.values()):g}"
