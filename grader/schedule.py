"""Where grading runs: a ``dask.distributed`` cluster, on this machine or across many.

``autograde`` sends each stage of each submission as one task (:func:`grade`)
to a :class:`~distributed.LocalCluster` of this machine's cores, or to the
workers that the instructor started on other machines with ``dask worker``.
No file system is shared. :class:`CourseCopy`, a worker plugin, carries the
course's grading files (config, gradebook, sources, prepared cross-check) to
every worker once, and each worker grades on its private copy of them; a task
carries one submission and returns what it made (``grader.jobs``). Only the
instructor's process writes the course folder and its gradebook.

A task runs its stage in a :class:`GradingProcess` (``python -m
grader.worker``), one per worker thread and kept between tasks, so that
nbgrader's start-up is paid once. The task kills the process (and its kernel
and sandbox) when the notebook overruns its wall time. A worker that dies
mid-task has its task run again on another worker by dask; after dask's
allowed failures (3 by default) the task fails with ``KilledWorker``, which
``autograde`` records as that student's ``worker-died``.
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import select
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import dask
from distributed import Client, LocalCluster, get_worker
from distributed.diagnostics.plugin import WorkerPlugin

from .course import CourseError, state_dir, tool_env, write_kernel_spec
from .jobs import CrosscheckPart, NbgraderPart, Stage, Task
from .limits import Limits, reason
from .paths import REPO, load_spec
from .sandbox import STUDENT_ENV
from .worker import FATAL, MARKER

#: How long ``--scheduler`` waits for the scheduler to answer and for a first worker to join.
WORKERS_TIMEOUT = 60.0
PLUGIN = "grader-course"
#: One task per worker thread at a time: a worker killed by one student's code then
#: costs no other student one of dask's allowed failures (dask's default queues 1.1 per thread).
WORKER_SATURATION = 1.0
#: Dask settings of this kit's LocalCluster and client. A grading task waits on its grading process, so dask's
#: statistical profiler (10 ms samples), work stealing (tasks are queued on the scheduler, one per thread) and
#: its 20 ms event-loop ticks are pure cost: with them, an idle LocalCluster of 2 workers used 8 % of 2 cores,
#: without them 1 % (measured with two 20 s waiting tasks).
#: The nanny's pre-spawn environment (MALLOC_TRIM_THRESHOLD_=65536 and one thread for numpy) is written into
#: the spawning process's own os.environ, here the instructor's: TensorFlow in every process started from it
#: afterwards ran half as fast again (a serial nbclient run of 20 notebooks: 405 s instead of about 280 s).
QUIET = {"distributed.worker.profile.enabled": False, "distributed.scheduler.work-stealing": False,
         "distributed.admin.system-monitor.interval": "2s", "distributed.admin.tick.interval": "1s",
         "distributed.nanny.pre-spawn-environ": {}}
#: What a worker needs of the course folder to grade (never submissions, results or feedback);
#: the cache holds the notebook's trained model, which the kernels load instead of training it.
COURSE_FILES = ("nbgrader_config.py", "source", ".grader/crosscheck", ".grader/cache")


class SetupFailed(RuntimeError):
    """A worker cannot grade at all (its kit or course copy is broken): the run's problem, not a student's."""


# -- the course, once per worker ---------------------------------------------------
def course_files(course: Path) -> dict[str, bytes]:
    """The grading files of ``course`` by their path in it: what every worker gets once."""
    files = {}
    for name in COURSE_FILES:
        path = course / name
        found = [path] if path.is_file() else sorted(     # source/ holds links to the kit's folders
            Path(folder) / name for folder, _, names in os.walk(path, followlinks=True) for name in names)
        files.update({p.relative_to(course).as_posix(): p.read_bytes() for p in found})
    files["gradebook.db"] = _gradebook_snapshot(course / "gradebook.db")
    return files


def _gradebook_snapshot(path: Path) -> bytes:
    """A consistent copy of the gradebook, even while formgrader writes to it."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "gradebook.db"
        with contextlib.closing(sqlite3.connect(path)) as source, contextlib.closing(sqlite3.connect(copy)) as target:
            source.backup(target)
        return copy.read_bytes()


def kernel_threads(threads: int) -> dict:
    """Thread settings for each kernel when ``threads`` cores are its share.

    Oversubscribed cores (every kernel's TensorFlow using all of them) make a parallel run slower.
    """
    return {"OMP_NUM_THREADS": str(threads), "TF_NUM_INTRAOP_THREADS": str(threads), "TF_NUM_INTEROP_THREADS": "1"}


def grading_env(threads: int, limits: Limits, cell_timeout: int | None = None) -> dict:
    """The environment of the grading processes, which their kernels and cross-checks inherit unsandboxed."""
    env = dict(tool_env(), **kernel_threads(threads), GRADER_LIMITS=limits.to_env(), **STUDENT_ENV)
    env.pop("MALLOC_TRIM_THRESHOLD_", None)      # a `dask worker`'s setting for itself (see QUIET), not for grading
    if cell_timeout:
        env["GRADER_CELL_TIMEOUT"] = str(cell_timeout)
    return env


class CourseCopy(WorkerPlugin):
    """A worker's private copy of the course, and its grading processes.

    ``kernel_threads``: cores per kernel; None gives each of the worker's
    threads an equal share of its machine's cores.
    """

    def __init__(self, files: dict[str, bytes], limits: Limits, cell_timeout: int | None = None,
                 kernel_threads: int | None = None):
        self.files, self.limits, self.cell_timeout, self.threads = files, limits, cell_timeout, kernel_threads

    def setup(self, worker) -> None:
        self.folder = Path(worker.local_directory) / f"grader-course-{uuid.uuid4().hex[:8]}"
        for name, data in self.files.items():
            path = self.folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        self.files = {}                     # written out: the worker need not hold them twice
        write_kernel_spec(self.folder)      # this machine's Python and kit, not the instructor's
        threads = self.threads or max(1, (os.cpu_count() or 1) // worker.state.nthreads)
        self.env = grading_env(threads, self.limits, self.cell_timeout)
        self.idle: queue.SimpleQueue[GradingProcess] = queue.SimpleQueue()
        self.processes: list[GradingProcess] = []

    def teardown(self, worker) -> None:
        for process in self.processes:
            process.kill()
        shutil.rmtree(self.folder, ignore_errors=True)

    def grade(self, task: Task) -> NbgraderPart | CrosscheckPart:
        job, notebook = task.job, load_spec().NOTEBOOK
        submitted = self.folder / "submitted" / job.student / job.assignment
        autograded = self.folder / "autograded" / job.student / job.assignment
        shutil.rmtree(submitted, ignore_errors=True)
        submitted.mkdir(parents=True)
        for name, data in task.files.items():
            (submitted / name).write_bytes(data)
        request = {"assignment": job.assignment, "student": job.student,
                   "run_nbgrader": task.stage is Stage.NBGRADER, "run_crosscheck": task.stage is Stage.CROSSCHECK}
        started = time.monotonic()
        try:
            if task.stage is Stage.NBGRADER:
                answer = self._ask(request, self.limits.wall_time)
                if answer is None:
                    return NbgraderPart.worker_died(time.monotonic() - started)
                if answer == "timeout":
                    return NbgraderPart.timed_out(reason("wall-time", self.limits), self.limits.wall_time)
                path = autograded / f"{notebook}.ipynb"
                made = answer["nbgrader_ok"] and path.exists()
                return NbgraderPart(status=answer["status"], ok=answer["nbgrader_ok"], cells=answer["nbgrader_cells"],
                                    log=answer["nbgrader_log"], seconds=answer["nbgrader_seconds"],
                                    limits=answer["limits"], autograded=path.read_text(encoding="utf-8") if made else None)
            answer = self._ask(request, None)
            if answer is None:
                return CrosscheckPart.failed("the grading process died during the cross-check")
            check = answer["crosscheck"]
            maps = self.folder / ".grader" / "feedback_maps" / f"{check.get('maps')}.npz"
            return CrosscheckPart(check=check, limits=answer["limits"],
                                  maps=maps.read_bytes() if check.get("maps") and maps.exists() else None)
        finally:
            shutil.rmtree(submitted, ignore_errors=True)
            shutil.rmtree(autograded, ignore_errors=True)

    def _ask(self, request: dict, wall_time: float | None) -> dict | str | None:
        """An idle grading process's answer to ``request`` (see :meth:`GradingProcess.ask`)."""
        while True:
            try:
                process = self.idle.get_nowait()
            except queue.Empty:
                process = GradingProcess(self.folder, self.env)
                self.processes.append(process)
            try:
                answer = process.ask(request, wall_time)
            except BrokenPipeError:         # it died while idle: the request never reached it
                process.kill()
                continue
            if process.alive():
                self.idle.put(process)
            return answer


def grade(task: Task) -> NbgraderPart | CrosscheckPart:
    """The dask task: grade one stage of one submission on this worker's copy of the course."""
    copy = get_worker().plugins.get(PLUGIN)
    if copy is None:
        raise SetupFailed("this dask worker has no copy of the course: its set-up failed (see the worker's log)")
    return copy.grade(task)


# -- one grading process ------------------------------------------------------------
class GradingProcess:
    """``python -m grader.worker`` on a course copy: one stage at a time, over JSON lines."""

    def __init__(self, course: Path, env: dict):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "grader.worker", str(course), str(os.getpid())], cwd=REPO, env=env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            start_new_session=True)
        self.buffer = b""

    def alive(self) -> bool:
        return self.process.poll() is None

    def ask(self, request: dict, wall_time: float | None) -> dict | str | None:
        """The process's answer to ``request``: its result, "timeout" (it was killed) or None (it died)."""
        self.process.stdin.write((json.dumps(request) + "\n").encode())
        self.process.stdin.flush()
        deadline = None if wall_time is None else time.monotonic() + wall_time
        while True:
            for line in self._lines(deadline):
                if line.startswith(FATAL):
                    self.kill()
                    raise SetupFailed("a grading process could not start / 採点プロセスを起動できません:\n"
                                      + json.loads(line[len(FATAL):]))
                if line.startswith(MARKER):     # anything else is stray output, not a result
                    return json.loads(line[len(MARKER):])
            if not self.alive() or (deadline is not None and time.monotonic() >= deadline):
                timed_out = self.alive()
                self.kill()
                return "timeout" if timed_out else None

    def _lines(self, deadline: float | None) -> list[str]:
        timeout = 1.0 if deadline is None else max(0.0, min(1.0, deadline - time.monotonic()))
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        if not ready:
            return []
        data = os.read(self.process.stdout.fileno(), 1 << 16)
        if not data:
            self.process.wait()
            return []
        self.buffer += data
        *lines, self.buffer = self.buffer.split(b"\n")
        return [line.decode("utf-8", "replace") for line in lines]

    def kill(self) -> None:
        if self.process.returncode is None:       # once reaped, its group id may belong to another process
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


# -- the cluster ----------------------------------------------------------------------
@contextlib.contextmanager
def connect(scheduler: str | None, workers: int, scratch: Path, wait_for_workers: float = WORKERS_TIMEOUT):
    """A dask client: of a new LocalCluster of ``workers`` processes, or of the scheduler at ``scheduler``.

    ``scratch``: the LocalCluster workers' folder (their course copies live there).
    """
    with dask.config.set(QUIET), _client(scheduler, workers, scratch, wait_for_workers) as client:
        yield client


@contextlib.contextmanager
def _client(scheduler, workers, scratch, wait_for_workers):
    if scheduler is None:
        scratch.mkdir(parents=True, exist_ok=True)
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, memory_limit=0,
                          dashboard_address=None, scheduler_port=0, local_directory=str(scratch),
                          silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
            _one_task_per_thread(client)
            yield client
        return
    try:
        client = Client(scheduler, timeout=wait_for_workers)
    except (OSError, TimeoutError) as error:
        raise CourseError(f"cannot reach the dask scheduler at {scheduler} ({error}): start it with "
                          f"`dask scheduler` on that machine / dask スケジューラに接続できません") from None
    with client:
        try:
            client.wait_for_workers(1, timeout=wait_for_workers)
        except TimeoutError:
            raise CourseError(f"no dask worker joined {scheduler} within {wait_for_workers:g} s: start one on each "
                              f"grading machine with `dask worker {scheduler}` / ワーカーが接続していません") from None
        _one_task_per_thread(client)
        yield client


def _one_task_per_thread(client: Client) -> None:
    """Set the scheduler's worker saturation to :data:`WORKER_SATURATION` (sent by value: the
    scheduler's machine need not have the kit)."""
    client.run_on_scheduler(lambda dask_scheduler, value=WORKER_SATURATION:
                            setattr(dask_scheduler, "WORKER_SATURATION", value))


def share_course(client: Client, course: Path, limits: Limits, cell_timeout: int | None,
                 kernel_threads: int | None) -> None:
    """Give every worker, present and future, its copy of the course (replacing an earlier run's)."""
    plugin = CourseCopy(course_files(course), limits, cell_timeout, kernel_threads)
    client.register_plugin(plugin, name=PLUGIN)


def unshare_course(client: Client) -> None:
    """Remove the course copies (they hold the hidden tests) from the workers."""
    with contextlib.suppress(Exception):
        client.unregister_worker_plugin(PLUGIN)


def local_scratch(course: Path) -> Path:
    return state_dir(course) / "workers"
