"""One grading worker: ``python -m grader.worker COURSE`` reads jobs (JSON lines) on stdin.

For each ``{"assignment": ..., "student": ...}`` it runs nbgrader's autograde
in-process (nbgrader's start-up is paid once per worker, not per student; the
kernel runs in the sandbox), then the out-of-process cross-check, and writes
one JSON line with both scores. The parent kills and replaces a worker that
overruns a notebook's wall-time limit.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import time
import traceback
from pathlib import Path


MARKER = "@@grader-result "


def nbgrader_cells(course: Path, assignment: str, student: str, notebook: str) -> dict | None:
    """Per-cell scores of one submission from the gradebook (None if it was not graded)."""
    from nbgrader.api import Gradebook, MissingEntry
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        try:
            submission = gradebook.find_submission_notebook(notebook, assignment, student)
        except MissingEntry:
            return None
        cells = {grade.name: grade.score for grade in submission.grades}
        return cells


def run(course: Path) -> None:
    from nbgrader.apps.api import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    from . import crosscheck
    from .paths import load_spec

    spec = load_spec()
    os.chdir(course)
    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
    prepared = course / ".grader" / "crosscheck"
    # The protocol gets a private copy of fd 1; fd 1 itself becomes stderr, so
    # nothing else (nbgrader, kernels started as children) can corrupt it.
    out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    for line in sys.stdin:
        job = json.loads(line)
        asg, student = job["assignment"], job["student"]
        result = {"assignment": asg, "student": student}
        started = time.monotonic()
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                outcome = api.autograde(asg, student, force=True, create=True)
            result["nbgrader_ok"] = bool(outcome.get("success"))
            log = (outcome.get("log") or "") + (outcome.get("error") or "")
            result["nbgrader_log"] = log[-4000:]
            # a failed autograde leaves no autograded notebook: its old grades are not scores
            result["nbgrader_cells"] = (nbgrader_cells(course, asg, student, spec.NOTEBOOK)
                                        if result["nbgrader_ok"] else None)
        except Exception:  # noqa: BLE001 - one student's failure never stops the batch
            result["nbgrader_ok"] = False
            result["nbgrader_log"] = traceback.format_exc()[-4000:]
            result["nbgrader_cells"] = None
        result["nbgrader_seconds"] = round(time.monotonic() - started, 2)
        if job.get("crosscheck", True):
            try:
                submitted = course / "submitted" / student / asg / f"{spec.NOTEBOOK}.ipynb"
                notebook = json.loads(submitted.read_text(encoding="utf-8"))
                result["crosscheck"] = crosscheck.check_notebook(notebook, prepared)
            except Exception:  # noqa: BLE001
                result["crosscheck"] = {"status": "error", "score": 0, "cells": {},
                                        "messages": {"*": traceback.format_exc()[-1000:]}}
        result["seconds"] = round(time.monotonic() - started, 2)
        out.write(MARKER + json.dumps(result, default=str) + "\n")
        out.flush()


if __name__ == "__main__":
    run(Path(sys.argv[1]).resolve())
