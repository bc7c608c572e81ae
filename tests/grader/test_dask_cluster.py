"""Grading on a real dask cluster: ``dask scheduler`` and two ``dask worker`` processes on 127.0.0.1.

The workers run in folders of their own (no file system shared with the
course), as on lab machines. While ``autograde --scheduler`` grades a small
class:

- the test SIGKILLs one ``dask worker`` (nanny, worker and all: a machine
  lost) while it grades ``x_slow_answer``: that task runs again on the other
  worker, and every student is graded exactly once;
- the dask worker process that grades ``x_kills_workers`` is killed each time
  one does (its nanny starts a new one): after dask's allowed failures the
  student gets their own ``worker-died`` outcome and the run goes on.

And the refusals: a scheduler that cannot be reached, and one with no worker.
"""
from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import REPO, copy_course, run_grader, sandbox_works

pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(not sandbox_works(), reason="needs bubblewrap (apt-get install bubblewrap)")]

# dask's default is 3 (four dead workers per task); 1 takes the same path with two
ALLOWED_FAILURES = 1
LIMITS = ["--notebook-timeout", 120, "--cell-timeout", 20, "--crosscheck-timeout", 60]
# x_slow_answer: correct, its answer cell sleeps 12 s (time to kill its worker meanwhile)
CLASS = {"c_reference": "c_reference", "m_no_relu": "m_no_relu", "x_slow_answer": "x_slow_answer",
         "x_kills_workers": "x_slow_answer"}
DASK = Path(sys.executable).with_name("dask")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ancestors(pid: int):
    while pid > 1:
        yield pid
        with open(f"/proc/{pid}/stat") as handle:
            pid = int(handle.read().rsplit(")", 1)[1].split()[1])


def _cmdline(pid: int) -> str:
    return open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ").decode(errors="replace")


def _kernels_of(student: str) -> list[int]:
    """Kernels grading ``student`` (they work in its autograded folder of a worker's course copy)."""
    found = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        with contextlib.suppress(OSError):
            if f"{os.sep}autograded{os.sep}{student}" in os.readlink(f"/proc/{entry}/cwd"):
                found.append(int(entry))
    return found


class Cluster:
    """A dask scheduler and its workers, each a process of its own, as an instructor starts them."""

    def __init__(self, root: Path, env: dict):
        self.root, self.env = root, env
        self.address = f"tcp://127.0.0.1:{_free_port()}"
        self.processes: dict[str, subprocess.Popen] = {}

    def start(self, name: str, *args: str) -> subprocess.Popen:
        folder = self.root / name
        folder.mkdir(parents=True, exist_ok=True)
        log = open(folder / "log.txt", "w")
        self.processes[name] = subprocess.Popen([str(DASK), *args], cwd=folder, env=self.env, stdout=log,
                                                stderr=subprocess.STDOUT, start_new_session=True)
        return self.processes[name]

    def start_scheduler(self) -> None:
        port = self.address.rsplit(":", 1)[1]
        self.start("scheduler", "scheduler", "--host", "127.0.0.1", "--port", port, "--no-dashboard")

    def start_worker(self, name: str) -> None:
        self.start(name, "worker", self.address, "--nthreads", "1", "--no-dashboard",
                   "--local-directory", str(self.root / name / "scratch"), "--name", name)

    def wait_for_workers(self, count: int, timeout: float = 120) -> None:
        from distributed import Client
        with Client(self.address, timeout=timeout) as client:
            if count:
                client.wait_for_workers(count, timeout=timeout)

    def nanny(self, name: str) -> int:
        return self.processes[name].pid

    def log(self, name: str) -> str:
        return (self.root / name / "log.txt").read_text(errors="replace")

    def stop(self) -> None:
        for process in self.processes.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _make_class(course: Path, folder: Path, names: dict) -> None:
    import submissions
    release = json.loads((course / "release/gradcam_en/gradcam.ipynb").read_text(encoding="utf-8"))
    folder.mkdir()
    for name, variant in names.items():
        (folder / f"{name}.ipynb").write_text(json.dumps(submissions.make(release, variant)), encoding="utf-8")


def _results(course) -> dict:
    from grader.results import load_results
    return {r["student"]: r for r in load_results(course)}


class Killer(threading.Thread):
    """Kills, as soon as a kernel grades their student: ``machine`` once (the whole ``dask worker`` of the
    kernel), ``worker`` every time (the dask worker process alone: its nanny starts a new one)."""

    def __init__(self, cluster: Cluster, machine: str, worker: str):
        super().__init__(daemon=True)
        self.cluster, self.machine, self.worker = cluster, machine, worker
        self.stop, self.machines_lost, self.workers_killed = threading.Event(), [], []
        self.seen: set[int] = set()

    def _dask_worker_of(self, kernel: int) -> tuple[str, int] | None:
        """The name of the cluster process above ``kernel``, and the dask worker process under it."""
        chain = list(_ancestors(kernel))
        nannies = {self.cluster.nanny(name): name for name in self.cluster.processes}
        for below, pid in zip(chain, chain[1:]):
            if pid in nannies:
                return nannies[pid], below
        return None

    def run(self) -> None:
        while not self.stop.is_set():
            for student in (self.machine, self.worker):
                for kernel in _kernels_of(student):
                    if kernel in self.seen:
                        continue
                    with contextlib.suppress(OSError, ValueError):
                        found = self._dask_worker_of(kernel)
                        if found is None:
                            continue
                        self.seen.add(kernel)
                        name, dask_worker = found
                        if student == self.machine and not self.machines_lost:
                            os.killpg(self.cluster.nanny(name), signal.SIGKILL)
                            self.machines_lost.append(name)
                        elif student == self.worker and dask_worker not in self.workers_killed:
                            # (the sandbox and the kernel in it both work in the folder: one kill per worker)
                            os.kill(dask_worker, signal.SIGKILL)
                            self.workers_killed.append(dask_worker)
            time.sleep(0.1)


@pytest.fixture(scope="module")
def graded(tmp_path_factory, tool_env, released_course):
    root = tmp_path_factory.mktemp("dask")
    course = copy_course(released_course[0], root / "course")
    _make_class(course, root / "subs", CLASS)
    run_grader("collect", course, root / "subs", env=tool_env)
    # the workers' machines: the kit importable, nothing of the course
    env = dict(tool_env, PYTHONPATH=str(REPO), DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES=str(ALLOWED_FAILURES))
    cluster = Cluster(root / "machines", env)
    killer = Killer(cluster, machine="x_slow_answer", worker="x_kills_workers")
    try:
        cluster.start_scheduler()
        for name in ("lab-pc-1", "lab-pc-2"):
            cluster.start_worker(name)
        cluster.wait_for_workers(2)
        killer.start()
        run = run_grader("autograde", course, "--scheduler", cluster.address, *LIMITS, env=tool_env, timeout=1200)
        killer.stop.set()
        killer.join()
        logs = {name: cluster.log(name) for name in cluster.processes}
        survivor = next(n for n in ("lab-pc-1", "lab-pc-2") if n not in killer.machines_lost)
        copies_left = [p.name for p in (root / "machines" / survivor / "scratch").rglob("grader-course-*")]
    finally:
        killer.stop.set()
        cluster.stop()
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        submitted = sorted(s.student.id for s in gradebook.find_assignment("gradcam_en").submissions)
    return {"course": course, "run": run, "killer": killer, "logs": logs, "results": _results(course),
            "gradebook": submitted, "copies_left": copies_left}


def test_a_lost_machine_costs_nothing_and_no_one_is_graded_twice(graded):
    assert graded["killer"].machines_lost, "the worker grading x_slow_answer was never seen"
    lines = [line for line in graded["run"].stdout.splitlines() if line.startswith("[")]
    graded_lines = {name: [line for line in lines if f"] {name} (" in line] for name in CLASS}
    assert all(len(found) == 1 for found in graded_lines.values()), graded_lines
    assert lines[-1].startswith(f"[{len(CLASS)}/{len(CLASS)}]")
    results = graded["results"]
    assert sorted(results) == sorted(CLASS)
    # in the instructor's gradebook: every notebook that nbgrader finished, once
    assert graded["gradebook"] == sorted(name for name, r in results.items() if r["nbgrader_ok"])
    assert "x_slow_answer" in graded["gradebook"]
    assert len({r["run"] for r in results.values()}) == 1
    slow = results["x_slow_answer"]
    assert slow["status"] == "graded" and slow["crosscheck"]["score"] == 10
    assert sum(slow["nbgrader_cells"].values()) == 10


def test_the_grades_are_those_of_a_single_machine(graded):
    results = graded["results"]
    assert results["c_reference"]["status"] == "graded" and results["c_reference"]["crosscheck"]["score"] == 10
    assert sum(results["c_reference"]["nbgrader_cells"].values()) == 10
    wrong = results["m_no_relu"]
    assert wrong["crosscheck"]["score"] < 10 and wrong["crosscheck"]["diagnosis"]["status"] != "correct"
    # the autograded notebooks and feedback maps came back to the instructor's course folder
    course = graded["course"]
    for name in CLASS:
        if results[name]["nbgrader_ok"]:
            assert (course / "autograded" / name / "gradcam_en" / "gradcam.ipynb").exists()
    assert (course / ".grader" / "feedback_maps" / f"{wrong['crosscheck']['maps']}.npz").exists()


def test_a_student_who_kills_every_worker_gets_their_own_outcome(graded):
    killed = graded["killer"].workers_killed
    assert len(killed) == ALLOWED_FAILURES + 1, killed
    result = graded["results"]["x_kills_workers"]
    assert result["status"] == "worker-died" and result["nbgrader_cells"] is None
    assert "allowed failures" in result["nbgrader_log"]
    assert result["crosscheck"]["score"] == 10        # the cross-check still scores the answer


def test_the_course_copies_leave_the_workers_with_the_run(graded):
    assert graded["copies_left"] == []


def _one_submission(tmp_path, tool_env, released_course) -> Path:
    course = copy_course(released_course[0], tmp_path / "course")
    _make_class(course, tmp_path / "subs", {"c_reference": "c_reference"})
    run_grader("collect", course, tmp_path / "subs", env=tool_env)
    return course


def test_an_unreachable_scheduler_is_a_clear_refusal(tmp_path, tool_env, released_course):
    course = _one_submission(tmp_path, tool_env, released_course)
    address = f"tcp://127.0.0.1:{_free_port()}"
    done = run_grader("autograde", course, "--scheduler", address, "--wait-for-workers", 3, env=tool_env,
                      check=False)
    assert done.returncode != 0 and "Traceback" not in done.stdout + done.stderr
    assert f"cannot reach the dask scheduler at {address}" in done.stderr and "dask scheduler" in done.stderr
    assert not _results(course)


def test_a_scheduler_without_workers_is_a_clear_refusal(tmp_path, tool_env, released_course):
    course = _one_submission(tmp_path, tool_env, released_course)
    cluster = Cluster(tmp_path / "machines", dict(tool_env, PYTHONPATH=str(REPO)))
    try:
        cluster.start_scheduler()
        cluster.wait_for_workers(0)
        done = run_grader("autograde", course, "--scheduler", cluster.address, "--wait-for-workers", 3,
                          env=tool_env, check=False)
    finally:
        cluster.stop()
    assert done.returncode != 0 and "Traceback" not in done.stdout + done.stderr
    assert "no dask worker joined" in done.stderr and f"dask worker {cluster.address}" in done.stderr
    assert not _results(course)
