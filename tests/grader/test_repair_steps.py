"""Each step of ``grader.repair`` on its own, on small hand-made notebooks (no TensorFlow, milliseconds).

The release has an ordinary cell, a set-up cell, the answer, a test, a question and its written answer,
and another ordinary cell; a submission is that release as a student, or an editor, left it.
"""
from __future__ import annotations

import copy
import json

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from grader import repair

ANSWER = "compute_gradcam"
STUB = "def compute_gradcam(model, x):\n    raise NotImplementedError()\n"
SOLVED = "def compute_gradcam(model, x):\n    return x\n"
TEST = "assert compute_gradcam(None, 2) == 2\n"


def nbgrader(gid, locked=False, solution=False, points=None):
    meta = {"grade": points is not None, "grade_id": gid, "locked": locked, "schema_version": 3,
            "solution": solution, "task": False}
    return {"nbgrader": {**meta, "points": points} if points else meta}


@pytest.fixture
def release():
    cells = [new_markdown_cell("# Exercise", id="intro"),
             new_code_cell("import numpy as np\n", id="setup", metadata=nbgrader("setup", locked=True)),
             new_code_cell(STUB, id="answer", metadata=nbgrader(ANSWER, solution=True)),
             new_code_cell(TEST, id="test", metadata=nbgrader("test_basic", locked=True, points=1)),
             new_markdown_cell("**Question 1.** Where did the model look?", id="q1-question",
                               metadata=nbgrader("q1_question", locked=True)),
             new_markdown_cell("YOUR ANSWER HERE", id="q1", metadata=nbgrader("q1", solution=True, points=2)),
             new_code_cell("print('done')\n", id="outro")]
    metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                "gradcam_assignment": {"assignment": "tiny"}}
    return json.loads(nbformat.writes(new_notebook(cells=cells, metadata=metadata)))


@pytest.fixture
def answered(release):
    notebook = copy.deepcopy(release)
    notebook["cells"][2]["source"] = SOLVED
    notebook["cells"][5]["source"] = "The lungs."
    return notebook


def stripped(notebook):
    """What VS Code or Colab saves: no nbgrader metadata, no cell ids."""
    notebook = copy.deepcopy(notebook)
    for cell in notebook["cells"]:
        cell["metadata"] = {}
        cell.pop("id", None)
    return notebook


def grade_ids(notebook):
    return [repair.grade_id(cell) for cell in notebook["cells"]]


def test_upgrade_format_rewrites_an_old_notebook_in_place(answered):
    v4 = nbformat.reads(json.dumps(answered), as_version=4)            # sources as strings
    old = json.loads(nbformat.writes(nbformat.v4.downgrade(v4), version=3))
    changes = repair.upgrade_format(old, {}, ANSWER)
    assert (old["nbformat"], old["nbformat_minor"]) == (4, 5) and "worksheets" not in old
    assert [repair.source_of(c) for c in old["cells"]][2] == SOLVED
    assert changes == [("note", "saved as nbformat 3.0: upgraded to 4.5")]
    current = copy.deepcopy(answered)
    assert repair.upgrade_format(current, {}, ANSWER) == [] and current == answered


def test_mark_answer_labels_the_last_cell_defining_the_function(release, answered):
    notebook = copy.deepcopy(answered)
    notebook["cells"][2]["source"] = STUB
    notebook["cells"].insert(3, new_code_cell(SOLVED))                 # the student's own copy
    notebook["cells"].insert(4, new_code_cell("# def compute_gradcam(model, x): above\n"))
    changes = repair.mark_answer(notebook, release, ANSWER)
    assert grade_ids(notebook)[2:5] == [ANSWER, ANSWER, None]           # the stub is left to the next step
    assert changes == [("note", "2 cells define compute_gradcam: the last one is graded"), ("restored", ANSWER)]
    unanswered = stripped(answered)
    del unanswered["cells"][2]
    assert repair.mark_answer(unanswered, release, ANSWER) == [] and set(grade_ids(unanswered)) == {None}


def test_drop_duplicate_grade_ids_keeps_the_first_and_the_answer(release, answered):
    notebook = copy.deepcopy(answered)
    notebook["cells"][2]["source"] = STUB                               # a copied stub before the answer
    notebook["cells"].insert(3, copy.deepcopy(notebook["cells"][2]) | {"source": SOLVED, "id": "copy"})
    notebook["cells"].insert(2, copy.deepcopy(notebook["cells"][1]) | {"id": "setup-copy"})
    notebook["cells"].append(new_code_cell("x = 1", metadata=nbgrader("bogus")))
    changes = repair.drop_duplicate_grade_ids(notebook, release, ANSWER)
    assert grade_ids(notebook) == [None, "setup", None, None, ANSWER, "test_basic", "q1_question", "q1", None, None]
    assert changes == [("demoted", "setup"), ("demoted", ANSWER), ("demoted", "bogus")]
    without_answer = copy.deepcopy(release)                             # nothing defines it: the first one stays
    without_answer["cells"][2]["source"] = "pass"
    without_answer["cells"].insert(3, copy.deepcopy(without_answer["cells"][2]))
    assert repair.drop_duplicate_grade_ids(without_answer, release, ANSWER) == [("demoted", ANSWER)]
    assert grade_ids(without_answer)[2:4] == [ANSWER, None]


def test_match_unchanged_cells_finds_locked_cells_and_written_answers(release, answered):
    notebook = stripped(answered)
    notebook["cells"][1]["source"] = "import numpy as np"               # an editor dropped the last newline
    notebook["cells"].insert(0, new_code_cell(TEST))                    # a copy above its neighbours
    repair.label(notebook["cells"][3], ANSWER)
    changes = repair.match_unchanged_cells(notebook, release, ANSWER)
    assert grade_ids(notebook) == [None, None, "setup", ANSWER, "test_basic", "q1_question", "q1", None]
    assert changes == [("restored", "setup"), ("restored", "test_basic"), ("restored", "q1_question"),
                       ("restored", "q1")]


def test_match_unchanged_cells_leaves_edited_ones_to_match_edited_cells(release, answered):
    notebook = stripped(answered)
    notebook["cells"][3]["source"] = TEST.replace("== 2", "== 2  # checked")
    notebook["cells"][6]["source"] = "print('something else entirely')\n"
    assert ("restored", "test_basic") not in repair.match_unchanged_cells(notebook, release, ANSWER)
    assert repair.grade_id(notebook["cells"][3]) is None
    assert repair.match_edited_cells(notebook, release, ANSWER) == [("restored", "test_basic")]
    assert grade_ids(notebook)[3] == "test_basic" and grade_ids(notebook)[6] is None


def test_put_back_deleted_inserts_after_the_cell_that_preceded_them(release, answered):
    notebook = copy.deepcopy(answered)
    del notebook["cells"][3:5]                                          # the test and the question
    changes = repair.put_back_deleted(notebook, release, ANSWER)
    assert grade_ids(notebook) == grade_ids(release)
    assert notebook["cells"][3] == release["cells"][3] and notebook["cells"][4] == release["cells"][4]
    assert changes == [("deleted", "test_basic"), ("deleted", "q1_question")]
    assert repair.put_back_deleted(notebook, release, ANSWER) == []


def test_copy_release_metadata_overwrites_what_the_student_changed(release, answered):
    notebook = stripped(answered)
    for cell, gid in zip(notebook["cells"], grade_ids(release)):
        if gid:
            repair.label(cell, gid)
    notebook["cells"][3]["metadata"]["nbgrader"].update(points=100, locked=False)
    assert repair.copy_release_metadata(notebook, release, ANSWER) == []
    assert [c["metadata"] for c in notebook["cells"]] == [c["metadata"] for c in release["cells"]]


def test_restore_graded_ids_takes_the_release_ids(release, answered):
    notebook = stripped(answered)
    for cell, gid in zip(notebook["cells"], grade_ids(release)):
        if gid:
            repair.label(cell, gid)
    changes = repair.restore_graded_ids(notebook, release, ANSWER)
    assert [c.get("id") for c in notebook["cells"]] == [None, "setup", "answer", "test", "q1-question", "q1", None]
    assert changes == [("id", i) for i in ("setup", "answer", "test", "q1-question", "q1")]


def test_restore_other_ids_gives_back_the_release_ids_else_new_unique_ones(release, answered):
    notebook = copy.deepcopy(answered)
    del notebook["cells"][0]["id"], notebook["cells"][6]["id"]
    notebook["cells"].insert(1, new_code_cell("scratch = 1"))
    del notebook["cells"][1]["id"]
    notebook["cells"].append(new_code_cell("print('done')\n", id="test"))   # an id a graded cell has
    changes = repair.restore_other_ids(notebook, release, ANSWER)
    ids = [c["id"] for c in notebook["cells"]]
    assert ids[0] == "intro" and ids[7] == "outro" and ids[2:7] == [c["id"] for c in release["cells"][1:6]]
    assert len(ids[1]) == 8 and ids[8] not in {"test", "outro"} and len(set(ids)) == len(ids)
    assert changes == [("id", "intro"), ("id", ids[1]), ("id", "outro")]


def test_copy_notebook_metadata_restores_only_what_was_lost(release, answered):
    notebook = copy.deepcopy(answered)
    notebook["metadata"] = {"kernelspec": {"name": "mine"}}
    assert repair.copy_notebook_metadata(notebook, release, ANSWER) == []
    assert notebook["metadata"] == {"kernelspec": {"name": "mine"},
                                    "gradcam_assignment": release["metadata"]["gradcam_assignment"]}


def test_describe_groups_the_changes_of_all_steps():
    changes = [("note", "saved as nbformat 4.4: upgraded to 4.5"), ("restored", "a"), ("id", "x"),
               ("demoted", "b"), ("restored", "c"), ("deleted", "d"), ("id", "y")]
    assert repair.describe(changes) == ["saved as nbformat 4.4: upgraded to 4.5", "nbgrader metadata restored: a, c",
                                        "duplicate cells made ordinary: b",
                                        "deleted cells put back from the release: d", "2 cell ids restored"]
    assert repair.describe([]) == []


def test_the_steps_together_restore_a_stripped_notebook(release, answered):
    damaged = stripped(answered)
    del damaged["cells"][3]
    repaired, repairs = repair.repair(damaged, release)
    assert [c["metadata"] for c in repaired["cells"]] == [c["metadata"] for c in release["cells"]]
    assert [c["id"] for c in repaired["cells"]] == [c["id"] for c in release["cells"]]
    assert repair.source_of(repaired["cells"][2]) == SOLVED and repair.source_of(repaired["cells"][5]) == "The lungs."
    assert repairs == ["nbgrader metadata restored: compute_gradcam, setup, q1_question, q1",
                       "deleted cells put back from the release: test_basic", "6 cell ids restored"]
