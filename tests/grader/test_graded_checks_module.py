"""The graded checks are one module: imported by the cross-check, copied to its child, pasted into the notebooks."""
from __future__ import annotations

import ast
import inspect
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from assignments.gradcam import build_source, graded_checks
from conftest import REPO
from grader import crosscheck
from variants import VARIANTS

CHECKS = ("_gc_build", "_gc_image", "_gc_layer", "_gc_compare", "_gc_label", "_gc_reference",
          "_gc_hidden_check", "_gc_hidden_run")
MODULE_TEXT = Path(graded_checks.__file__).read_text(encoding="utf-8")


def _notebook(source: str) -> dict:
    return {"cells": [{"cell_type": "code", "metadata": {"nbgrader": {"grade_id": "compute_gradcam"}},
                       "source": source}]}


def _code(statements) -> list[str]:
    return [ast.dump(node) for node in statements]


def test_every_check_is_a_documented_function():
    for name in CHECKS:
        check = getattr(graded_checks, name)
        assert inspect.isfunction(check) and check.__module__ == graded_checks.__name__, name
        assert (check.__doc__ or "").strip(), f"{name} has no docstring"


def test_the_module_is_safe_to_paste_into_a_students_kernel():
    """Only _gc_/_GC_ names at the top, every import inside a function, nothing of the kit but exercise_logic."""
    tree = ast.parse(MODULE_TEXT)
    assert ast.get_docstring(tree)
    for node in tree.body[1:]:
        if isinstance(node, ast.FunctionDef):
            assert node.name.startswith("_gc_"), node.name
        else:
            assert isinstance(node, ast.Assign), ast.unparse(node)
            assert all(isinstance(t, ast.Name) and t.id.startswith("_GC_") for t in node.targets), ast.unparse(node)
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    assert not any(isinstance(node, ast.ImportFrom) for node in ast.walk(tree))
    assert imported == {"keras", "numpy", "exercise_logic", "importlib", "sys", "io", "logging", "warnings"}


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_the_notebooks_hidden_blocks_are_the_modules_code(lang, spec):
    """Each hidden block is the module's code, statement for statement, then its cell's own cases."""
    module = _code(ast.parse(MODULE_TEXT).body[1:])            # without the docstring
    notebook = json.loads(build_source.target(lang).read_text(encoding="utf-8"))
    seen = set()
    for cell in notebook["cells"]:
        grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
        if grade_id not in spec.TEST_CELLS:
            continue
        source = "".join(cell["source"])
        hidden = source.split("### BEGIN HIDDEN TESTS\n")[1].split("### END HIDDEN TESTS")[0]
        *definitions, call = ast.parse(hidden).body
        assert _code(definitions) == module, f"{grade_id}: run python -m assignments.gradcam.build_source"
        assert ast.unparse(call.value.func) == "_gc_hidden_check"
        assert [ast.unparse(a) for a in call.value.args[:1]] == ["compute_gradcam"]
        assert ast.literal_eval(call.value.args[1]) == spec.TEST_CELLS[grade_id][1]
        seen.add(grade_id)
    assert seen == set(spec.TEST_CELLS)


def test_editing_the_checks_without_rebuilding_is_caught(tmp_path):
    """The up-to-date check of the notebooks reads the module's file: an edit makes them stale."""
    copy = tmp_path / "kit"
    shutil.copytree(REPO / "assignments", copy / "assignments", ignore=shutil.ignore_patterns("__pycache__"))

    def check():
        return subprocess.run([sys.executable, "-m", "assignments.gradcam.build_source", "--check"], cwd=copy,
                              capture_output=True, text=True, timeout=120)

    assert check().returncode == 0
    edited = copy / "assignments" / "gradcam" / "graded_checks.py"
    edited.write_text(edited.read_text(encoding="utf-8").replace("_GC_ATOL = 2e-3", "_GC_ATOL = 3e-3"),
                      encoding="utf-8")
    stale = check()
    assert stale.returncode == 1 and str(copy / "assignments" / "source") in stale.stdout, stale.stdout


def _hidden_cell_fails(answer: str, spec, grade_id="test_gradcam_basic") -> bool:
    namespace = {"__name__": "__main__"}
    exec(compile(answer, "<answer>", "exec"), namespace)
    try:
        exec(compile(spec.hidden_block(grade_id), f"<{grade_id}>", "exec"), namespace)
    except AssertionError:
        return True
    return False


def _wrong_answer(rebind: str = "pass") -> str:
    """A listed mistake (nearest-neighbour upsampling: only the values are off) that runs ``rebind`` when called."""
    return VARIANTS["m_nearest"] + f'''
_mistaken = compute_gradcam


def compute_gradcam(model, img_array, last_conv_layer_name="last_conv_layer", class_index=None):
    {rebind}
    return _mistaken(model, img_array, last_conv_layer_name, class_index)
'''


def test_a_student_cannot_replace_the_checks_in_the_kernel(spec):
    """Neither names the student defined before the hidden cell nor ones its function rebinds while it runs."""
    assert _hidden_cell_fails(_wrong_answer(), spec)
    before = _wrong_answer() + (
        "\n_GC_ATOL = 1e9\n_gc_compare = _gc_label = _gc_hidden_run = _gc_hidden_check = lambda *a, **k: None\n")
    assert _hidden_cell_fails(before, spec)
    for rebind in ('globals()["_gc_compare"] = lambda *a, **k: None', 'globals()["_GC_ATOL"] = 1e9'):
        assert _hidden_cell_fails(_wrong_answer(rebind), spec), rebind
    assert not _hidden_cell_fails(VARIANTS["c_reference"], spec)


def test_the_cross_check_child_gets_the_module_file(prepared):
    assert (prepared / "graded_checks.py").read_bytes() == Path(graded_checks.__file__).read_bytes()


def test_the_cross_check_child_builds_its_cases_with_that_file(prepared, tmp_path, spec):
    """A child given a broken _gc_layer (always the last conv layer) fails exactly the first-layer cells."""
    broken = tmp_path / "prepared"
    shutil.copytree(prepared, broken)
    checks = broken / "graded_checks.py"
    checks.write_text(checks.read_text(encoding="utf-8") + '\n\ndef _gc_layer(model, layer):\n'
                      '    """Deliberately broken: always the last conv layer."""\n    return "last_conv_layer"\n',
                      encoding="utf-8")
    result = crosscheck.check_notebook(_notebook(VARIANTS["c_reference"]), broken, timeout=120)
    assert result["status"] == "ok"
    assert {g for g, points in result["cells"].items() if points == 0} == {"test_gradcam_layers",
                                                                          "test_gradcam_shapes"}


def test_the_cross_checks_comparison_is_the_modules(prepared, spec, monkeypatch):
    references = crosscheck.load_maps(prepared / "references.npz")
    run = {"outputs": references, "errors": {}}
    key = next(iter(references))
    assert crosscheck.compare(run, prepared)["score"] == spec.AUTO_POINTS
    assert not crosscheck.rejected(references[key], references[key])

    def broken(got, ref, label, atol=None):
        raise AssertionError(f"{label}: deliberately broken check")
    monkeypatch.setattr(graded_checks, "_gc_compare", broken)
    result = crosscheck.compare(run, prepared)
    assert result["score"] == 0 and all("deliberately broken" in m for m in result["messages"].values())
    assert crosscheck.rejected(references[key], references[key])


def test_a_folder_prepared_by_an_older_kit_is_prepared_again(prepared, tmp_path):
    """``autograde`` prepares again unless the folder has every file, made from this kit's checks."""
    from grader import crosscheck

    def copy():
        folder = tmp_path / f"copy{len(list(tmp_path.iterdir()))}"
        shutil.copytree(prepared, folder)
        return folder

    assert crosscheck.is_prepared(prepared)
    older = copy()  # the layout before the checks were a module: checks.py beside the data
    (older / "graded_checks.py").rename(older / "checks.py")
    assert not crosscheck.is_prepared(older)
    edited = copy()  # prepared with other checks (an upgrade changed graded_checks.py)
    (edited / "graded_checks.py").write_text((edited / "graded_checks.py").read_text() + "\n_GC_ATOL = 1.0\n")
    assert not crosscheck.is_prepared(edited)
    unfinished = copy()
    shutil.rmtree(unfinished / "models")
    assert not crosscheck.is_prepared(unfinished)
    assert not crosscheck.is_prepared(tmp_path / "absent")
