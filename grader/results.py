"""Grading results: one file per submission, written atomically the moment it is known.

``COURSE/.grader/results/<assignment>/<student>.json`` holds one dict:

``assignment``, ``student``
    which submission.
``status``
    what happened to the nbgrader run; one of :data:`STATUSES`.
``nbgrader_ok``, ``nbgrader_cells``, ``nbgrader_log``, ``nbgrader_seconds``
    nbgrader's verdict: per-test-cell points (``None`` when it did not grade the notebook).
``crosscheck``
    the authoritative out-of-process check (a dict, see ``grader.crosscheck.check_notebook``),
    ``None`` until it has run.
``limits``
    the limits the submission broke, each ``{"limit", "where", "reason", "cells"}``
    (``grader.limits``: resources, wall time, cell time); empty when none.
``repairs``
    what ``collect`` repaired in the notebook before grading (``grader.repair``); empty when none.
``submission_sha256``, ``graded_at``, ``run``, ``seconds``
    the graded file's hash (a re-collected file is graded again), when and by which run.

The nbgrader and cross-check parts are made from what the workers return,
``grader.jobs.NbgraderPart`` and ``grader.jobs.CrosscheckPart``, by
``grader.autograde.GradingRun``, the one place that writes these files.

A run that is interrupted (Ctrl-C, a killed process, a reboot) loses at most the
submissions being graded at that moment; the next run grades only what has no
complete result (:func:`is_complete`).
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from exercise_logic.atomic_files import atomic_write_text

from .course import state_dir

#: Every value of a result's ``status``, with what it means for the instructor.
STATUSES = {
    "graded": "nbgrader ran the notebook to the end",
    "timeout": "the notebook wall-time limit ran out: its grading process and kernel were stopped",
    "dead-kernel": "the kernel died (os._exit, a crash, or stopped for breaking a limit): nbgrader did not grade it",
    "worker-died": "the grading process died (killed from outside, e.g. by the OOM killer), or every dask worker "
                   "that graded it did",
    "error": "nbgrader failed on this notebook (see nbgrader_log)",
}
LEGACY = "results.json"             # one file for every result, written by earlier versions


def results_dir(course: Path) -> Path:
    return state_dir(course) / "results"


def result_path(course: Path, assignment: str, student: str) -> Path:
    return results_dir(course) / assignment / f"{student}.json"


def save(course: Path, result: dict) -> Path:
    """Write one submission's result atomically (a crash leaves the old file or the new one)."""
    if result.get("status") not in STATUSES:
        raise ValueError(f"unknown status {result.get('status')!r}; expected one of {sorted(STATUSES)}")
    path = result_path(course, result["assignment"], result["student"])
    return atomic_write_text(path, json.dumps(result, indent=1, default=str, ensure_ascii=False))


def load(course: Path, assignment: str, student: str) -> dict | None:
    """One submission's result, or None if it has none (or an unreadable one, which is regraded)."""
    path = result_path(course, assignment, student)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None


def load_results(course: Path) -> list[dict]:
    """Every saved result, one dict per (assignment, student), sorted by student then assignment."""
    found = {}
    legacy = state_dir(course) / LEGACY
    if legacy.exists():
        found = {(r["assignment"], r["student"]): r for r in json.loads(legacy.read_text(encoding="utf-8"))}
    for path in sorted(results_dir(course).glob("*/*.json")):
        try:
            result = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            continue            # a torn file cannot happen (atomic writes), a hand-edited one can
        found[(result["assignment"], result["student"])] = result
    return sorted(found.values(), key=lambda r: (r["student"], r["assignment"]))


def repairs_path(course: Path, assignment: str, student: str) -> Path:
    return state_dir(course) / "repairs" / assignment / f"{student}.json"


def save_repairs(course: Path, assignment: str, student: str, repairs: list[str]) -> None:
    """Record what ``collect`` repaired in a submission (none: forget an earlier record)."""
    path = repairs_path(course, assignment, student)
    if repairs:
        atomic_write_text(path, json.dumps(repairs, indent=1, ensure_ascii=False))
    elif path.exists():
        path.unlink()


def repairs(course: Path, assignment: str, student: str) -> list[str]:
    path = repairs_path(course, assignment, student)
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else []


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def is_complete(result: dict | None, submission_sha256: str, crosscheck: bool) -> bool:
    """Whether a saved result stands for the current file (else the submission is graded again)."""
    return (result is not None and result.get("submission_sha256") == submission_sha256
            and (result.get("crosscheck") is not None or not crosscheck))


def review_reasons(result: dict) -> list[str]:
    """Why a result needs the instructor's eye: its status, each broken limit, its repairs (all of them)."""
    status = result.get("status", "graded")
    reasons = [] if status == "graded" else [f"{status}: {STATUSES.get(status, '?')}"]
    reasons += [limit["reason"] for limit in result.get("limits") or []]
    if result.get("repairs"):
        reasons.append("repaired notebook: " + "; ".join(result["repairs"]))
    return reasons
