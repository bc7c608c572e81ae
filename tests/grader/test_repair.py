"""Repairing notebooks that editors changed: metadata and ids dropped, the answer duplicated, tests
deleted, an older nbformat. (The end-to-end test grades such notebooks with nbgrader.)"""
from __future__ import annotations

import json

import pytest

import submissions
from grader import repair
from grader.collect import detect_assignment
from variants import VARIANTS

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def release():
    """The committed source notebook stands in for the release: same cells, same metadata."""
    from assignments.gradcam import build_source
    return json.loads(build_source.target("en").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def answered(release):
    return submissions.make(release, "c_reference")


def _grade_ids(notebook):
    return [repair.grade_id(cell) for cell in notebook["cells"] if repair.grade_id(cell)]


def _answer(notebook):
    return next(repair.source_of(c) for c in notebook["cells"] if repair.grade_id(c) == "compute_gradcam")


def test_an_intact_notebook_is_left_alone(answered, release):
    repaired, repairs = repair.repair(answered, release)
    assert repairs == [] and repaired is answered


def test_lost_metadata_and_ids_are_restored_by_content(answered, release):
    stripped = submissions.strip_metadata(answered)
    assert _grade_ids(stripped) == []
    repaired, repairs = repair.repair(stripped, release)
    assert _grade_ids(repaired) == _grade_ids(release)
    assert _answer(repaired) == VARIANTS["c_reference"]
    locked = [c for c in repaired["cells"] if c["metadata"].get("nbgrader", {}).get("locked")]
    assert {c["metadata"]["nbgrader"]["grade_id"] for c in locked} >= {"setup", "test_gradcam_basic"}
    assert [c["id"] for c in repaired["cells"]] == [c["id"] for c in release["cells"]]
    assert repaired["nbformat_minor"] == 5
    assert any("4.4" in r for r in repairs) and any("metadata restored" in r for r in repairs)
    # the written answers follow their questions
    cells = {repair.grade_id(c): repair.source_of(c) for c in repaired["cells"]}
    assert cells["q2_plausible"] == "My answer to q2_plausible: the lungs."


def test_the_last_cell_defining_the_answer_is_graded(answered, release):
    duplicated = submissions.duplicate_answer(answered)
    assert _grade_ids(duplicated).count("compute_gradcam") == 2
    repaired, repairs = repair.repair(duplicated, release)
    assert _grade_ids(repaired) == _grade_ids(release)
    assert _answer(repaired) == VARIANTS["c_reference"]
    assert len({c["id"] for c in repaired["cells"]}) == len(repaired["cells"])
    assert any("2 cells define compute_gradcam" in r for r in repairs)


def test_deleted_test_cells_come_back_in_place(answered, release):
    deleted = submissions.delete_tests(answered)
    repaired, repairs = repair.repair(deleted, release)
    assert _grade_ids(repaired) == _grade_ids(release)
    assert any("test_gradcam_known, test_gradcam_layers" in r for r in repairs)
    restored = next(c for c in repaired["cells"] if repair.grade_id(c) == "test_gradcam_known")
    original = next(c for c in release["cells"] if repair.grade_id(c) == "test_gradcam_known")
    assert repair.source_of(restored) == repair.source_of(original)


def test_everything_at_once_and_an_old_nbformat(answered, release):
    damaged = submissions.nbformat3(submissions.strip_metadata(submissions.delete_tests(
        submissions.duplicate_answer(answered))))
    assert damaged["nbformat"] == 3
    repaired, repairs = repair.repair(damaged, release)
    assert repaired["nbformat"] == 4 and repaired["nbformat_minor"] == 5
    assert _grade_ids(repaired) == _grade_ids(release)
    assert _answer(repaired).strip() == VARIANTS["c_reference"].strip()
    assert any("nbformat 3" in r for r in repairs)


def test_a_notebook_without_metadata_is_recognised_by_its_text(answered, release):
    from assignments.gradcam import build_source
    ja = json.loads(build_source.target("ja").read_text(encoding="utf-8"))
    stripped = submissions.strip_metadata(answered)
    releases = {"gradcam_en": release, "gradcam_ja": ja}
    assert detect_assignment(stripped) is None
    assert detect_assignment(stripped, releases) == "gradcam_en"
    assert detect_assignment(submissions.strip_metadata(ja), releases) == "gradcam_ja"
    assert repair.match_assignment({"cells": [{"cell_type": "code", "source": "print(1)"}]}, releases) is None


def test_answer_detection_reads_code_not_text():
    assert repair.defines("import numpy\n\ndef compute_gradcam(model, x):\n    return x\n", "compute_gradcam")
    assert repair.defines("%matplotlib inline\ndef compute_gradcam(m, x):\n    pass\n", "compute_gradcam")
    assert not repair.defines("# def compute_gradcam(model): see below\nx = 1\n", "compute_gradcam")
    assert not repair.defines("result = compute_gradcam(model, x)\n", "compute_gradcam")
