"""End to end with real nbgrader and its SQLite gradebook: init -> release -> collect -> autograde ->
feedback -> export -> report, all through ``python -m grader``.

Representative submissions (the fast layer covers every mistake): several
correct answers written differently, a few mistakes, delegating, tampering,
blanking, an infinite loop, os._exit, an edited test cell, snooping and an
unmodified release notebook, in both languages.
"""
from __future__ import annotations

import csv
import json
import zipfile

import pytest

from conftest import copy_course, run_grader, sandbox_works
from variants import EXPECTED_FAILS

pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(not sandbox_works(), reason="needs bubblewrap (apt-get install bubblewrap)")]

EN = ["c_reference", "c_numpy", "m_no_relu", "m_hw_swap", "x_delegate", "x_tamper_numpy", "x_blank",
      "x_infinite_loop", "edited_test", "snoop"]
JA = ["c_probability", "c_tf_function", "m_ignore_class", "x_tamper_reference", "x_os_exit", "unmodified"]


def grader(*args, env):
    return run_grader(*args, env=env).stdout


@pytest.fixture(scope="module")
def graded(tmp_path_factory, tool_env, released_course):
    import submissions
    root = tmp_path_factory.mktemp("e2e")
    course = copy_course(released_course[0], root / "course")
    out = dict(released_course[1])
    folder = root / "subs"
    paths = submissions.write(folder, course / "release/gradcam_en/gradcam.ipynb", EN)
    paths += submissions.write(folder, course / "release/gradcam_ja/gradcam.ipynb", JA)
    archive = root / "lms.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in paths:
            zf.write(path, path.name)
        zf.writestr("broken.ipynb", "{oops")
    out["collect"] = grader("collect", course, archive, env=tool_env)
    out["autograde"] = grader("autograde", course, "--workers", 2, "--notebook-timeout", 240, env=tool_env)
    out["feedback"] = grader("feedback", course, env=tool_env)
    out["export"] = grader("export", course, env=tool_env)
    out["report"] = grader("report", course, env=tool_env)
    with open(course / "grades.csv", encoding="utf-8-sig") as handle:
        rows = {row["student"]: row for row in csv.DictReader(handle)}
    return {"course": course, "out": out, "rows": rows}


def _expected(name, spec):
    fails = EXPECTED_FAILS.get(name, set(spec.TEST_CELLS))
    return sum(points for grade_id, (points, _) in spec.TEST_CELLS.items() if grade_id not in fails)


def test_release_is_stripped(graded):
    from grader.course import release_leaks
    for asg in ("gradcam_ja", "gradcam_en"):
        notebook = graded["course"] / "release" / asg / "gradcam.ipynb"
        assert release_leaks(notebook) == []
        text = notebook.read_text(encoding="utf-8")
        assert "YOUR ANSWER HERE" in text and "NotImplementedError" in text


def test_every_submission_is_graded_or_flagged(graded):
    rows = graded["rows"]
    assert set(rows) == set(EN) | set(JA)
    assert "broken" in graded["out"]["collect"]          # reported, not silently dropped
    for name, row in rows.items():
        assert int(row["auto_max"]) == 10 and 0 <= int(row["auto_score"]) <= 10, row


@pytest.mark.parametrize("name", ["c_reference", "c_numpy", "c_probability", "c_tf_function", "snoop"])
def test_correct_answers_get_full_marks(graded, name):
    row = graded["rows"][name]
    assert row["auto_score"] == "10" and float(row["nbgrader_auto_score"]) == 10 and row["review"] == ""


@pytest.mark.parametrize("name", ["m_no_relu", "m_hw_swap", "m_ignore_class"])
def test_mistakes_lose_the_expected_points(graded, name, spec):
    row = graded["rows"][name]
    assert int(row["auto_score"]) == _expected(name, spec) < 10
    assert float(row["nbgrader_auto_score"]) == _expected(name, spec)


@pytest.mark.parametrize("name", ["x_delegate", "x_tamper_numpy", "x_tamper_reference", "edited_test",
                                  "unmodified", "x_infinite_loop"])
def test_cheats_and_empty_work_get_nothing(graded, name):
    row = graded["rows"][name]
    assert row["auto_score"] == "0" and float(row["nbgrader_auto_score"] or 0) == 0, row


def test_blanking_is_caught_by_the_crosscheck_and_flagged(graded):
    row = graded["rows"]["x_blank"]
    assert row["auto_score"] == "0"
    assert float(row["nbgrader_auto_score"]) == 10          # nbgrader alone is fooled
    assert "cross-check" in row["review"] and "input_transformers" in row["review"]


def test_dead_kernel_costs_only_that_student(graded):
    from grader.results import load_results
    row = graded["rows"]["x_os_exit"]
    assert row["auto_score"] == "0" and row["nbgrader_auto_score"] == "" and "dead-kernel" in row["review"]
    assert "x_os_exit" in graded["out"]["autograde"]
    statuses = {r["student"]: r["status"] for r in load_results(graded["course"])}
    assert statuses.pop("x_os_exit") == "dead-kernel" and set(statuses.values()) == {"graded"}


def test_snooping_finds_nothing(graded):
    notebook = graded["course"] / "autograded/snoop/gradcam_en/gradcam.ipynb"
    text = "".join("".join(o.get("text", "")) for c in json.loads(notebook.read_text())["cells"]
                   for o in c.get("outputs", []) if c["cell_type"] == "code")
    line = next(l for l in text.splitlines() if l.startswith("SNOOPED:"))
    found = line.split("SNOOPED:")[1].split("NETWORK:")[0]
    assert "gradebook" not in found and "source" not in found and "solution_cell" not in found
    assert "c_reference" not in found                     # other students' work
    assert "NETWORK: []" in line and "GRADING_ENV: []" in line


def test_feedback_has_no_hidden_tests(graded):
    from grader.report import leaks_in_feedback
    pages = list((graded["course"] / "feedback_html").glob("*.html"))
    assert len(pages) >= len(EN) + len(JA) - 1               # os._exit: nbgrader has no feedback
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert leaks_in_feedback(text) == [], page
        assert "compute_gradcam" in text


def test_report(graded, spec):
    course = graded["course"]
    summary = json.loads((course / "report/summary.json").read_text())
    assert summary["n"] == len(EN) + len(JA)
    assert (course / "report/summary.png").stat().st_size > 5000
    assert "x_blank" in summary["review"] and "x_os_exit" in summary["review"]
    assert set(summary["pass_rates"]) == set(spec.TEST_CELLS)
    assert all(0 < rate < 1 for rate in summary["pass_rates"].values())
    assert "data:image/png;base64" in (course / "report/index.html").read_text()


def test_progress_is_shown(graded):
    assert "[1/16]" in graded["out"]["autograde"] and "[16/16]" in graded["out"]["autograde"]
