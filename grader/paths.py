"""Where the kit lives, and loading the assignment's spec from it."""
from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ASSIGNMENT_SOURCES = REPO / "assignments" / "source"


def load_spec():
    """The assignment spec module (``assignments/gradcam/spec.py``)."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from assignments.gradcam import spec
    return spec


def load_checks():
    """The graded checks module (``assignments/gradcam/graded_checks.py``)."""
    return load_spec().graded_checks
