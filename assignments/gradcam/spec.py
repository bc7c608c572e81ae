"""What the Grad-CAM assignment grades: its cells, cases and points.

How one case is built and judged is ``graded_checks.py``, a plain module: the
hidden test blocks of the notebooks carry its code (``hidden_block``) and the
out-of-process cross-check (``grader/crosscheck.py``) imports it, so both judge
exactly the same cases with exactly the same comparison.
"""
from __future__ import annotations

import ast
from pathlib import Path

from . import graded_checks

ASSIGNMENTS = {"ja": "gradcam_ja", "en": "gradcam_en"}
NOTEBOOK = "gradcam"                      # the notebook's file stem in every assignment
SOLUTION_CELL = "compute_gradcam"         # grade_id of the graded answer cell
SETUP_CELL = "setup"                      # grade_id of the locked setup cell (longer time limit)
MANUAL_CELLS = {"q1_where": 2, "q2_plausible": 2, "q3_clinic": 2}

# The models of the hidden and of the visible tests, and the comparison's tolerance.
MODELS = graded_checks._GC_HIDDEN_MODELS
VISIBLE_MODELS = graded_checks._GC_VISIBLE_MODELS
ATOL = graded_checks._GC_ATOL

# Test cells: grade_id -> (points, cases). A case is
# (model, image, layer, class_index): image is a seed for uniform noise or
# "zeros"; layer is "last" (last_conv_layer) or "first" (the first conv);
# "known" is the hand-made model of the visible test, whose answer is known.
TEST_CELLS = {
    "test_gradcam_basic": (2, [
        ("bin_a", 1, "last", None),
        ("bin_b", 2, "last", None),
    ]),
    "test_gradcam_known": (1, [
        ("known", "ramp", "last", 1),
        ("known", "ramp", "last", 0),
        ("bin_a", "zeros", "last", None),
        ("bin_b", 3, "last", 1),
    ]),
    "test_gradcam_classes": (3, [
        ("bin_a", 4, "last", 0),
        ("bin_a", 4, "last", 1),
        ("multi", 5, "last", 0),
        ("multi", 5, "last", 1),
        ("multi", 5, "last", 2),
        ("multi", 5, "last", 3),
        ("multi", 6, "last", None),
    ]),
    "test_gradcam_layers": (2, [
        ("bin_b", 7, "first", 1),
        ("multi", 8, "first", 2),
        ("bin_a", 9, "last", 0),
    ]),
    "test_gradcam_shapes": (2, [
        ("bin_wide", 10, "last", None),
        ("bin_wide", 10, "last", 0),
        ("multi_tall", 11, "last", 1),
        ("multi_tall", 12, "first", None),
    ]),
}
AUTO_POINTS = sum(points for points, _ in TEST_CELLS.values())

# The visible tests' cases, per test cell. Feedback pages show a student's maps
# on these cases only: hidden cases stay hidden.
FEEDBACK_CASES = {
    "test_gradcam_basic": [("visible_basic", 0, "last", None)],
    "test_gradcam_known": [("known", "ramp", "last", 1), ("known", "ramp", "last", 0)],
    "test_gradcam_classes": [("visible_classes", 1, "last", c) for c in (None, 0, 1, 2, 3)],
    "test_gradcam_layers": [("visible_layers", 2, "first", None)],
    "test_gradcam_shapes": [("visible_shapes", 3, "last", None)],
}
# More cases on the visible tests' models, never drawn: both classes of the
# binary model on one image, an all-zero image and the other class of another
# layer give the diagnosis (and a notebook's self-check, which sees no hidden
# case) properties to reason from: the same map for both classes, NaN where
# the map is all zero, another layer's map.
DIAGNOSIS_CASES = [("visible_basic", 0, "last", 0), ("visible_basic", 0, "last", 1),
                   ("visible_basic", "zeros", "last", None), ("visible_layers", 2, "first", 0)]

# -- Feedback X-ray cases ---------------------------------------------------------
# Pictures a student recognises: per test cell, the visible test's model on a
# synthetic chest X-ray with a lesion (image "xray-<seed>", made at release by
# exercise_logic.data.synthetic.lesion_xray(height, width, seed)). They are no
# hidden test's input; the page draws the student's map on them with the lesion
# outlined, and the noise-image pair of FEEDBACK_CASES only where the X-ray
# shows no difference. The known test's X-ray case explains "normal" (class 0)
# on the basic test's X-ray, so the diagnosis sees both classes of one image.
XRAY_PREFIX = "xray-"
XRAY_CASES = {
    "test_gradcam_basic": [("visible_basic", "xray-1", "last", None)],
    "test_gradcam_known": [("visible_basic", "xray-1", "last", 0)],
    "test_gradcam_classes": [("visible_classes", "xray-3", "last", 2)],
    "test_gradcam_layers": [("visible_layers", "xray-4", "first", None)],
    "test_gradcam_shapes": [("visible_shapes", "xray-5", "last", None)],
}


def is_xray(image) -> bool:
    return isinstance(image, str) and image.startswith(XRAY_PREFIX)


def xray_cases() -> list[tuple]:
    """Every distinct feedback X-ray case, in a fixed order."""
    return _distinct(XRAY_CASES.values())
# -- end of the feedback X-ray cases -----------------------------------------------


def hidden_block(grade_id: str) -> str:
    """The text of one test cell's hidden block: ``graded_checks.py``'s code, then the cell's check."""
    _, cases = TEST_CELLS[grade_id]
    return ("### BEGIN HIDDEN TESTS\n" + checks_code() + "\n\n"
            f"_gc_hidden_check(compute_gradcam, {cases!r})\n"
            "### END HIDDEN TESTS\n")


def checks_code() -> str:
    """``graded_checks.py`` as the hidden blocks carry it: the file without its docstring."""
    text = Path(graded_checks.__file__).read_text(encoding="utf-8")
    docstring = ast.parse(text).body[0]
    return "\n".join(text.splitlines()[docstring.end_lineno:]).strip()


def all_cases() -> list[tuple]:
    """Every distinct hidden case, in a fixed order."""
    return _distinct(cases for _, cases in TEST_CELLS.values())


def feedback_cases() -> list[tuple]:
    """Every distinct feedback (visible-test) case, in a fixed order."""
    return _distinct(FEEDBACK_CASES.values())


def visible_cases() -> list[tuple]:
    """The feedback cases and the diagnosis's extra ones: every case on the visible tests' models."""
    return _distinct([feedback_cases(), DIAGNOSIS_CASES])


def _distinct(groups) -> list[tuple]:
    seen = []
    for cases in groups:
        for case in cases:
            if case not in seen:
                seen.append(case)
    return seen
