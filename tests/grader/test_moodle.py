"""Moodle's formats, as Moodle's own code writes and reads them (mod/assign).

The worksheet below is laid out as "Download grading worksheet" writes it
(gradingtable.php through dataformat_csv: UTF-8 byte-order mark, PHP fputcsv
quoting, "\\n" line ends, "Participant <id>" identifiers, "-" for no date);
the zip paths as "Download all submissions" names them (downloader.php).
"""
from __future__ import annotations

import json
import zipfile

import pytest

from grader import collect as collect_mod
from grader import course as course_mod
from grader import moodle

HEADER = ('Identifier,"Full name","Email address",Status,Grade,"Maximum grade","Grade can be changed",'
          '"Last modified (submission)","Last modified (grade)","Feedback comments"')
ROWS = [
    ('"Participant 1001","山田 太郎",taro@example.jp,"Submitted for grading",,100.00,Yes,'
     '"Monday, 1 December 2025, 10:31 AM",-,'),
    ('"Participant 1002","Jane Doe",jane@example.org,"Submitted for grading - Graded",50.00,100.00,Yes,'
     '"Monday, 1 December 2025, 11:02 AM","Tuesday, 2 December 2025, 9:00 AM","<p>Good start.</p>"'),
    ('"Participant 1003","Lee Locked",lee@example.org,"Submitted for grading",,100.00,No,'
     '"Monday, 1 December 2025, 11:40 AM",-,'),
    '"Participant 1004","No Show",noshow@example.org,"No submission",,100.00,Yes,-,-,',
]
WORKSHEET = ("\ufeff" + "\n".join([HEADER, *ROWS]) + "\n").encode("utf-8")
JAPANESE_HEADER = ('ID,フルネーム,メールアドレス,ステータス,評点,最大評点,評点変更可,"最終更新日時 (提出)",'
                   '"最終更新日時 (評定)",フィードバックコメント')


@pytest.fixture
def worksheet(tmp_path):
    path = tmp_path / "Grades-GC101-Grad-CAM-42.csv"
    path.write_bytes(WORKSHEET)
    return path


def test_an_untouched_worksheet_is_written_back_byte_for_byte(worksheet, tmp_path):
    sheet = moodle.read_worksheet(worksheet)
    assert sheet.byte_order_mark and sheet.encoding == "utf-8" and sheet.newline == "\n"
    assert [sheet.participant(row) for row in sheet.rows] == ["1001", "1002", "1003", "1004"]
    assert moodle.write_worksheet(sheet, tmp_path / "out.csv").read_bytes() == WORKSHEET


def test_fill_grades_comments_and_lists_everyone(worksheet, tmp_path):
    sheet = moodle.read_worksheet(worksheet)
    outcome = moodle.fill_worksheet(sheet, {"1001": (0.8125, "自動採点 13/16 / Autograded 13/16"),
                                            "1002": (0.5, "Autograded 8/16 <ReLU>"),
                                            "1003": (1.0, "Autograded 16/16"),
                                            "2001": (0.25, "not in this worksheet")})
    assert outcome["filled"] == ["1001", "1002"]
    assert "cannot be changed" in outcome["not_filled"]["1003"]
    assert outcome["no_submission"] == ["1004"] and outcome["no_participant"] == ["2001"]
    written = moodle.write_worksheet(sheet, tmp_path / "upload.csv").read_bytes()
    assert written.startswith(b"\xef\xbb\xbf" + HEADER.encode())            # same columns, same encoding
    rows = {row[0]: row for row in moodle.read_worksheet(tmp_path / "upload.csv").rows}
    assert rows["Participant 1001"][4] == "81.25" and rows["Participant 1002"][4] == "50.00"
    assert rows["Participant 1003"][4] == "" and rows["Participant 1004"][4] == ""
    # dates restated for strtotime(); "-" as the latest time the worksheet shows (no later than its download)
    assert rows["Participant 1002"][8] == "2025-12-02 09:00" and rows["Participant 1001"][8] == "2025-12-02 09:00"
    comment = rows["Participant 1002"][9]
    assert comment.startswith("<p>Good start.</p><br>" + moodle.COMMENT_MARK)  # the teacher's comment kept
    assert "&lt;ReLU&gt;" in comment


def test_filling_again_replaces_only_the_autograders_comment(worksheet, tmp_path):
    sheet = moodle.read_worksheet(worksheet)
    moodle.fill_worksheet(sheet, {"1002": (0.5, "first")})
    moodle.fill_worksheet(sheet, {"1002": (0.75, "second")})
    comment = sheet.rows[1][9]
    assert comment == f"<p>Good start.</p><br>{moodle.COMMENT_MARK} second" and sheet.rows[1][4] == "75.00"


def test_grade_pending_is_left_as_it_was(worksheet):
    sheet = moodle.read_worksheet(worksheet)
    outcome = moodle.fill_worksheet(sheet, {"1002": (None, "waiting for the discussion questions")})
    assert outcome["filled"] == [] and "not fully graded" in outcome["not_filled"]["1002"]
    assert sheet.rows[1][4] == "50.00"


def test_japanese_moodle_and_a_spreadsheet_resave(tmp_path):
    """A Japanese-language Moodle's titles; Excel re-saves as Shift_JIS with CRLF, no byte-order mark and
    "10.00" as "10". The upload file is UTF-8 (the upload form's default) with two decimals."""
    rows = ["参加者1001,山田 太郎,taro@example.jp,評定のために提出済み,,10,Yes,2025年 06月 3日(火曜日) 14:20,-,"]
    path = tmp_path / "ws.csv"
    path.write_bytes(("\r\n".join([JAPANESE_HEADER, *rows]) + "\r\n").encode("cp932"))
    sheet = moodle.read_worksheet(path)
    assert sheet.encoding == "cp932" and sheet.newline == "\r\n" and not sheet.byte_order_mark
    assert set(sheet.columns) == {"identifier", "grade", "maximum", "changeable", "submitted", "modified", "comments"}
    assert moodle.fill_worksheet(sheet, {"1001": (0.72, "自動採点")})["filled"] == ["1001"]
    data = moodle.write_worksheet(sheet, tmp_path / "out.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf" + JAPANESE_HEADER.encode("utf-8")) and b"\r\n" in data
    assert moodle.read_worksheet(tmp_path / "out.csv").rows[0][4:9] == [
        "7.20", "10", "Yes", "2025年 06月 3日(火曜日) 14:20", "2025-06-03 14:20"]


@pytest.mark.parametrize("content, why", [
    (b"name,score\nalice,3\n", "Grade"),
    ((HEADER + '\n"Someone",x,y,z,,100.00,Yes,-,-,\n').encode(), "Participant"),
    (b"", "empty"),
])
def test_a_file_that_is_not_a_worksheet_says_what_to_do(tmp_path, content, why):
    path = tmp_path / "grades.csv"
    path.write_bytes(content)
    with pytest.raises(moodle.WorksheetError) as error:
        moodle.read_worksheet(path)
    assert str(path) in str(error.value) and why in str(error.value)


def test_format_grade_follows_the_worksheet():
    assert moodle.format_grade(0.8125, "100.00") == "81.25"
    assert moodle.format_grade(0.2, "16") == "3.20"          # a re-saved "16.00" keeps Moodle's two decimals
    assert moodle.format_grade(1 / 3, "10,00") == "3,33"


# -- zip paths -----------------------------------------------------------------------
@pytest.mark.parametrize("path, expected", [
    # downloader.php: folders (the default since 3.1), flat files, blind marking, before 4.1
    ("山田 太郎_1001_assignsubmission_file/gradcam.ipynb", ("山田 太郎", "1001")),
    ("Jane Doe_1002_assignsubmission_file_gradcam.ipynb", ("Jane Doe", "1002")),
    ("Participant_1003_assignsubmission_file/sub/gradcam.ipynb", ("Participant", "1003")),
    ("Old Style_1004_assignsubmission_file_/gradcam.ipynb", ("Old Style", "1004")),
    # the cases of Moodle's own importziplib_test.php
    ("some_path_here/RandomFile.txt", None),
    ("Student Name_StringID_assignsubmission_file_My_cool_filename.txt", None),
    ("some_path_here/Student Name_77_assignsubmission_file_/some_path/My File.txt", ("Student Name", "77")),
    ("s001_gradcam_ja.ipynb", None),
])
def test_participant_ids_as_moodle_reads_them(path, expected):
    assert moodle.participant_folder(path) == expected


def test_the_feedback_zip_is_laid_out_for_moodles_importer(tmp_path):
    pages = {}
    for name, participant in (("山田 太郎", "1001"), ("Jane Doe", "1002")):
        page = tmp_path / f"{participant}_gradcam_ja.html"
        page.write_text(f"<p>{name}</p>", encoding="utf-8")
        pages[(name, participant)] = [page]
    target = moodle.write_feedback_zip(pages, tmp_path / "feedback.zip")
    with zipfile.ZipFile(target) as archive:
        names = archive.namelist()
        assert names == ["山田 太郎_1001_assignfeedback_file/1001_gradcam_ja.html",
                         "Jane Doe_1002_assignfeedback_file/1002_gradcam_ja.html"]
        assert all(info.flag_bits & 0x800 for info in archive.infolist() if not info.filename.isascii())
        for entry in names:                       # what the importer takes: participant, then the file name
            folder, filename = entry.split("/", 1)
            assert moodle.participant_folder(entry)[1] == folder.split("_")[1] and filename.endswith(".html")


NOTEBOOK = {"nbformat": 4, "nbformat_minor": 5, "metadata": {"gradcam_assignment": {
    "lang": "ja", "assignment": "gradcam_ja"}}, "cells": [
    {"cell_type": "code", "id": "ja-00", "metadata": {"nbgrader": {"grade_id": "compute_gradcam"}},
     "source": "", "outputs": [], "execution_count": None}]}


def test_collect_reads_moodles_folder_layout(tmp_path):
    """Moodle's default zip puts each student's files in a folder; the file keeps its own name."""
    course = course_mod.init(tmp_path / "course")
    archive = tmp_path / "GC101-Grad-CAM-42.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("山田 太郎_1001_assignsubmission_file/gradcam.ipynb", json.dumps(NOTEBOOK))
        zf.writestr("Jane Doe_1002_assignsubmission_file/gradcam.ipynb", json.dumps(NOTEBOOK))
        zf.writestr("Jane Doe_1002_assignsubmission_onlinetext/onlinetext.html", "<p>see the notebook</p>")
    report = collect_mod.collect(course, archive, progress=lambda text: None)
    assert sorted(entry["student"] for entry in report["accepted"]) == ["1001", "1002"]
    assert [problem["file"] for problem in report["problems"]] == [
        "Jane Doe_1002_assignsubmission_onlinetext/onlinetext.html"]


def test_students_not_from_moodle_are_listed_not_zipped(tmp_path):
    from grader.report import feedback_zip
    course = course_mod.init(tmp_path / "course")
    source = tmp_path / "notebooks"
    (source / "山田 太郎_1001_assignsubmission_file").mkdir(parents=True)
    (source / "山田 太郎_1001_assignsubmission_file" / "gradcam.ipynb").write_text(json.dumps(NOTEBOOK))
    (source / "s001_gradcam_ja.ipynb").write_text(json.dumps(NOTEBOOK))
    collect_mod.collect(course, source, progress=lambda text: None)
    pages = {}
    for student in ("1001", "s001"):
        pages[("gradcam_ja", student)] = tmp_path / f"{student}_gradcam_ja.html"
        pages[("gradcam_ja", student)].write_text("<p>feedback</p>")
    outcome = feedback_zip(course, pages, tmp_path / "moodle_feedback.zip")
    assert outcome["participants"] == ["1001"] and outcome["not_from_moodle"] == ["s001"]
    with zipfile.ZipFile(outcome["zip"]) as archive:
        assert archive.namelist() == ["山田 太郎_1001_assignfeedback_file/1001_gradcam_ja.html"]
