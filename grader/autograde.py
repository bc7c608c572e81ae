"""Autograde every submission on a dask cluster: this machine's cores, or many machines.

Design (see grader/README.md): each stage of each submission (nbgrader's run,
then the cross-check) is one task on ``dask.distributed`` (``grader.schedule``):
a LocalCluster of one worker per core by default (more only causes false cell
timeouts in the TensorFlow cell), or the workers of ``--scheduler``. Workers
grade on private copies of the course and return what they made; only this
process writes the course folder and its gradebook.

Every outcome is one student's, never the run's: a notebook that overruns the
wall time (its grading process is killed with its kernel and sandbox), a dead
kernel, a dead grading process, a worker killed again and again or a failed
cross-check is recorded for that student, and the batch goes on. Each result
is saved (``grader.results``) the moment it is known, so an interrupted run
(Ctrl-C, a kill, a reboot) resumes where it stopped: only submissions without a
complete result are graded again, unless ``regrade`` is set.
"""
from __future__ import annotations

import collections
import contextlib
import fcntl
import fnmatch
import os
import signal
import time
import traceback
import uuid
from datetime import datetime, timezone
from pathlib import Path

from . import results as store
from .course import CourseError, check_course, state_dir
from .jobs import CrosscheckPart, Job, NbgraderPart, Stage, Task
from .limits import Limits, charge
from .paths import load_spec


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


def plan(course: Path, student: str, crosscheck: bool, regrade: bool) -> tuple[list[Job], int]:
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
        jobs.append(Job(asg, name, digest, run_nbgrader=not nbgrader_done, run_crosscheck=crosscheck))
    return jobs, done


def autograde(course: Path, *, workers: int | None = None, limits: Limits | None = None,
              student: str = "*", crosscheck: bool = True, regrade: bool = False, progress=print,
              cell_timeout: int | None = None, scheduler: str | None = None,
              wait_for_workers: float | None = None) -> list[dict]:
    """Grade the submissions that have no result yet; return the results of this run.

    Every result is also saved at once under ``COURSE/.grader/results/`` (see
    ``grader.results``). ``regrade``: grade every matching submission again.
    ``workers``: the LocalCluster's processes (default: CPU cores), ignored with
    ``scheduler``, the address of a running dask scheduler (``tcp://HOST:8786``)
    whose workers grade instead; ``wait_for_workers``: seconds to wait for it and
    its first worker (default ``grader.schedule.WORKERS_TIMEOUT``).
    Raises :class:`Interrupted` on Ctrl-C / SIGTERM, after stopping the run.
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
        partial = sum(not job.run_nbgrader for job in jobs)
        if done or partial:
            progress(f"resuming: {done} submission(s) already graded, {partial} with only nbgrader's part saved "
                     f"(their cross-check runs now), {len(jobs) - partial} not graded yet (--regrade grades "
                     f"everything again) / 続きから採点します: 採点済み {done} 件、nbgrader のみ済み {partial} 件"
                     f"（クロスチェックを実行）、未採点 {len(jobs) - partial} 件")
        from . import schedule
        local = scheduler is None
        workers = max(1, min(workers or os.cpu_count() or 1, len(jobs))) if local else None
        with schedule.connect(scheduler, workers, schedule.local_scratch(course),
                              wait_for_workers or schedule.WORKERS_TIMEOUT) as client:
            threads = max(1, (os.cpu_count() or 1) // workers) if local else None
            schedule.share_course(client, course, limits, cell_timeout, threads)
            try:
                return GradingRun(course, jobs, client, progress).run()
            finally:
                schedule.unshare_course(client)


class GradingRun:
    """One autograde run: its jobs' tasks on the cluster, and what has come back.

    A job is in one of three places: ``waiting`` (not sent yet: at most twice
    as many tasks as the cluster has threads are in flight, so that 10,000
    submissions are not all held by the scheduler at once), ``running`` (a task
    of one of its stages is on the cluster) or ``finished`` (its result is
    saved). ``partial`` holds the saved nbgrader part of a job whose cross-check
    is running.
    """

    def __init__(self, course: Path, jobs: list[Job], client, progress=print):
        from distributed import as_completed
        self.course, self.client, self.progress = course, client, progress
        self.run_id = uuid.uuid4().hex[:12]
        self.waiting, self.total = collections.deque(jobs), len(jobs)
        self.running: dict = {}                 # future -> (job, stage, when it was sent)
        self.in_flight = as_completed(loop=client.loop)
        self.partial: dict[tuple[str, str], dict] = {}
        self.finished: list[dict] = []

    def run(self) -> list[dict]:
        workers = self.client.nthreads()
        self.progress(f"autograding {self.total} submission(s) on {len(workers)} worker(s) / "
                      f"{self.total} 件を {len(workers)} 並列で採点します")
        started = time.monotonic()
        try:
            self.fill()
            for future in self.in_flight:
                self.settle(future)
                self.fill()
        except (KeyboardInterrupt, Interrupted):
            self.client.cancel(list(self.running))
            self.progress(f"interrupted: {len(self.finished)} of {self.total} graded and saved; run autograde again "
                          f"to grade the rest / 中断しました（{len(self.finished)}/{self.total} 件は保存済み。"
                          f"再実行すると続きから採点します）")
            raise Interrupted from None
        self.progress(f"done in {time.monotonic() - started:.0f} s / 完了")
        return self.finished

    def fill(self) -> None:
        """Send waiting jobs until twice the cluster's threads have a task."""
        window = 2 * max(1, sum(self.client.nthreads().values()))
        while self.waiting and len(self.running) < window:
            job = self.waiting.popleft()
            self.send(job, job.stages()[0])

    def send(self, job: Job, stage: Stage) -> None:
        from . import schedule
        folder = self.course / "submitted" / job.student / job.assignment
        files = {path.name: path.read_bytes() for path in sorted(folder.iterdir()) if path.is_file()}
        # cross-checks first: they complete results that are already half saved
        future = self.client.submit(schedule.grade, Task(job, stage, files), pure=False,
                                    key=f"{stage.value}-{job.assignment}-{job.student}-{self.run_id}",
                                    priority=int(stage is Stage.CROSSCHECK))
        self.running[future] = (job, stage, time.monotonic())
        self.in_flight.add(future)

    def settle(self, future) -> None:
        """Record what one task made, or why it made nothing, and send the job's next stage."""
        from distributed import CancelledError, KilledWorker

        from .schedule import SetupFailed
        job, stage, sent = self.running.pop(future)
        try:
            part = future.result()
        except KilledWorker:
            part = self.worker_lost(stage, time.monotonic() - sent)
        except SetupFailed as error:
            raise CourseError(str(error)) from None
        except (CancelledError, OSError, TimeoutError) as error:      # the cluster itself is gone
            raise CourseError(f"the grading cluster failed ({type(error).__name__}: {error}); what was graded is "
                              "saved: run autograde again to grade the rest / 採点クラスタが停止しました。"
                              "再実行すると続きから採点します") from None
        except Exception:  # noqa: BLE001 - one student's failure never stops the batch
            part = self.task_failed(stage, traceback.format_exc())
        if stage is Stage.NBGRADER:
            self.nbgrader_done(job, part)
        else:
            self.crosscheck_done(job, part)

    @staticmethod
    def task_failed(stage: Stage, log: str):
        if stage is Stage.NBGRADER:
            return NbgraderPart.failed("error", log[-4000:], 0.0)
        return CrosscheckPart.failed(log[-1000:])

    @staticmethod
    def worker_lost(stage: Stage, seconds: float):
        what = "every worker that graded it died (dask's allowed failures ran out)"
        if stage is Stage.NBGRADER:
            return NbgraderPart.worker_died(seconds, what)
        return CrosscheckPart.failed(f"{what} during the cross-check")

    def nbgrader_done(self, job: Job, part: NbgraderPart) -> None:
        from .gradebook import save_autograded
        save_autograded(self.course, job.assignment, job.student, part.autograded)
        result = {"assignment": job.assignment, "student": job.student, **part.result_fields(),
                  "limits": part.limits, "crosscheck": None}
        if job.run_crosscheck:
            # nbgrader's part is saved now; the cross-check, with a time limit of its own, follows
            self.partial[job.key] = self.save(job, result)
            self.send(job, Stage.CROSSCHECK)
        else:
            self.finish(job, result)

    def crosscheck_done(self, job: Job, part: CrosscheckPart) -> None:
        from .crosscheck import maps_folder
        if part.maps:
            path = maps_folder(state_dir(self.course) / "crosscheck") / f"{part.check['maps']}.npz"
            if not path.exists():
                from exercise_logic.atomic_files import atomic_write
                with atomic_write(path) as handle:
                    handle.write(part.maps)
        result = dict(self.partial.pop(job.key, None) or store.load(self.course, *job.key) or {})
        result.setdefault("status", "graded")       # a cross-check alone does not change nbgrader's status
        result.update(crosscheck=part.check, limits=result.get("limits", []) + part.limits)
        self.finish(job, result)

    def save(self, job: Job, result: dict) -> dict:
        result.update(submission_sha256=job.sha256, run=self.run_id,
                      repairs=store.repairs(self.course, *job.key),
                      graded_at=datetime.now(timezone.utc).isoformat(timespec="seconds"))
        result.setdefault("crosscheck", None)
        charge(result)
        result["seconds"] = round((result.get("nbgrader_seconds") or 0)
                                  + ((result["crosscheck"] or {}).get("seconds") or 0), 2)
        store.save(self.course, result)
        return result

    def finish(self, job: Job, result: dict) -> None:
        result = self.save(job, result)
        self.finished.append(result)
        check = result.get("crosscheck") or {}
        self.progress(f"[{len(self.finished)}/{self.total}] {result['student']} ({result['assignment']}): "
                      f"nbgrader {_points(result.get('nbgrader_cells'))}, cross-check "
                      f"{check.get('score', '-')}/{check.get('max_score', '-')}, {result['seconds']:.1f} s"
                      + ("" if result["status"] == "graded" else f"  [{result['status']}]"))


def _points(cells) -> str:
    if cells is None:
        return "not graded"
    return f"{sum(v or 0 for v in cells.values()):g}"
