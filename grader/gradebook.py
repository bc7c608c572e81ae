"""The instructor's gradebook and autograded folder: written only here, from what the workers returned.

Workers run nbgrader on private copies of the course (``grader.schedule``);
the autograded notebook they return is written into ``COURSE/autograded/`` and
its scores into ``gradebook.db`` by nbgrader's own ``SaveAutoGrades``, as
``nbgrader autograde`` does, so formgrader, manual grading and
``generate_feedback`` see what they always saw.
"""
from __future__ import annotations

import shutil
import warnings
from pathlib import Path

from exercise_logic.atomic_files import atomic_write_text

from .paths import load_spec


def save_autograded(course: Path, assignment: str, student: str, notebook: str | None) -> None:
    """Record one autograded notebook (JSON text); None: nbgrader did not finish it, so no scores stand."""
    folder = Path(course) / "autograded" / student / assignment
    if notebook is None:
        shutil.rmtree(folder, ignore_errors=True)
        return
    import nbformat
    from nbgrader.api import Gradebook
    from nbgrader.preprocessors import SaveAutoGrades
    name = load_spec().NOTEBOOK
    atomic_write_text(folder / f"{name}.ipynb", notebook)
    db_url = f"sqlite:///{Path(course) / 'gradebook.db'}"
    resources = {"nbgrader": {"db_url": db_url, "assignment": assignment, "notebook": name, "student": student}}
    with warnings.catch_warnings():
        # nbgrader's regrade path (update_or_create_submission) makes SQLAlchemy warn about its own
        # autoflush on every run; nbgrader autograde prints the same, into its log
        warnings.filterwarnings("ignore", message="Object of type .* not in session")
        with Gradebook(db_url) as gradebook:
            gradebook.update_or_create_student(student)
            gradebook.update_or_create_submission(assignment, student)
        SaveAutoGrades().preprocess(nbformat.reads(notebook, as_version=nbformat.NO_CONVERT), resources)
