"""The out-of-process cross-check: extraction, the sandboxed child, comparison."""
from __future__ import annotations

import pytest

from conftest import REPO, needs_bwrap
from grader import crosscheck
from variants import EXPECTED_FAILS, VARIANTS


def _notebook(source: str) -> dict:
    return {"cells": [{"cell_type": "markdown", "metadata": {}, "source": "x"},
                      {"cell_type": "code", "metadata": {"nbgrader": {"grade_id": "compute_gradcam"}},
                       "source": source}]}


def test_filter_keeps_definitions_and_drops_everything_else():
    source = VARIANTS["x_blank"] + "\n%matplotlib inline\nEPS = 1e-8\nnp.allclose = None\nfor i in range(3):\n    pass\n"
    code, dropped = crosscheck.filter_source(source)
    assert "def compute_gradcam" in code and "import numpy as np" in code and "EPS = 1e-08" in code
    assert "input_transformers" not in code and "allclose" not in code and "for i" not in code
    assert any("input_transformers" in d for d in dropped)


def test_answer_cell_is_found_by_grade_id():
    assert crosscheck.answer_cell(_notebook("def compute_gradcam(): pass")) == "def compute_gradcam(): pass"
    assert crosscheck.answer_cell({"cells": []}) is None


@pytest.mark.parametrize("name", ["c_reference", "c_tf_function", "m_hw_swap", "m_ignore_class", "x_blank",
                                  "x_delegate_alias", "x_os_exit"])
def test_crosscheck_scores(name, prepared, spec):
    result = crosscheck.check_notebook(_notebook(VARIANTS[name]), prepared, timeout=120)
    fails = EXPECTED_FAILS.get(name, set(spec.TEST_CELLS))      # blank / os._exit answer zeros
    expected = sum(p for g, (p, _) in spec.TEST_CELLS.items() if g not in fails)
    assert result["score"] == expected, result["messages"]
    assert {g for g, p in result["cells"].items() if p == 0} == fails


def test_crosscheck_kills_a_hang(prepared):
    hang = VARIANTS["c_reference"] + "\n\ndef _hang(x=[0]):\n    pass\n" + \
        "\nclass _Slow:\n    import time\n    while True:\n        pass\n"
    result = crosscheck.check_notebook(_notebook(hang), prepared, timeout=20)
    assert result["status"] == "timeout" and result["score"] == 0
    assert result["limits"] == ["wall-time"]           # what it broke, for the review and the cost


def test_unmodified_stub_scores_zero(prepared):
    stub = ('def compute_gradcam(model, img_array, last_conv_layer_name="last_conv_layer", class_index=None):\n'
            '    # YOUR CODE HERE\n    raise NotImplementedError()\n')
    assert crosscheck.check_notebook(_notebook(stub), prepared, timeout=120)["score"] == 0


@needs_bwrap
def test_crosscheck_child_cannot_see_course_or_references(prepared, tmp_path):
    secret = tmp_path / "gradebook.db"
    secret.write_text("hidden tests")
    assert (REPO / "assignments").is_dir()          # this checkout's, wherever it lives
    probe = VARIANTS["c_reference"] + f'''
import os as _os
_seen = [p for p in ({str(secret)!r}, {str(prepared / "references.npz")!r}, {str(REPO / "assignments")!r})
         if _os.path.exists(p)]
if _seen or "NBGRADER_EXECUTION" in _os.environ:
    _os._exit(5)
'''
    # the probe runs at class-definition time, which the filter keeps; an exception there would only be
    # reported (compute_gradcam is defined already), so the probe ends the child instead
    probe = probe.replace("\nimport os as _os", "\nclass _Probe:\n    import os as _os").replace(
        "\n_seen =", "\n    _seen =").replace("\nif _seen", "\n    if _seen").replace(
        "\n    _os._exit", "\n        _os._exit")
    result = crosscheck.check_notebook(_notebook(probe), prepared, timeout=120, use_sandbox=True)
    assert result["status"] == "ok" and result["score"] == 10, result["messages"]


def test_crosscheck_kills_a_hang_inside_tensorflow(prepared):
    """A loop in TensorFlow's C++ runtime ignores SIGINT; the child is killed (SIGKILL to its group)."""
    hang = '''
import tensorflow as tf


@tf.function
def _spin():
    i = tf.constant(0)
    while tf.constant(True):
        i += 1
    return i


def compute_gradcam(model, img_array, last_conv_layer_name="last_conv_layer", class_index=None):
    return _spin()
'''
    result = crosscheck.check_notebook(_notebook(hang), prepared, timeout=25)
    assert result["status"] == "timeout" and result["score"] == 0


def test_a_crashing_child_reports_without_tensorflow_noise(prepared):
    """The child's log starts with TensorFlow's absl start-up lines; the student's message must not."""
    from variants import OUTCOMES
    result = crosscheck.check_notebook(_notebook(OUTCOMES["x_crosscheck_crash"]), prepared, timeout=120)
    assert result["status"] == "exit-3" and result["score"] == 0
    for message in result["messages"].values():
        assert message.startswith("[model=") and "exit-3" in message
        assert not any(noise in message for noise in ("I0000", "oneDNN", "cpu_feature_guard", "absl")), message


@pytest.mark.parametrize("use_sandbox", [pytest.param(True, marks=needs_bwrap), False])
def test_crosscheck_child_runs_with_the_explorer_off(prepared, monkeypatch, use_sandbox):
    """Step 4's explore() call must never start a server while grading, sandboxed or not."""
    monkeypatch.delenv("EXERCISE_LOGIC_EXPLORE", raising=False)
    probe = VARIANTS["c_reference"] + '''
class _Probe:
    import os as _os
    if _os.environ.get("EXERCISE_LOGIC_EXPLORE") != "off":
        _os._exit(5)
'''
    result = crosscheck.check_notebook(_notebook(probe), prepared, timeout=120, use_sandbox=use_sandbox)
    assert result["status"] == "ok" and result["score"] == 10, result["messages"]
