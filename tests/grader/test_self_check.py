"""The notebook's self-check (exercise_logic.self_check): in-process on the lecture's single-sigmoid model,
and in a real kernel running the release notebook's cells."""
from __future__ import annotations

import json

import matplotlib
import pytest

from variants import VARIANTS

matplotlib.use("Agg")


def _function(variant: str):
    namespace = {}
    exec(compile(VARIANTS[variant], variant, "exec"), namespace)
    return namespace["compute_gradcam"]


@pytest.fixture(scope="module")
def lecture_model():
    """The lecture's CNN with one sigmoid output (untrained: the self-check needs no training)."""
    import exercise_logic as el
    import keras
    keras.utils.set_random_seed(7)
    return el.build_model((28, 28, 3), 1)


@pytest.fixture(autouse=True)
def checking_allowed(monkeypatch):
    monkeypatch.delenv("EXERCISE_LOGIC_SELF_CHECK", raising=False)
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)


@pytest.mark.parametrize("variant", ["c_reference", "c_numpy", "c_probability"])
def test_correct_answers_are_all_well(variant, lecture_model, capsys):
    import exercise_logic as el
    result = el.self_check(_function(variant), lecture_model, lang="en")
    out = capsys.readouterr().out
    assert result.passed and result.mistakes == [] and len(result.cases) == 8, out
    assert "✓ All is well" in out and "✗" not in out


def test_no_relu_is_named_with_its_hint_and_pictures(lecture_model, capsys):
    import exercise_logic as el
    import matplotlib.pyplot as plt
    before = set(plt.get_fignums())
    plt.ion()   # keep the figure open to look at it (as in a notebook, where it is shown inline)
    try:
        result = el.self_check(_function("m_no_relu"), lecture_model, lang="en")
    finally:
        plt.ioff()
    out = capsys.readouterr().out
    assert not result.passed and result.mistakes == ["no_relu"], out
    assert "Likely mistake: ReLU missing" in out and "step 4, ReLU" in out
    assert "negative values (blue" in out
    (figure,) = [plt.figure(n) for n in set(plt.get_fignums()) - before]
    assert 2 <= len([ax for ax in figure.axes if ax.images]) <= 2 * 3   # yours and the reference, per case
    plt.close(figure)


def test_japanese(lecture_model, capsys):
    import exercise_logic as el
    el.self_check(_function("m_hw_swap"), lecture_model, lang="ja", show=True)
    out = capsys.readouterr().out
    assert "考えられる間違い: 高さと幅の取り違え" in out and "手順 6「拡大」" in out
    assert "Likely mistake" not in out
    el.self_check(_function("c_reference"), lang="ja")
    assert "✓ すべてのケースで参照と一致しました" in capsys.readouterr().out


def test_a_function_that_raises_is_a_failed_case_not_a_crash(capsys):
    import exercise_logic as el

    def broken(model, img_array, last_conv_layer_name="last_conv_layer", class_index=None):
        raise NotImplementedError()
    result = el.self_check(broken, lang="en")
    assert not result.passed and all(case.error == "NotImplementedError: " for case in result.cases)
    assert "error: NotImplementedError" in capsys.readouterr().out


def test_grading_turns_it_into_a_note(monkeypatch, capsys):
    import exercise_logic as el
    monkeypatch.setenv("EXERCISE_LOGIC_SELF_CHECK", "off")
    calls = []
    assert el.self_check(lambda *args: calls.append(args), lang="en") is None
    assert calls == [] and "EXERCISE_LOGIC_SELF_CHECK=off" in capsys.readouterr().out
    monkeypatch.delenv("EXERCISE_LOGIC_SELF_CHECK")
    monkeypatch.setenv("NBGRADER_EXECUTION", "validate")
    assert el.self_check(lambda *args: calls.append(args)) is None and calls == []


def test_bad_arguments_say_what_to_pass():
    import exercise_logic as el
    with pytest.raises(ValueError, match="lang must be 'ja', 'en'"):
        el.self_check(_function("c_reference"), lang="fr")
    with pytest.raises(TypeError, match="must be your function"):
        el.self_check("compute_gradcam")


def test_no_self_check_case_is_a_hidden_test_case(spec):
    """Its models have seeds of their own and its images are X-rays: it reveals no hidden test."""
    import importlib
    module = importlib.import_module("exercise_logic.self_check")   # the package's self_check is the function
    hidden_seeds = {seed for *_, seed in spec.MODELS.values()}
    assert not hidden_seeds & {seed for *_, seed in module.MODELS.values()}
    assert all(isinstance(case.xray_seed, int) for case in module.CASES + module.OWN_CASES)
    assert "_gc_" not in open(module.__file__).read()


# -- in a real kernel: the release notebook's cells ---------------------------------------------
STAND_IN = """# stands in for Steps 1-2 (loading data and training): the lecture's CNN, untrained
keras.utils.set_random_seed(7)
model = el.build_model((28, 28, 3), 1)"""


def test_the_release_notebook_self_check_names_the_mistake_then_all_is_well(released_course, spec, tmp_path):
    """nbclient runs the release notebook (its own setup, answer and self-check cells): a buggy answer,
    then a correct one, in one kernel."""
    import nbformat
    from nbclient import NotebookClient
    course, _ = released_course
    release = course / "release" / spec.ASSIGNMENTS["en"] / f"{spec.NOTEBOOK}.ipynb"
    cells = nbformat.read(release, as_version=4).cells
    grade_id = lambda cell: cell.metadata.get("nbgrader", {}).get("grade_id")  # noqa: E731
    kit = next(cell for cell in cells if "KIT_SOURCE = " in cell.source)
    setup = next(cell for cell in cells if grade_id(cell) == spec.SETUP_CELL)
    answer = next(cell for cell in cells if grade_id(cell) == spec.SOLUTION_CELL)
    check = next(cell for cell in cells if "el.self_check(" in cell.source)
    assert "raise NotImplementedError()" in answer.source      # the student's stub
    notebook = nbformat.v4.new_notebook(cells=[
        kit, setup, nbformat.v4.new_code_cell(STAND_IN),
        nbformat.v4.new_code_cell(VARIANTS["m_no_relu"]), nbformat.from_dict(json.loads(json.dumps(check))),
        nbformat.v4.new_code_cell(VARIANTS["c_reference"]), nbformat.from_dict(json.loads(json.dumps(check)))])
    # the kernel inherits this process's environment: a student's, not a grader's (checking_allowed)
    NotebookClient(notebook, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    text = ["".join(o.get("text", "") for o in cell.outputs) for cell in notebook.cells]
    buggy, correct = text[4], text[6]
    assert "Likely mistake: ReLU missing" in buggy and "negative values (blue" in buggy, buggy
    assert any("image/png" in o.get("data", {}) for o in notebook.cells[4].outputs)   # the maps, inline
    assert "✓ All is well" in correct and "✗" not in correct, correct
    assert not [o for cell in notebook.cells for o in cell.outputs if o.output_type == "error"]
