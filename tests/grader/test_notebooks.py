"""The source notebooks: up to date, well-formed for nbgrader, both languages graded alike."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from assignments.gradcam import build_source


def _load(lang):
    return json.loads(build_source.target(lang).read_text(encoding="utf-8"))


def _meta(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def test_committed_notebooks_are_up_to_date():
    assert build_source.main(["--check"]) == 0, "run: python -m assignments.gradcam.build_source"


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_structure(lang, spec):
    notebook = _load(lang)
    cells = {_meta(c).get("grade_id"): c for c in notebook["cells"] if _meta(c)}
    answer = cells[spec.SOLUTION_CELL]
    assert answer["cell_type"] == "code" and _meta(answer)["solution"] and not _meta(answer)["grade"]
    assert "### BEGIN SOLUTION" in "".join(answer["source"])
    assert _meta(cells[spec.SETUP_CELL])["locked"]
    total = 0
    for grade_id, (points, _) in spec.TEST_CELLS.items():
        meta = _meta(cells[grade_id])
        assert meta["grade"] and meta["locked"] and meta["points"] == points
        source = "".join(cells[grade_id]["source"])
        # every hidden block compares values against the reference
        assert "### BEGIN HIDDEN TESTS" in source and "_gc_hidden_check(compute_gradcam" in source
        assert "np.allclose" not in source.split("### BEGIN HIDDEN TESTS")[1]
        total += points
    assert total == spec.AUTO_POINTS == 10
    for grade_id, points in spec.MANUAL_CELLS.items():
        meta = _meta(cells[grade_id])
        assert cells[grade_id]["cell_type"] == "markdown" and meta["solution"] and meta["points"] == points


def test_both_languages_share_the_code(spec):
    """Every code cell is the same in both notebooks, but for the language the self-check speaks."""
    ja, en = _load("ja"), _load("en")
    code = [["".join(c["source"]).replace(f'lang="{lang}"', "lang=LANG") for c in nb["cells"]
             if c["cell_type"] == "code"] for lang, nb in (("ja", ja), ("en", en))]
    assert code[0] == code[1]
    assert sum("el.self_check(compute_gradcam, model, lang=LANG)" in source for source in code[0]) == 1
    assert any("二値分類" in "".join(c["source"]) for c in ja["cells"])   # Japanese prose
    assert ja["metadata"]["gradcam_assignment"]["lang"] == "ja"


def test_contract_states_the_score_and_the_steps():
    for lang, words in (("ja", ["ロジット", "class_index", "bilinear", "空間方向の平均", "最大値で割る"]),
                        ("en", ["logit", "class_index", "bilinear", "spatial mean", "divide $L$ by its maximum"])):
        text = "".join("".join(c["source"]) for c in _load(lang)["cells"] if c["cell_type"] == "markdown")
        for word in words:
            assert word in text, (lang, word)


def test_setup_cell_says_what_to_do_without_the_library(tmp_path, spec):
    """Outside the kit (e.g. Colab without KIT_SOURCE) the setup cell fails with instructions."""
    setup = next(c for c in _load("en")["cells"] if _meta(c).get("grade_id") == spec.SETUP_CELL)
    code = "import sys; sys.modules['exercise_logic'] = None\n" + "".join(setup["source"])
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode != 0
    assert "exercise_logic was not found" in done.stderr and "KIT_SOURCE" in done.stderr
    assert "見つかりません" in done.stderr


def test_setup_cell_finds_a_kit_checkout_above(tmp_path, spec):
    setup = next(c for c in _load("en")["cells"] if _meta(c).get("grade_id") == spec.SETUP_CELL)
    source = "".join(setup["source"]).split("el = _locate_exercise_logic()")[0]
    code = ("import sys, importlib.machinery\n"
            "sys.meta_path = [f for f in sys.meta_path if 'Editable' not in repr(f)]\n"
            + source + "\nmodule = _locate_exercise_logic()\nprint(module.__file__)")
    from grader.paths import REPO
    kit = tmp_path / "kit"
    (kit / "lecture").mkdir(parents=True)
    (kit / "exercise_logic").symlink_to(REPO / "exercise_logic")
    done = subprocess.run([sys.executable, "-c", code], cwd=kit / "lecture", capture_output=True,
                          text=True, timeout=120, env={"PATH": "/usr/bin:/bin", "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert str(kit) in done.stdout


def test_hidden_tests_use_only_the_librarys_public_names(spec):
    """The notebooks are handed out once a term: they must survive the library's internal moves."""
    import exercise_logic
    kernel = spec.checks_code()
    assert "library.compute_gradcam" in kernel and "exercise_logic.compute_gradcam" not in kernel
    assert ".explain." not in kernel and "library.explain" not in kernel
    assert "compute_gradcam" in exercise_logic.__all__
