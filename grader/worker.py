"""One grading worker: ``python -m grader.worker COURSE PARENT_PID`` reads jobs (JSON lines) on stdin.

A job is ``{"assignment", "student", "run_nbgrader", "run_crosscheck"}``. The
worker runs nbgrader's autograde in-process (its start-up is paid once per
worker, not per student; the kernel runs in the sandbox), then the
out-of-process cross-check, and writes one JSON line with the result (the
keys of ``grader.results``). A :class:`~grader.limits.Watchdog` watches
everything the worker starts (kernel, cross-check) against the limits of the
``GRADER_LIMITS`` environment variable. The worker dies with its parent (the
dask worker whose task started it, ``grader.schedule``), and its kernel with
it; that task kills it when a notebook overruns its wall time.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

MARKER = "@@grader-result "
FATAL = "@@grader-fatal "          # the worker cannot start: a set-up problem, not a student's


def nbgrader_cells(course: Path, assignment: str, student: str, notebook: str) -> dict | None:
    """Per-cell scores of one submission from the gradebook (None if it was not graded)."""
    from nbgrader.api import Gradebook, MissingEntry
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        try:
            submission = gradebook.find_submission_notebook(notebook, assignment, student)
        except MissingEntry:
            return None
        return {grade.name: grade.score for grade in submission.grades}


def clean_log(text: str, keep: int = 4000) -> str:
    """A log without TensorFlow's start-up noise, cut to its last ``keep`` characters."""
    # imported here: the package imports TensorFlow, which the dask workers that import this module never need
    from exercise_logic.environment import is_tensorflow_noise
    return "".join(line for line in text.splitlines(keepends=True) if not is_tensorflow_noise(line, "2"))[-keep:]


def nbgrader_status(ok: bool, log: str) -> str:
    if ok:
        return "graded"
    return "dead-kernel" if ("DeadKernelError" in log or "Kernel died" in log) else "error"


class Grader:
    """Grades one job at a time in this process (see the module docstring)."""

    def __init__(self, course: Path):
        from nbgrader.apps.api import NbGraderAPI
        from nbgrader.converters import Autograde
        from nbgrader.coursedir import CourseDirectory
        from nbgrader.preprocessors import Execute
        from traitlets.config.loader import PyFileConfigLoader

        from .execute import LimitedExecute
        from .limits import Limits, Watchdog
        from .paths import load_spec

        self.course, self.spec, self.limits = course, load_spec(), Limits.from_env()
        # Everything the worker and its sandboxes write on the host (kernel sockets,
        # cross-check folders) lives in one folder that the watchdog measures.
        self.scratch = tempfile.mkdtemp(prefix="grader-worker-")
        tempfile.tempdir = self.scratch
        os.environ["TMPDIR"] = self.scratch
        os.chdir(course)
        config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
        chosen = (config.Autograde.get("autograde_preprocessors")
                  or Autograde.class_traits()["autograde_preprocessors"].default())
        config.Autograde.autograde_preprocessors = [LimitedExecute if p is Execute else p for p in chosen]
        config.LimitedExecute.output_limit = self.limits.output
        self.api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
        self.watchdog = Watchdog(os.getpid(), self.limits, folders=[self.scratch])
        self.watchdog.start()

    def close(self) -> None:
        self.watchdog.close()
        shutil.rmtree(self.scratch, ignore_errors=True)

    def run_nbgrader(self, asg: str, student: str, result: dict) -> None:
        from .limits import notebook_limits
        started = time.monotonic()
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                outcome = self.api.autograde(asg, student, force=True, create=True)
            ok = bool(outcome.get("success"))
            log = (outcome.get("log") or "") + (outcome.get("error") or "")
        except Exception:  # noqa: BLE001 - one student's failure never stops the batch
            ok, log = False, traceback.format_exc()
        result["status"] = nbgrader_status(ok, log)
        result["nbgrader_ok"] = ok
        result["nbgrader_log"] = clean_log(log)
        # a failed autograde leaves no autograded notebook: its old grades are not scores
        result["nbgrader_cells"] = nbgrader_cells(self.course, asg, student, self.spec.NOTEBOOK) if ok else None
        result["nbgrader_seconds"] = round(time.monotonic() - started, 2)
        broken = self.watchdog.take_events(died=result["status"] == "dead-kernel")
        autograded = self.course / "autograded" / student / asg / f"{self.spec.NOTEBOOK}.ipynb"
        executed = json.loads(autograded.read_text(encoding="utf-8"))["cells"] if ok and autograded.exists() else []
        result["limits"] += notebook_limits(executed, self.limits, broken)

    def run_crosscheck(self, asg: str, student: str, result: dict) -> None:
        from . import crosscheck
        from .jobs import crosscheck_failure
        from .limits import reason
        try:
            submitted = self.course / "submitted" / student / asg / f"{self.spec.NOTEBOOK}.ipynb"
            notebook = json.loads(submitted.read_text(encoding="utf-8"))
            check = crosscheck.check_notebook(notebook, self.course / ".grader" / "crosscheck",
                                              timeout=self.limits.crosscheck_time, limits=self.limits)
        except Exception:  # noqa: BLE001
            check = crosscheck_failure(clean_log(traceback.format_exc(), 1000))
        died = check["status"].startswith(("exit-", "killed-"))
        broken = self.watchdog.take_events(died=died) + check.get("limits", [])
        result["crosscheck"] = check
        result["limits"] += [reason(name, self.limits, "crosscheck") for name in dict.fromkeys(broken)]


    def grade(self, job: dict, send) -> None:
        """Grade one job; ``send`` gets the nbgrader part first (``partial``) when a cross-check follows."""
        asg, student = job["assignment"], job["student"]
        self.watchdog.take_events()
        result = {"assignment": asg, "student": student, "limits": []}
        if job.get("run_nbgrader", True):
            self.run_nbgrader(asg, student, result)
            if job.get("run_crosscheck", True):
                send(dict(result, partial=True))
                result = {"assignment": asg, "student": student, "limits": []}
        if job.get("run_crosscheck", True):
            self.run_crosscheck(asg, student, result)
        send(result)


def run(course: Path, parent: int) -> None:
    from .sandbox import ENV_PARENT, die_with_parent
    die_with_parent()
    if os.getppid() != parent:          # the parent died before prctl took effect
        return
    os.environ[ENV_PARENT] = str(os.getpid())       # kernels check it the same way
    # The protocol gets a private copy of fd 1; fd 1 itself becomes stderr, so
    # nothing else (nbgrader, kernels started as children) can corrupt it.
    out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    def send(result: dict) -> None:
        out.write(MARKER + json.dumps(result, default=str) + "\n")
        out.flush()

    try:
        grader = Grader(course)
    except Exception:  # noqa: BLE001 - reported to the parent, which stops the run
        out.write(FATAL + json.dumps(clean_log(traceback.format_exc(), 3000)) + "\n")
        return
    try:
        for line in sys.stdin:
            grader.grade(json.loads(line), send)
    finally:
        grader.close()


if __name__ == "__main__":
    run(Path(sys.argv[1]).resolve(), int(sys.argv[2]))
