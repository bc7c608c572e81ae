"""Repair notebooks that editors changed, so that nbgrader and the cross-check grade them like any other.

Some editors drop cell metadata and ids (VS Code, Colab, older Jupyter; see
nbgrader #424 and #1398), and students copy or delete cells. nbgrader then
fails or scores 0: it finds its cells by the ``nbgrader`` metadata
(``grade_id``) and refuses duplicate ids. :func:`repair` matches a
submission's cells to the release notebook by content and position:

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
import json
import re
import uuid

SIMILAR = 0.8                  # a locked cell edited this little is still that cell


def source_of(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def grade_id(cell: dict) -> str | None:
    return (cell.get("metadata") or {}).get("nbgrader", {}).get("grade_id")


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
    """
    if not needs_repair(notebook, release):
        return notebook, []
    notebook, repairs = upgrade(copy.deepcopy(notebook))
    cells = notebook["cells"]
    template = [cell for cell in release["cells"] if grade_id(cell)]
    matched: dict[str, int] = {}           # grade_id -> index in cells
    restored, demoted = [], []

    # 1. the answer: the last code cell that defines the function
    defining = [i for i, cell in enumerate(cells) if cell["cell_type"] == "code" and defines(source_of(cell), answer)]
    if defining:
        matched[answer] = defining[-1]
        if grade_id(cells[defining[-1]]) != answer:
            restored.append(answer)
        if len(defining) > 1:
            repairs.append(f"{len(defining)} cells define {answer}: the last one is graded")
    # 2. every other cell keeps its grade_id if it is unique and expected
    expected = {grade_id(cell) for cell in template}
    for i, cell in enumerate(cells):
        gid = grade_id(cell)
        if gid is None or i in matched.values():
            continue
        if gid in expected and gid not in matched and (gid != answer or not defining):
            matched[gid] = i
        else:
            demoted.append(gid)
            cell["metadata"].pop("nbgrader", None)
    # 3. locked cells by their text (exact first, then similar, in the release's order),
    #    written answers right after their question
    for exact in (True, False):
        for position, cell in enumerate(template):
            gid = grade_id(cell)
            if gid in matched:
                continue
            meta = cell["metadata"]["nbgrader"]
            before = [matched[grade_id(c)] for c in template[:position] if grade_id(c) in matched]
            after = [matched[grade_id(c)] for c in template[position + 1:] if grade_id(c) in matched]
            window = range(max(before, default=-1) + 1, min(after, default=len(cells)))
            free = [i for i in window if i not in matched.values() and not grade_id(cells[i])
                    and cells[i]["cell_type"] == cell["cell_type"]]
            found = None
            if meta.get("solution") and cell["cell_type"] == "markdown":
                question = matched.get(f"{gid}_question")
                found = question + 1 if question is not None and question + 1 in free else None
            elif meta.get("locked") and exact:
                found = next((i for i in free if source_of(cells[i]).strip() == source_of(cell).strip()), None)
            elif meta.get("locked"):
                best = max(((similarity(source_of(cells[i]), source_of(cell)), i) for i in free),
                           default=(0.0, None))
                found = best[1] if best[0] >= SIMILAR else None
            if found is not None:
                matched[gid] = found
                restored.append(gid)
    # 4. deleted cells come back from the release, after the cell that preceded them
    deleted = []
    for position, cell in enumerate(template):
        gid = grade_id(cell)
        if gid in matched:
            continue
        before = [matched[grade_id(c)] for c in template[:position] if grade_id(c) in matched]
        at = max(before) + 1 if before else 0
        matched = {g: (i + 1 if i >= at else i) for g, i in matched.items()}
        cells.insert(at, copy.deepcopy(cell))
        matched[gid] = at
        deleted.append(gid)
    # 5. metadata and ids from the release
    by_id = {grade_id(cell): cell for cell in template}
    for gid, i in matched.items():
        cells[i].setdefault("metadata", {}).update(copy.deepcopy(by_id[gid]["metadata"]))
    missing_ids = sum(1 for cell in cells if not cell.get("id"))
    for gid, i in matched.items():
        cells[i]["id"] = by_id[gid].get("id") or cells[i].get("id")
    used = {cells[i]["id"] for i in matched.values()}
    # ordinary cells the student left as given get their ids back too
    unused = [cell for cell in release["cells"] if not grade_id(cell) and cell.get("id") not in used]
    for i, cell in enumerate(cells):
        same = next((c for c in unused if not cell.get("id") and source_of(c) == source_of(cell)
                     and c["cell_type"] == cell["cell_type"]), None)
        if i not in matched.values() and same is not None:
            cell["id"] = same["id"]
            unused.remove(same)
    for i, cell in enumerate(cells):
        if i not in matched.values() and (not cell.get("id") or cell["id"] in used):
            cell["id"] = uuid.uuid4().hex[:8]
        used.add(cell["id"])
    for key in ("gradcam_assignment", "kernelspec"):
        if key in release.get("metadata", {}) and key not in notebook.setdefault("metadata", {}):
            notebook["metadata"][key] = copy.deepcopy(release["metadata"][key])
    if restored:
        repairs.append("nbgrader metadata restored: " + ", ".join(restored))
    if [gid for gid in demoted if gid]:
        repairs.append("duplicate cells made ordinary: " + ", ".join(gid for gid in demoted if gid))
    if deleted:
        repairs.append("deleted cells put back from the release: " + ", ".join(deleted))
    if missing_ids:
        repairs.append(f"{missing_ids} cell ids restored")
    return notebook, repairs


def match_assignment(notebook: dict, releases: dict[str, dict], minimum: int = 3) -> str | None:
    """Which release a notebook without metadata comes from: the one sharing most cell texts."""
    texts = {source_of(cell).strip() for cell in notebook.get("cells", []) if source_of(cell).strip()}
    counts = {asg: sum(1 for cell in release["cells"] if source_of(cell).strip() in texts)
              for asg, release in releases.items()}
    best = max(counts, key=counts.get, default=None)
    return best if best is not None and counts[best] >= minimum else None
