"""Student submissions made from a release notebook (for the end-to-end tests and the bench)."""
from __future__ import annotations

import copy
import json
from pathlib import Path

from variants import LIMIT_BREAKERS, OUTCOMES, SNOOP, VARIANTS

ANSWER_CELL = "compute_gradcam"


def _cell(notebook: dict, grade_id: str) -> dict:
    for cell in notebook["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id:
            return cell
    raise KeyError(grade_id)


def make(release: dict, variant: str) -> dict:
    """The release notebook with the answer cell replaced (and manual answers filled in)."""
    notebook = copy.deepcopy(release)
    if variant == "unmodified":
        return notebook
    if variant == "snoop":
        _cell(notebook, ANSWER_CELL)["source"] = SNOOP
    elif variant == "edited_test":
        # a correct-looking zero answer plus a test cell replaced by a pass
        _cell(notebook, ANSWER_CELL)["source"] = VARIANTS["x_tamper_numpy"]
        for cell in notebook["cells"]:
            grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")
            if grade_id.startswith("test_"):
                cell["source"] = "print('all good')\n"
    else:
        _cell(notebook, ANSWER_CELL)["source"] = {**VARIANTS, **OUTCOMES, **LIMIT_BREAKERS}[variant]
    for grade_id in ("q1_where", "q2_plausible", "q3_clinic"):
        _cell(notebook, grade_id)["source"] = f"My answer to {grade_id}: the lungs."
    return notebook


def write(folder: Path, release_path: Path, variants: list[str], prefix: str = "") -> list[Path]:
    release = json.loads(Path(release_path).read_text(encoding="utf-8"))
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for variant in variants:
        path = folder / f"{prefix}{variant}.ipynb"
        path.write_text(json.dumps(make(release, variant), ensure_ascii=False), encoding="utf-8")
        paths.append(path)
    return paths


# -- what editors and students do to a notebook (grader.repair undoes it) -------
def strip_metadata(notebook: dict) -> dict:
    """VS Code / old Jupyter: no nbgrader metadata, no cell ids, nbformat 4.4."""
    damaged = copy.deepcopy(notebook)
    damaged["nbformat_minor"] = 4
    damaged["metadata"].pop("gradcam_assignment", None)
    for cell in damaged["cells"]:
        cell.pop("id", None)
        cell["metadata"] = {}
    return damaged


def duplicate_answer(notebook: dict) -> dict:
    """The answer cell copied (metadata and all): the stub stays, the answer is written in the copy."""
    damaged = copy.deepcopy(notebook)
    index = next(i for i, c in enumerate(damaged["cells"]) if c["metadata"].get("nbgrader", {}).get(
        "grade_id") == ANSWER_CELL)
    stub = copy.deepcopy(damaged["cells"][index])
    stub["source"] = ('def compute_gradcam(model, img_array, last_conv_layer_name="last_conv_layer", '
                      'class_index=None):\n    raise NotImplementedError()\n')
    stub["id"] = "copy-of-answer"
    damaged["cells"].insert(index, stub)
    return damaged


def delete_tests(notebook: dict, grade_ids=("test_gradcam_known", "test_gradcam_layers")) -> dict:
    damaged = copy.deepcopy(notebook)
    damaged["cells"] = [c for c in damaged["cells"]
                        if c["metadata"].get("nbgrader", {}).get("grade_id") not in grade_ids]
    return damaged


def nbformat3(notebook: dict) -> dict:
    """The notebook saved in nbformat 3 (cells in a worksheet, no ids)."""
    import nbformat
    v4 = nbformat.reads(json.dumps(notebook), as_version=4)          # sources as strings
    return json.loads(nbformat.writes(nbformat.v4.downgrade(v4), version=3))


EDITED = {"stripped": strip_metadata, "duplicated": duplicate_answer, "deleted_tests": delete_tests,
          "nbformat3": nbformat3}
