"""collect: folders and LMS zips, student ids, malformed and duplicate files."""
from __future__ import annotations

import json
import zipfile

from grader import collect as collect_mod
from grader import course as course_mod


def _nb(lang: str) -> dict:
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": {"gradcam_assignment": {
        "lang": lang, "assignment": f"gradcam_{lang}"}}, "cells": [
        {"cell_type": "code", "id": f"{lang}-00", "metadata": {"nbgrader": {"grade_id": "compute_gradcam"}},
         "source": "", "outputs": [], "execution_count": None}]}


def test_student_ids():
    sid = collect_mod.student_id
    assert sid("Yamada Taro_123456_assignsubmission_file_gradcam.ipynb") == "123456"
    assert sid("s001_gradcam_ja.ipynb") == "s001"
    assert sid("a b/c.ipynb") == "c"
    assert sid("../../etc passwd.ipynb") == "etc_passwd"
    assert sid("山田.ipynb").startswith("student_")


def test_collect_zip_reports_problems(tmp_path):
    course = course_mod.init(tmp_path / "course")
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("Alice_1001_assignsubmission_file_gradcam.ipynb", json.dumps(_nb("ja")))
        zf.writestr("Bob_1002_assignsubmission_file_gradcam.ipynb", json.dumps(_nb("en")))
        zf.writestr("Bob_1002_assignsubmission_file_gradcam_old.ipynb", json.dumps(_nb("en")))
        zf.writestr("Carol_1003_assignsubmission_file_gradcam.ipynb", "{not json")
        zf.writestr("Dave_1004_assignsubmission_file_notes.txt", "hello")
        zf.writestr("Eve_1005_assignsubmission_file_other.ipynb", json.dumps({"nbformat": 4, "cells": []}))
    messages = []
    report = collect_mod.collect(course, archive, progress=messages.append)
    accepted = {(a["student"], a["assignment"]) for a in report["accepted"]}
    assert accepted == {("1001", "gradcam_ja"), ("1002", "gradcam_en")}
    problems = {p["file"]: p["problem"] for p in report["problems"]}
    assert len(problems) == 4
    assert any("duplicate" in text for text in problems.values())
    assert any("invalid JSON" in text for text in problems.values())
    assert (course / "submitted/1001/gradcam_ja/gradcam.ipynb").exists()
    assert any("PROBLEM" in m for m in messages)
    assert json.loads((course / ".grader/collect.json").read_text())["problems"]


def test_feedback_preprocessor_cuts_tracebacks():
    import nbformat
    from grader.feedback import StripTracebacks, banner, insert_banner
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [nbformat.v4.new_output("error", ename="AssertionError", evalue="max 0: did you divide?",
                                           traceback=["\x1b[31mTraceback (most recent call last)", "hidden code"])]
    notebook = nbformat.v4.new_notebook(cells=[cell])
    StripTracebacks()(notebook, {})
    assert cell.outputs[0]["traceback"] == ["AssertionError: max 0: did you divide?"]
    page = insert_banner("<html><body><p>x</p></body></html>",
                         banner({"crosscheck_score": 7, "auto_max": 10, "cells": {"test_a": 0},
                                 "messages": {"test_a": "<bad>"}}, "ja"))
    assert "7 / 10" in page and "&lt;bad&gt;" in page and page.index("7 / 10") < page.index("<p>x</p>")
