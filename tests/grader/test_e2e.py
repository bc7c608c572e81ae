"""End to end with real nbgrader and its SQLite gradebook: init -> release -> collect -> autograde ->
feedback -> export -> report, all through ``python -m grader``, from a Moodle submissions zip back to
Moodle's grading worksheet and feedback zip.

Representative submissions (the fast layer covers every mistake): several
correct answers written differently, a few mistakes, delegating, tampering,
blanking, an infinite loop, os._exit, an edited test cell, snooping and an
unmodified release notebook, in both languages. Each is a Moodle participant
(``IDS``): the zip is laid out as Moodle's "Download all submissions" writes it.
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
IDS = {name: str(1001 + index) for index, name in enumerate(EN + JA)}      # Moodle participant ids
NAMES = {participant: name for name, participant in IDS.items()}
NOT_IN_WORKSHEET, NO_SUBMISSION = "snoop", "1999"


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
    archive = root / "GC101-Grad-CAM-42.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in paths:
            name = path.stem
            zf.write(path, f"Student {name.replace('_', ' ')}_{IDS[name]}_assignsubmission_file/gradcam.ipynb")
        zf.writestr("Student broken_1900_assignsubmission_file/gradcam.ipynb", "{oops")
    worksheet = root / "Grades-GC101-Grad-CAM-42.csv"
    worksheet.write_bytes(moodle_worksheet([p for n, p in IDS.items() if n != NOT_IN_WORKSHEET] + [NO_SUBMISSION]))
    out["collect"] = grader("collect", course, archive, env=tool_env)
    out["autograde"] = grader("autograde", course, "--workers", 2, "--notebook-timeout", 240, env=tool_env)
    out["feedback"] = grader("feedback", course, "--moodle-zip", env=tool_env)
    out["export"] = grader("export", course, env=tool_env)
    out["moodle"] = grader("export", course, "--moodle-worksheet", worksheet, "--moodle-grade", "auto", env=tool_env)
    out["moodle_total"] = grader("export", course, "--moodle-worksheet", worksheet, "-o", root / "total.csv",
                                 env=tool_env)
    out["report"] = grader("report", course, env=tool_env)
    with open(course / "grades.csv", encoding="utf-8-sig") as handle:
        rows = {NAMES[row["student"]]: row for row in csv.DictReader(handle)}
    return {"course": course, "out": out, "rows": rows, "worksheet": worksheet, "total": root / "total.csv"}


def moodle_worksheet(participants) -> bytes:
    """A grading worksheet as Moodle's "Download grading worksheet" writes it (see test_moodle.py)."""
    lines = [('Identifier,"Full name","Email address",Status,Grade,"Maximum grade","Grade can be changed",'
              '"Last modified (submission)","Last modified (grade)","Feedback comments"')]
    for participant in participants:
        lines.append(f'"Participant {participant}","Student {participant}",s{participant}@example.jp,'
                     f'"Submitted for grading",,10.00,Yes,"Monday, 1 December 2025, 10:31 AM",-,')
    return ("\ufeff" + "\n".join(lines) + "\n").encode("utf-8")


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
    assert "Student broken_1900" in graded["out"]["collect"]      # reported, not silently dropped
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
    assert IDS["x_os_exit"] in graded["out"]["autograde"]
    statuses = {r["student"]: r["status"] for r in load_results(graded["course"])}
    assert statuses.pop(IDS["x_os_exit"]) == "dead-kernel" and set(statuses.values()) == {"graded"}


def test_snooping_finds_nothing(graded):
    notebook = graded["course"] / f"autograded/{IDS['snoop']}/gradcam_en/gradcam.ipynb"
    text = "".join("".join(o.get("text", "")) for c in json.loads(notebook.read_text())["cells"]
                   for o in c.get("outputs", []) if c["cell_type"] == "code")
    line = next(l for l in text.splitlines() if l.startswith("SNOOPED:"))
    found = line.split("SNOOPED:")[1].split("NETWORK:")[0]
    assert "gradebook" not in found and "source" not in found and "solution_cell" not in found
    assert IDS["c_reference"] not in found                # other students' work
    assert "NETWORK: []" in line and "GRADING_ENV: []" in line
    assert line.endswith("EXPLORE: off")                  # Step 4's explore() starts no server while grading


def test_grading_starts_no_explorer_server(graded):
    """Step 4 calls exercise_logic.explore(...): in the grading kernel it only prints a note."""
    notebook = graded["course"] / f"autograded/{IDS['c_reference']}/gradcam_en/gradcam.ipynb"
    (cell,) = [c for c in json.loads(notebook.read_text())["cells"] if "el.explore(" in "".join(c["source"])]
    outputs = json.dumps(cell["outputs"])
    assert "EXERCISE_LOGIC_EXPLORE=off" in outputs and "http" not in outputs and "iframe" not in outputs, outputs


def test_grading_skips_the_self_check(graded):
    """The self-check cell runs in every graded notebook: there it only prints a note."""
    notebook = graded["course"] / f"autograded/{IDS['c_reference']}/gradcam_en/gradcam.ipynb"
    (cell,) = [c for c in json.loads(notebook.read_text())["cells"] if "el.self_check(" in "".join(c["source"])]
    outputs = json.dumps(cell["outputs"])
    assert "EXERCISE_LOGIC_SELF_CHECK=off" in outputs and "image/png" not in outputs, outputs


def test_feedback_has_no_hidden_tests(graded):
    from grader.report import leaks_in_feedback
    pages = list((graded["course"] / "feedback_html").glob("*.html"))
    assert len(pages) >= len(EN) + len(JA) - 1               # os._exit: nbgrader has no feedback
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert leaks_in_feedback(text) == [], page
        assert "compute_gradcam" in text
        assert not any(noise in text for noise in ("I0000", "oneDNN", "cpu_feature_guard")), page   # TF start-up


def test_report(graded, spec):
    course = graded["course"]
    summary = json.loads((course / "report/summary.json").read_text())
    assert summary["n"] == len(EN) + len(JA)
    assert (course / "report/summary.png").stat().st_size > 5000
    assert IDS["x_blank"] in summary["review"] and IDS["x_os_exit"] in summary["review"]
    assert set(summary["pass_rates"]) == set(spec.TEST_CELLS)
    assert all(0 < rate < 1 for rate in summary["pass_rates"].values())
    assert "data:image/png;base64" in (course / "report/index.html").read_text()


def test_progress_is_shown(graded):
    assert "[1/16]" in graded["out"]["autograde"] and "[16/16]" in graded["out"]["autograde"]


@pytest.mark.parametrize("name, mistake", [("m_no_relu", "ReLU がない / ReLU missing"),
                                           ("m_hw_swap", "高さと幅の取り違え / height and width swapped"),
                                           ("m_ignore_class", "class_index を無視している / class_index ignored")])
def test_feedback_names_the_mistake_and_draws_the_maps(graded, name, mistake):
    asg = "gradcam_ja" if name in JA else "gradcam_en"
    page = (graded["course"] / "feedback_html" / f"{IDS[name]}_{asg}.html").read_text(encoding="utf-8")
    assert mistake in page and "ヒント / hint" in page
    assert page.count("<h4>test_gradcam_") == len(EXPECTED_FAILS[name])        # one per failed test cell
    assert "<table class='gc-maps gc-xray'>" in page and "magenta line = lesion" in page   # maps on an X-ray
    assert "data:image/png;base64," in page
    assert graded["rows"][name]["likely_mistake"] == mistake


def test_correct_answers_get_no_mistake(graded):
    for name in ("c_reference", "c_numpy", "c_probability", "c_tf_function"):
        assert graded["rows"][name]["likely_mistake"] == ""
        asg = "gradcam_ja" if name in JA else "gradcam_en"
        page = (graded["course"] / "feedback_html" / f"{IDS[name]}_{asg}.html").read_text(encoding="utf-8")
        # the heading of the mistake section (the notebook's self-check text uses the same words)
        assert "考えられる間違い / Likely mistake" not in page and "gc-maps" not in page


def test_report_counts_mistakes_lists_review_and_times(graded):
    course = graded["course"]
    summary = json.loads((course / "report/summary.json").read_text())
    assert summary["mistakes"]["ReLU がない / ReLU missing"] == 1
    assert summary["mistakes"]["class_index を無視している / class_index ignored"] == 1
    assert all(isinstance(seconds, (int, float)) and seconds > 0 for seconds in summary["seconds"].values())
    page = (course / "report/index.html").read_text(encoding="utf-8")
    assert "diagnosed mistakes" in page and "<td>ReLU がない / ReLU missing</td><td>1</td>" in page
    assert "time per submission" in page and IDS["x_blank"] in page


def test_moodle_worksheet_is_filled_and_everyone_is_listed(graded):
    from grader import moodle
    out = graded["out"]["moodle"]
    assert f"NO SUBMISSION / 提出なし Participant {NO_SUBMISSION}" in out
    assert f"NO PARTICIPANT / 該当者なし {IDS[NOT_IN_WORKSHEET]}" in out
    filled = moodle.read_worksheet(graded["course"] / f"moodle_{graded['worksheet'].stem}.csv")
    assert filled.header == moodle.read_worksheet(graded["worksheet"]).header and filled.byte_order_mark
    rows = {filled.participant(row): row for row in filled.rows}
    for name, participant in IDS.items():
        if name == NOT_IN_WORKSHEET:
            continue
        assert rows[participant][4] == f"{int(graded['rows'][name]['auto_score']):.2f}", name
        assert f"{graded['rows'][name]['auto_score']}/10" in rows[participant][9]
    assert "ReLU missing" in rows[IDS["m_no_relu"]][9]
    assert rows[NO_SUBMISSION][4] == "" and rows[NO_SUBMISSION][9] == ""


def test_moodle_total_waits_for_the_discussion_questions(graded):
    """By default the grade is the whole assignment: left as it was until the manual questions are graded.

    nbgrader scores unchanged answers ("YOUR ANSWER HERE") 0 itself, so the unmodified notebook is complete.
    """
    from grader import moodle
    sheet = moodle.read_worksheet(graded["total"])
    grades = {sheet.participant(row): row[4] for row in sheet.rows}
    assert grades.pop(IDS["unmodified"]) == "0.00" and set(grades.values()) == {""}
    assert graded["out"]["moodle_total"].count("not fully graded yet") == len(IDS) - 2
    assert all(moodle.COMMENT_MARK in row[9] for row in sheet.rows if sheet.participant(row) != NO_SUBMISSION)


def test_moodle_feedback_zip(graded):
    from grader import moodle
    with zipfile.ZipFile(graded["course"] / "moodle_feedback.zip") as archive:
        entries = {moodle.participant_folder(name)[1]: name for name in archive.namelist()}
        page = archive.read(entries[IDS["m_no_relu"]]).decode("utf-8")
    pages = list((graded["course"] / "feedback_html").glob("*.html"))
    assert len(entries) == len(pages) and set(entries) <= set(IDS.values())
    assert entries[IDS["m_no_relu"]].startswith(f"Student m no relu_{IDS['m_no_relu']}_assignfeedback_file/")
    assert "ReLU missing" in page
