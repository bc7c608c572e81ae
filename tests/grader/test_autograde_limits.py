"""What breaking a limit in the cross-check costs, through ``autograde`` with its real workers, watchdog and
sandbox: the same grade whenever the kill lands, and a review reason that names the limit and its value.

The submissions' nbgrader part is saved already (a run killed after it), so the run resumes with their
cross-checks only: seconds, not a notebook per student.
"""
from __future__ import annotations

import json
import shutil
import textwrap

import pytest

from grader import results as store
from grader.autograde import autograde
from grader.course import init, state_dir
from grader.limits import Limits
from test_crosscheck import _notebook
from variants import _first

SIGNATURE = 'def compute_gradcam(model, img_array, last_conv_layer_name="last_conv_layer", class_index=None):\n'
# four children of 400 MiB each (as in l_memory_forks): over 1.5 GiB only together, so the watchdog stops them
FORKS = """import time, numpy
children = []
for _ in range(4):
    pid = os.fork()
    if pid == 0:
        block = numpy.ones(50 * 2**20)
        time.sleep(60)
        os._exit(0)
    children.append(pid)
for pid in children:
    os.waitpid(pid, 0)
"""
ANSWERS = {                 # graded in this order: the longest first
    "s1_hang": SIGNATURE + "    while True:\n        pass\n",
    "s2_flood": SIGNATURE + "    while True:\n        print('x' * 1000)\n",
    # correct maps, but every call breaks the memory limit: stopped before any map is saved
    "s3_forks_before_maps": _first("import os\n" + FORKS),
    # correct maps, and the limit broken only once they are saved (in the child's working folder)
    "s4_forks_after_maps": _first("import os\nif os.path.exists('outputs.npz'):\n" + textwrap.indent(FORKS, "    ")),
}
LIMITS = Limits(memory=int(1.5 * 2**30), output=2**20, crosscheck_time=30)


@pytest.fixture(scope="module")
def graded(tmp_path_factory, prepared, spec):
    course = init(tmp_path_factory.mktemp("limit-costs") / "course")
    shutil.copytree(prepared, state_dir(course) / "crosscheck")
    for student, answer in ANSWERS.items():
        path = course / "submitted" / student / spec.ASSIGNMENTS["en"] / f"{spec.NOTEBOOK}.ipynb"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps(_notebook(answer)))
        # nbgrader's part, as a run killed before any cross-check had finished left it
        store.save(course, {"assignment": spec.ASSIGNMENTS["en"], "student": student, "status": "graded",
                            "nbgrader_ok": True, "nbgrader_cells": {g: p for g, (p, _) in spec.TEST_CELLS.items()},
                            "limits": [], "crosscheck": None, "submission_sha256": store.sha256(path)})
    said = []
    results = autograde(course, workers=2, limits=LIMITS, progress=said.append)
    return {r["student"]: r for r in results}, said


def test_a_resumed_run_says_what_it_found_partial_results_included(graded):
    results, said = graded
    assert sorted(results) == sorted(ANSWERS)
    assert any(line.startswith(f"resuming: 0 submission(s) already graded, {len(ANSWERS)} with only nbgrader's "
                               "part saved") for line in said), said


@pytest.mark.parametrize("student", ["s3_forks_before_maps", "s4_forks_after_maps"])
def test_breaking_the_memory_limit_costs_the_same_before_and_after_the_maps_are_saved(graded, student):
    result = graded[0][student]
    reason = "memory limit 1.5 GiB exceeded in the cross-check"
    assert result["crosscheck"]["score"] == 0 and reason in store.review_reasons(result), result
    messages = set(result["crosscheck"]["messages"].values())
    if student == "s4_forks_after_maps":    # every map was saved and right: only the limit took the points
        assert messages == {reason} and result["crosscheck"]["status"] == "ok"     # the graded phase was done
    else:                                   # no map was saved: every test failed for want of one
        assert reason not in messages and result["crosscheck"]["status"] == "killed-SIGKILL"


def test_an_output_flood_is_the_output_limit(graded):
    result = graded[0]["s2_flood"]
    assert result["crosscheck"]["score"] == 0 and result["crosscheck"]["status"] == "output-limit"
    assert [limit["reason"] for limit in result["limits"]] == ["output limit 1 MiB exceeded in the cross-check"]


def test_a_hang_names_the_crosschecks_wall_time(graded):
    result = graded[0]["s1_hang"]
    assert result["crosscheck"]["score"] == 0 and result["crosscheck"]["status"] == "timeout"
    assert [limit["reason"] for limit in result["limits"]] == ["wall-time limit 30 s exceeded in the cross-check"]
