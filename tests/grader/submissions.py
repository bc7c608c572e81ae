"""Student submissions made from a release notebook (for the end-to-end tests and the bench)."""
from __future__ import annotations

import copy
import json
from pathlib import Path

from variants import SNOOP, VARIANTS

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
        _cell(notebook, ANSWER_CELL)["source"] = VARIANTS[variant]
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
