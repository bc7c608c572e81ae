"""Repair notebooks that editors changed, so that nbgrader and the cross-check grade them like any other.

Some editors drop cell metadata and ids (VS Code, Colab, older Jupyter; see
nbgrader #424 and #1398), and students copy or delete cells. nbgrader then
fails or scores 0: it finds its cells by the ``nbgrader`` metadata
(``grade_id``) and refuses duplicate ids. :func:`repair` matches a
submission's cells to the release notebook by content and position, in
steps that each do one thing (:data:`STEPS`, run in order like nbgrader's
preprocessors):

* the answer cell is the **last** code cell that defines ``compute_gradcam``;
  other cells carrying the answer's ``grade_id`` become ordinary cells;
* locked cells (set-up, tests, questions) are found by their text (exact,
  else the most similar cell of the same type in the right place);
* a written answer is the markdown cell right after its question;
* a deleted locked cell is put back from the release (nbgrader then restores
  its hidden tests from the gradebook, as for any test cell);
* an older nbformat (3, or 4 before 4.5) is upgraded and cell ids restored.

It returns what it changed as short sentences; ``collect`` records them so the
instructor sees them in the review column.
"""
from __future__ import annotations

import ast
import copy
import difflib
import functools
import json
import re
import uuid
from typing import Protocol

SIMILAR = 0.8                  # a locked cell edited this little is still that cell


def source_of(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def grade_id(cell: dict) -> str | None:
    return (cell.get("metadata") or {}).get("nbgrader", {}).get("grade_id")


@functools.lru_cache(maxsize=1024)             # each step that looks for the answer asks again
def defines(source: str, name: str) -> bool:
    """Whether code defines a top-level function ``name`` (an unparsable cell: by its text)."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
        tree = ast.parse(TransformerManager().transform_cell(source))
    except (SyntaxError, ValueError, ImportError):
        return re.search(rf"^def\s+{name}\s*\(", source, re.MULTILINE) is not None
    return any(isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name
               for node in tree.body)


def upgrade(notebook: dict) -> tuple[dict, list[str]]:
    """The notebook as nbformat 4.5 (cells with ids may still lack them: see :func:`repair`)."""
    version = (notebook.get("nbformat"), notebook.get("nbformat_minor", 0))
    if version[0] == 4 and version[1] >= 5:
        return notebook, []
    import nbformat
    converted = json.loads(json.dumps(nbformat.reads(json.dumps(notebook), as_version=4)))
    converted["nbformat_minor"] = 5
    return converted, [f"saved as nbformat {version[0]}.{version[1]}: upgraded to 4.5"]


def similarity(a: str, b: str) -> float:
    matcher = difflib.SequenceMatcher(None, a.strip(), b.strip(), autojunk=False)
    return matcher.ratio() if matcher.quick_ratio() >= SIMILAR else 0.0


def needs_repair(notebook: dict, release: dict) -> bool:
    expected = [grade_id(cell) for cell in release["cells"] if grade_id(cell)]
    found = [grade_id(cell) for cell in notebook.get("cells", []) if grade_id(cell)]
    ids = [cell.get("id") for cell in notebook.get("cells", [])]
    return (sorted(found) != sorted(expected) or None in ids or len(set(ids)) != len(ids)
            or (notebook.get("nbformat"), notebook.get("nbformat_minor", 0)) < (4, 5))


# -- the steps ---------------------------------------------------------------
# No step keeps a map of positions: each reads the notebook as the steps
# before it left it. A cell is matched to the release once it carries a grade_id.
Change = tuple[str, str]       # (kind, what): see Step


class Step(Protocol):
    def __call__(self, notebook: dict, release: dict, answer: str) -> list[Change]:
        """Change ``notebook`` in place and say what changed.

        Parameters
        ----------
        notebook : dict
            The submission's copy, as the steps before this one left it.
        release : dict
            The release notebook (nbformat 4.5, with nbgrader metadata and cell ids).
        answer : str
            ``grade_id`` of the answer cell, also the name of the function it defines.

        Returns
        -------
        list of (str, str)
            ``("note", sentence)``, ``("restored" | "demoted" | "deleted", grade_id)`` or
            ``("id", the id the cell got)``; :func:`describe` turns them into sentences.
        """


def graded_cells(release: dict) -> list[dict]:
    return [cell for cell in release["cells"] if grade_id(cell)]


def defining_cells(cells: list[dict], answer: str) -> list[int]:
    """Indices of the code cells that define the function ``answer``."""
    return [i for i, cell in enumerate(cells) if cell["cell_type"] == "code" and defines(source_of(cell), answer)]


def positions(cells: list[dict]) -> dict[str, int]:
    """grade_id -> index of the cell carrying it."""
    return {grade_id(cell): i for i, cell in enumerate(cells) if grade_id(cell)}


def label(cell: dict, gid: str) -> None:
    """Match a cell to the release's cell ``gid`` (its full metadata comes in :func:`copy_release_metadata`)."""
    cell.setdefault("metadata", {})["nbgrader"] = {"grade_id": gid}


def upgrade_format(notebook: dict, release: dict, answer: str) -> list[Change]:
    """nbformat 3, or 4 before 4.5, becomes 4.5."""
    converted, notes = upgrade(notebook)
    if converted is not notebook:
        notebook.clear()
        notebook.update(converted)
    return [("note", note) for note in notes]


def mark_answer(notebook: dict, release: dict, answer: str) -> list[Change]:
    """The last code cell that defines the answer's function is the answer cell."""
    cells = notebook["cells"]
    defining = defining_cells(cells, answer)
    if not defining:
        return []
    changes = [("note", f"{len(defining)} cells define {answer}: the last one is graded")] if len(defining) > 1 else []
    if grade_id(cells[defining[-1]]) != answer:
        changes.append(("restored", answer))
    label(cells[defining[-1]], answer)
    return changes


def drop_duplicate_grade_ids(notebook: dict, release: dict, answer: str) -> list[Change]:
    """A grade_id stays on the first cell carrying it (the answer's on the answer cell); others become ordinary."""
    cells = notebook["cells"]
    at = (defining_cells(cells, answer) or [None])[-1]
    expected = {grade_id(cell) for cell in graded_cells(release)}
    kept = {answer} if at is not None else set()
    changes = []
    for i, cell in enumerate(cells):
        gid = grade_id(cell)
        if gid is None or i == at:
            continue
        if gid in expected and gid not in kept:
            kept.add(gid)
        else:
            cell["metadata"].pop("nbgrader", None)
            changes.append(("demoted", gid))
    return changes


def match_by_text(notebook: dict, release: dict, exact: bool) -> list[Change]:
    """Unmatched graded cells of the release found between their matched neighbours.

    A locked cell is an ordinary cell of its type whose text is the same (``exact``) or similar; a
    written answer is the cell right after its question.
    """
    cells = notebook["cells"]
    template = graded_cells(release)
    changes = []
    for position, cell in enumerate(template):
        gid, found_at = grade_id(cell), positions(cells)
        if gid in found_at:
            continue
        meta = cell["metadata"]["nbgrader"]
        before = [found_at[grade_id(c)] for c in template[:position] if grade_id(c) in found_at]
        after = [found_at[grade_id(c)] for c in template[position + 1:] if grade_id(c) in found_at]
        window = range(max(before, default=-1) + 1, min(after, default=len(cells)))
        free = [i for i in window if not grade_id(cells[i]) and cells[i]["cell_type"] == cell["cell_type"]]
        found = None
        if meta.get("solution") and cell["cell_type"] == "markdown":
            question = found_at.get(f"{gid}_question")
            found = question + 1 if question is not None and question + 1 in free else None
        elif meta.get("locked") and exact:
            found = next((i for i in free if source_of(cells[i]).strip() == source_of(cell).strip()), None)
        elif meta.get("locked"):
            best = max(((similarity(source_of(cells[i]), source_of(cell)), i) for i in free), default=(0.0, None))
            found = best[1] if best[0] >= SIMILAR else None
        if found is not None:
            label(cells[found], gid)
            changes.append(("restored", gid))
    return changes


def match_unchanged_cells(notebook: dict, release: dict, answer: str) -> list[Change]:
    """Locked cells whose text is the release's (and the written answers after them)."""
    return match_by_text(notebook, release, exact=True)


def match_edited_cells(notebook: dict, release: dict, answer: str) -> list[Change]:
    """Locked cells whose text is similar to the release's (and the written answers after them)."""
    return match_by_text(notebook, release, exact=False)


def put_back_deleted(notebook: dict, release: dict, answer: str) -> list[Change]:
    """Graded cells still missing come back from the release, after the cell that preceded them."""
    cells = notebook["cells"]
    template = graded_cells(release)
    changes = []
    for position, cell in enumerate(template):
        found_at = positions(cells)
        if grade_id(cell) in found_at:
            continue
        before = [found_at[grade_id(c)] for c in template[:position] if grade_id(c) in found_at]
        cells.insert(max(before) + 1 if before else 0, copy.deepcopy(cell))
        changes.append(("deleted", grade_id(cell)))
    return changes


def copy_release_metadata(notebook: dict, release: dict, answer: str) -> list[Change]:
    """Every graded cell takes its metadata from the release."""
    by_id = {grade_id(cell): cell for cell in graded_cells(release)}
    for cell in notebook["cells"]:
        if grade_id(cell):
            cell.setdefault("metadata", {}).update(copy.deepcopy(by_id[grade_id(cell)]["metadata"]))
    return []


def restore_graded_ids(notebook: dict, release: dict, answer: str) -> list[Change]:
    """Every graded cell takes its id from the release."""
    by_id = {grade_id(cell): cell for cell in graded_cells(release)}
    changes = []
    for cell in notebook["cells"]:
        if grade_id(cell):
            lacked = not cell.get("id")
            cell["id"] = by_id[grade_id(cell)].get("id") or cell.get("id")
            if lacked:
                changes.append(("id", str(cell["id"])))
    return changes


def restore_other_ids(notebook: dict, release: dict, answer: str) -> list[Change]:
    """Ordinary cells left as given take the release's id back; others lacking one, or sharing one, get a new one."""
    ordinary = [cell for cell in notebook["cells"] if not grade_id(cell)]
    lacking = [cell for cell in ordinary if not cell.get("id")]
    used = {cell["id"] for cell in notebook["cells"] if grade_id(cell)}
    unused = [cell for cell in release["cells"] if not grade_id(cell) and cell.get("id") not in used]
    for cell in lacking:
        same = next((c for c in unused if source_of(c) == source_of(cell) and c["cell_type"] == cell["cell_type"]),
                    None)
        if same is not None:
            cell["id"] = same["id"]
            unused.remove(same)
    for cell in ordinary:
        if not cell.get("id") or cell["id"] in used:
            cell["id"] = uuid.uuid4().hex[:8]
        used.add(cell["id"])
    return [("id", cell["id"]) for cell in lacking]


def copy_notebook_metadata(notebook: dict, release: dict, answer: str) -> list[Change]:
    """The assignment's and kernel's metadata, where the notebook lost them."""
    for key in ("gradcam_assignment", "kernelspec"):
        if key in release.get("metadata", {}) and key not in notebook.setdefault("metadata", {}):
            notebook["metadata"][key] = copy.deepcopy(release["metadata"][key])
    return []


STEPS: tuple[Step, ...] = (
    upgrade_format, mark_answer, drop_duplicate_grade_ids, match_unchanged_cells, match_edited_cells,
    put_back_deleted, copy_release_metadata, restore_graded_ids, restore_other_ids, copy_notebook_metadata)


def describe(changes: list[Change]) -> list[str]:
    """The changes of all steps as the sentences ``collect`` records."""
    def of(kind):
        return [what for k, what in changes if k == kind]
    sentences = of("note")
    for kind, sentence in (("restored", "nbgrader metadata restored: "),
                           ("demoted", "duplicate cells made ordinary: "),
                           ("deleted", "deleted cells put back from the release: ")):
        if of(kind):
            sentences.append(sentence + ", ".join(of(kind)))
    if of("id"):
        sentences.append(f"{len(of('id'))} cell ids restored")
    return sentences


def repair(notebook: dict, release: dict, answer: str = "compute_gradcam") -> tuple[dict, list[str]]:
    """A gradable copy of ``notebook`` and what was repaired (``[]``: the notebook is returned as is).

    Parameters
    ----------
    notebook : dict
        The submission (parsed JSON, any nbformat).
    release : dict
        The release notebook of its assignment (what the students were given).
    answer : str
        ``grade_id`` of the answer cell, also the name of the function it defines.

    Returns
    -------
    repaired : dict
        ``notebook`` itself when it needed no repair, else a repaired copy (nbformat 4.5).
    repairs : list of str
        What :data:`STEPS` changed, as short sentences.
    """
    if not needs_repair(notebook, release):
        return notebook, []
    notebook = copy.deepcopy(notebook)
    changes = [change for step in STEPS for change in step(notebook, release, answer)]
    return notebook, describe(changes)


def match_assignment(notebook: dict, releases: dict[str, dict], minimum: int = 3) -> str | None:
    """Which release a notebook without metadata comes from: the one sharing most cell texts."""
    texts = {source_of(cell).strip() for cell in notebook.get("cells", []) if source_of(cell).strip()}
    counts = {asg: sum(1 for cell in release["cells"] if source_of(cell).strip() in texts)
              for asg, release in releases.items()}
    best = max(counts, key=counts.get, default=None)
    return best if best is not None and counts[best] >= minimum else None
