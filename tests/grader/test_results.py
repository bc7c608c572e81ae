"""Results storage and the resume plan: what is saved, what a rerun grades again."""
from __future__ import annotations

import json

import pytest

from grader import results as store
from grader.autograde import plan
from grader.course import init


@pytest.fixture()
def course(tmp_path):
    path = init(tmp_path / "course")
    for student in ("ann", "bob", "cy"):
        notebook = path / "submitted" / student / "gradcam_en" / "gradcam.ipynb"
        notebook.parent.mkdir(parents=True)
        notebook.write_text(json.dumps({"cells": [], "student": student}))
    return path


def _result(course, student, **extra):
    digest = store.sha256(course / "submitted" / student / "gradcam_en" / "gradcam.ipynb")
    return {"assignment": "gradcam_en", "student": student, "status": "graded", "limits": [], "repairs": [],
            "submission_sha256": digest, "crosscheck": {"score": 10}, **extra}


def test_each_result_is_its_own_file_and_loads_back(course):
    store.save(course, _result(course, "bob"))
    store.save(course, _result(course, "ann", status="timeout"))
    assert [r["student"] for r in store.load_results(course)] == ["ann", "bob"]
    assert store.load(course, "gradcam_en", "ann")["status"] == "timeout"
    assert store.load(course, "gradcam_en", "cy") is None
    assert sorted(p.name for p in (course / ".grader/results/gradcam_en").iterdir()) == ["ann.json", "bob.json"]


def test_a_status_outside_the_documented_ones_is_refused(course):
    with pytest.raises(ValueError, match="unknown status"):
        store.save(course, _result(course, "ann", status="weird"))


def test_results_of_earlier_versions_still_load(course):
    (course / ".grader" / store.LEGACY).write_text(json.dumps([_result(course, "cy")]))
    store.save(course, _result(course, "ann"))
    assert [r["student"] for r in store.load_results(course)] == ["ann", "cy"]


def test_a_rerun_grades_only_what_has_no_complete_result(course):
    store.save(course, _result(course, "ann"))                              # complete
    store.save(course, _result(course, "bob", status="timeout", crosscheck=None))   # cross-check missing
    jobs, done = plan(course, "*", crosscheck=True, regrade=False)
    assert done == 1
    assert {j.student: (j.run_nbgrader, j.run_crosscheck) for j in jobs} == {
        "bob": (False, True), "cy": (True, True)}


def test_regrade_and_a_recollected_file_grade_again(course):
    for student in ("ann", "bob", "cy"):
        store.save(course, _result(course, student))
    assert plan(course, "*", crosscheck=True, regrade=False) == ([], 3)
    jobs, done = plan(course, "b*", crosscheck=True, regrade=True)
    assert [j.student for j in jobs] == ["bob"] and done == 0 and jobs[0].run_nbgrader
    (course / "submitted/cy/gradcam_en/gradcam.ipynb").write_text(json.dumps({"cells": [], "new": True}))
    jobs, _ = plan(course, "*", crosscheck=True, regrade=False)
    assert [(j.student, j.run_nbgrader) for j in jobs] == [("cy", True)]


def test_review_reasons_come_from_status_limits_and_repairs():
    assert store.review_reasons({"status": "graded"}) == []
    assert store.review_reasons({"status": "worker-died"})[0].startswith("worker-died: the grading process died")
    limit = {"limit": "memory", "where": "kernel", "reason": "memory limit 4 GiB exceeded", "cells": []}
    assert store.review_reasons({"status": "graded", "limits": [limit], "repairs": ["a", "b"]}) == [
        "memory limit 4 GiB exceeded", "repaired notebook: a; b"]


def test_a_dead_kernel_is_named_even_when_a_limit_is_listed_too():
    limit = {"limit": "memory", "where": "crosscheck", "reason": "memory limit 4 GiB exceeded in the cross-check",
             "cells": []}
    reasons = store.review_reasons({"status": "dead-kernel", "limits": [limit]})
    assert reasons == [f"dead-kernel: {store.STATUSES['dead-kernel']}", limit["reason"]]


def test_the_cli_offers_regrade_and_the_limits():
    from grader.cli import build_parser
    args = build_parser().parse_args(["autograde", "c", "--regrade", "--memory", "2G", "--disk", "100M"])
    assert args.regrade and args.memory == 2 * 2**30 and args.disk == 100 * 2**20
    assert build_parser().parse_args(["autograde", "c"]).regrade is False
