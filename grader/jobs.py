"""The values that travel between the instructor's process and the grading workers.

A :class:`Job` is one submission still to grade. It is graded in up to two
:class:`Stage`\\ s, each one task on a worker: nbgrader's run of the notebook,
then the cross-check. A :class:`Task` carries everything a worker needs (the
submission itself: workers share no file system with the instructor), and a
task returns an :class:`NbgraderPart` or a :class:`CrosscheckPart`, which the
instructor's process merges into the submission's saved result
(``grader.results``). Each outcome has one constructor here: a task that ran
out of time, a worker that died, a cross-check that could not run.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field

from .paths import load_spec


class Stage(str, enum.Enum):
    NBGRADER = "nbgrader"
    CROSSCHECK = "crosscheck"


@dataclass(frozen=True)
class Job:
    """One submission still to grade, and which of its stages to run.

    ``run_nbgrader`` is False when a saved result already holds nbgrader's part
    of this very file (only the cross-check is missing).
    """
    assignment: str
    student: str
    sha256: str
    run_nbgrader: bool = True
    run_crosscheck: bool = True

    @property
    def key(self) -> tuple[str, str]:
        return self.assignment, self.student

    def stages(self) -> list[Stage]:
        return ([Stage.NBGRADER] if self.run_nbgrader else []) + ([Stage.CROSSCHECK] if self.run_crosscheck else [])


@dataclass(frozen=True)
class Task:
    """One stage of one job, as sent to a worker: the submission's files travel with it.

    ``files`` maps a name in the submission folder (``gradcam.ipynb``, maybe
    ``timestamp.txt``) to its bytes.
    """
    job: Job
    stage: Stage
    files: dict[str, bytes]


@dataclass
class NbgraderPart:
    """nbgrader's verdict on one notebook (the ``nbgrader_*`` keys of a result).

    ``autograded``: the autograded notebook (JSON text) for the instructor's
    course folder and gradebook, None when nbgrader did not finish it.
    """
    status: str
    ok: bool
    cells: dict | None
    log: str
    seconds: float
    limits: list = field(default_factory=list)
    autograded: str | None = None

    @classmethod
    def failed(cls, status: str, log: str, seconds: float, limits=()) -> "NbgraderPart":
        """The part of a notebook whose grading process did not answer (timed out, died)."""
        return cls(status=status, ok=False, cells=None, log=log, seconds=round(seconds, 2), limits=list(limits))

    @classmethod
    def timed_out(cls, limit: dict, seconds: float) -> "NbgraderPart":
        return cls.failed("timeout", limit["reason"], seconds, [limit])

    @classmethod
    def worker_died(cls, seconds: float, what: str = "the grading process died") -> "NbgraderPart":
        return cls.failed("worker-died", what, seconds)

    def result_fields(self) -> dict:
        return {"status": self.status, "nbgrader_ok": self.ok, "nbgrader_cells": self.cells,
                "nbgrader_log": self.log, "nbgrader_seconds": self.seconds}


@dataclass
class CrosscheckPart:
    """The cross-check of one notebook (``grader.crosscheck.check_notebook``'s dict).

    ``maps``: the feedback maps file the check saved (its name is ``check["maps"]``).
    """
    check: dict
    limits: list = field(default_factory=list)
    maps: bytes | None = None

    @classmethod
    def failed(cls, message: str) -> "CrosscheckPart":
        """A cross-check that produced no scores: every test cell scores 0, with ``message``."""
        return cls(check=crosscheck_failure(message))


def crosscheck_failure(message: str, status: str = "error") -> dict:
    """The cross-check result of an answer that could not be checked (no points, one message)."""
    spec = load_spec()
    return {"status": status, "score": 0, "max_score": spec.AUTO_POINTS, "limits": [],
            "cells": {g: 0 for g in spec.TEST_CELLS}, "messages": {"*": message},
            "suspicious": [], "seconds": 0.0}
