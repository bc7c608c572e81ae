"""The whole round trip to Moodle, judged by a model of Moodle's own importers.

``moodle_model.php`` plays the assignment: it writes the grading worksheet as
``gradingtable.php`` does (English or Japanese site, blind marking, the
teacher's dates from ``userdate``) and imports worksheets and feedback zips
the way ``importgradeslib.php``/``locallib.php`` and ``importziplib.php`` do,
with PHP's own ``strtotime``, ``fgetcsv`` and ``iconv`` deciding what parses.
Every upload uses Moodle's default options (encoding UTF-8, "Allow updating
records modified more recently..." unticked). The tests count the grades,
comments and files Moodle would take.
"""
from __future__ import annotations

import base64
import csv
import datetime
import hashlib
import io
import json
import re
import shutil
import subprocess
import zipfile
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from grader import moodle

PHP = shutil.which("php")
pytestmark = pytest.mark.skipif(PHP is None, reason="needs PHP (apt-get install php-cli, or make system-packages): "
                                                    "the importer model runs PHP's own strtotime and fgetcsv")
MODEL = Path(__file__).with_name("moodle_model.php")
SITE_TZ = "Asia/Tokyo"
HOUR = 3600


def at(text: str) -> int:
    """A Tokyo wall-clock time as a Unix time, seconds included (Moodle keeps them, its dates do not)."""
    return int(datetime.datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(SITE_TZ)).timestamp())


SUBMITTED = at("2025-06-03 14:20:37")
DOWNLOADED = at("2025-06-10 09:05:12")
# Names with a comma, an apostrophe and non-ASCII letters; participant ids as Moodle numbers them.
PEOPLE = {"348201": "山田 太郎", "348202": "Doe, Jane", "348203": "Müller, Jürgen", "348204": "O'Neil Ann",
          "348205": "佐藤 花子"}
# What the tool grades: fractions of the 16-point maximum (3.2 and 11.2 need their decimals).
AUTO = {"348201": 0.2, "348202": 0.7, "348203": 1.0, "348204": 0.5, "348205": 0.8125}
TOTAL = {"348201": 0.45, "348202": 0.85, "348203": 0.95, "348204": 0.6, "348205": 0.9}


def php(mode: str, payload) -> str:
    done = subprocess.run([PHP, str(MODEL), mode], input=json.dumps(payload), capture_output=True, text=True,
                          timeout=60, check=True)
    return done.stdout


class Assignment:
    """One Moodle assignment (16 points) in the model, on an English or Japanese site."""

    def __init__(self, lang: str, blind: bool = False):
        self.site = {"lang": lang, "timezone": SITE_TZ}
        self.state = {"maxgrade": 16, "blind": blind, "participants": {
            pid: {"name": name, "email": f"s{pid}@example.jp", "submitted": SUBMITTED + index * 60, "locked": False,
                  "grade": None} for index, (pid, name) in enumerate(PEOPLE.items())}}

    def download(self, path: Path) -> Path:
        path.write_bytes(php("download", {"site": self.site, "state": self.state}).encode("utf-8"))
        return path

    def upload(self, path: Path, now: int, encoding: str = "UTF-8") -> dict:
        result = json.loads(php("upload", {"site": self.site, "state": self.state, "now": now,
                                           "csv_b64": base64.b64encode(path.read_bytes()).decode(),
                                           "encoding": encoding, "ignoremodified": False}))
        self.state = result.pop("state", self.state)
        return result

    def upload_zip(self, path: Path, now: int) -> dict:
        with zipfile.ZipFile(path) as archive:
            files = {name: hashlib.sha1(archive.read(name)).hexdigest() for name in archive.namelist()}
        result = json.loads(php("zip", {"site": self.site, "state": self.state, "now": now, "files": files}))
        self.state = result.pop("state")
        return result

    def grade_by_hand(self, pid: str, grade: float, now: int, comment: str = "<p>by hand</p>"):
        """What the grader page does: update_grade() stamps the record with the time."""
        record = self.state["participants"][pid]["grade"] or {"files": {}}
        record.update(grade=grade, timemodified=now, comment=comment)
        self.state["participants"][pid]["grade"] = record

    def grade(self, pid: str):
        record = self.state["participants"][pid]["grade"]
        return None if record is None or record["grade"] == -1 else record["grade"]

    def comment(self, pid: str) -> str:
        return (self.state["participants"][pid]["grade"] or {}).get("comment", "")


def graded_by_hand(lang: str, blind: bool = False) -> Assignment:
    """An assignment where one participant was graded in Moodle before anything was downloaded."""
    site = Assignment(lang, blind)
    site.grade_by_hand("348205", 12.5, at("2025-06-04 09:30:00"))
    return site


def feedback_zip(folder: Path) -> Path:
    """The tool's feedback zip: one page per participant, folders named as the submissions zip names them."""
    pages = {}
    for pid, name in PEOPLE.items():
        page = folder / f"{pid}_gradcam_ja.html"
        page.write_text(f"<p>{name}</p>", encoding="utf-8")
        pages[(name.replace("_", " "), pid)] = [page]
    return moodle.write_feedback_zip(pages, folder / "moodle_feedback.zip")


def fill(worksheet: Path, fractions: dict, target: Path) -> dict:
    """The tool's part: read the worksheet, fill every participant's grade and comment, write the upload file."""
    sheet = moodle.read_worksheet(worksheet)
    outcome = moodle.fill_worksheet(sheet, {pid: (f, f"自動採点 / autograded {pid}") for pid, f in fractions.items()})
    moodle.write_worksheet(sheet, target)
    return outcome


def expected(fractions: dict, pid: str) -> float:
    return round(16 * fractions[pid], 2)


SITES = [("en", False), ("ja", False), ("ja", True)]


@pytest.mark.parametrize("lang, blind", SITES)
def test_the_worksheet_model_writes_what_moodle_writes(tmp_path, lang, blind):
    """The model's download has Moodle's layout: titles, identifiers, dates, "-" where no grade record exists."""
    data = graded_by_hand(lang, blind).download(tmp_path / "Grades.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and b"\r" not in data
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    header = dict(zip(rows[0], rows[1]))
    if lang == "ja":
        assert rows[0][0] == "ID" and rows[1][0] == "参加者348201"
        assert header["最終更新日時 (提出)"] == "2025年 06月 3日(火曜日) 14:20" and header["最終更新日時 (評定)"] == "-"
        assert rows[5][rows[0].index("評点")] == "12.50" and rows[5][rows[0].index("最大評点")] == "16.00"
    else:
        assert rows[1][0] == "Participant 348201" and header["Last modified (submission)"] == "Tuesday, 3 June 2025, 2:20 PM"
    assert ("山田 太郎" in data.decode("utf-8-sig")) is not blind
    assert b'"Doe, Jane"' in data or blind


def test_strtotime_reads_the_restated_dates_as_the_same_minute():
    """PHP's strtotime fails on Moodle's Japanese date and on "-"; the tool's form is read as the same minute."""
    japanese, english = "2025年 06月 3日(火曜日) 14:20", "Tuesday, 3 June 2025, 2:20 PM"
    restated = [moodle.parse_date(text).strftime(moodle.STRTOTIME_FORMAT)
                for text in (japanese, english, "Tuesday, June 3, 2025, 2:20 PM", "2025/06/03 14:20")]
    parsed = json.loads(php("strtotime", [japanese, "-", english, *restated]))
    assert parsed[:2] == [False, False]                              # what Moodle gets from a Japanese site
    assert parsed[2:] == [at("2025-06-03 14:20:00")] * 5
    assert moodle.parse_date("2025年 06月 3日(火曜日) 0:05") == datetime.datetime(2025, 6, 3, 0, 5)
    assert moodle.parse_date("Tuesday, 3 June 2025, 12:05 AM") == datetime.datetime(2025, 6, 3, 0, 5)
    assert moodle.parse_date("mardi 3 juin 2025, 14:20") is None


@pytest.mark.parametrize("lang, blind", SITES)
def test_first_upload_imports_every_grade_and_comment(tmp_path, lang, blind):
    """One participant was graded by hand before the download: that row has a date, the others "-"."""
    site = graded_by_hand(lang, blind)
    outcome = fill(site.download(tmp_path / "Grades.csv"), AUTO, tmp_path / "upload.csv")
    assert site.upload(tmp_path / "upload.csv", DOWNLOADED + HOUR) == {"grades": 5, "feedback": 5}
    assert {pid: site.grade(pid) for pid in PEOPLE} == {pid: expected(AUTO, pid) for pid in PEOPLE}
    assert site.comment("348205").startswith("<p>by hand</p><br>" + moodle.COMMENT_MARK)
    assert outcome["filled"] == list(PEOPLE) and outcome["moodle_skips"] == {}     # nothing to warn about


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_second_upload_after_formgrader_grading(tmp_path, lang):
    """Autograded grades first; after the discussion questions are graded, the totals from a fresh download."""
    site = Assignment(lang)
    fill(site.download(tmp_path / "first.csv"), AUTO, tmp_path / "upload1.csv")
    assert site.upload(tmp_path / "upload1.csv", DOWNLOADED)["grades"] == 5
    fill(site.download(tmp_path / "second.csv"), TOTAL, tmp_path / "upload2.csv")
    assert site.upload(tmp_path / "upload2.csv", DOWNLOADED + 2 * HOUR) == {"grades": 5, "feedback": 0}
    assert {pid: site.grade(pid) for pid in PEOPLE} == {pid: expected(TOTAL, pid) for pid in PEOPLE}


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_feedback_zip_first_then_the_worksheet(tmp_path, lang):
    """The zip makes grade records (stamped with the submission time) after the worksheet was downloaded."""
    site = graded_by_hand(lang)
    worksheet = site.download(tmp_path / "Grades.csv")
    archive = feedback_zip(tmp_path)
    assert site.upload_zip(archive, DOWNLOADED + HOUR) == {"users": 5, "added": 5, "updated": 0}
    assert site.upload_zip(archive, DOWNLOADED + HOUR) == {"users": 0, "added": 0, "updated": 0}   # unchanged files
    fill(worksheet, AUTO, tmp_path / "upload.csv")
    assert site.upload(tmp_path / "upload.csv", DOWNLOADED + 2 * HOUR) == {"grades": 5, "feedback": 5}
    assert {pid: site.grade(pid) for pid in PEOPLE} == {pid: expected(AUTO, pid) for pid in PEOPLE}


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_a_grade_changed_in_moodle_after_the_download_is_never_overwritten(tmp_path, lang):
    """After the download a teacher changes one grade and gives a first one; the feedback zip goes up too."""
    site = graded_by_hand(lang)
    worksheet = site.download(tmp_path / "Grades.csv")
    site.grade_by_hand("348205", 14.0, DOWNLOADED + 2 * 60, "<p>changed</p>")   # dated row, changed
    site.grade_by_hand("348201", 9.0, DOWNLOADED + 2 * 60, "<p>new</p>")        # "-" row, graded since
    assert site.upload_zip(feedback_zip(tmp_path), DOWNLOADED + HOUR)["added"] == 5
    fill(worksheet, AUTO, tmp_path / "upload.csv")
    assert site.upload(tmp_path / "upload.csv", DOWNLOADED + 2 * HOUR) == {"grades": 3, "feedback": 3}
    assert site.grade("348205") == 14.0 and site.comment("348205") == "<p>changed</p>"
    assert site.grade("348201") == 9.0 and site.comment("348201") == "<p>new</p>"
    assert [site.grade(pid) for pid in ("348202", "348203", "348204")] == [11.2, 16.0, 8.0]


def test_a_reused_worksheet_is_refused_by_moodle_and_export_says_so(tmp_path):
    """Filling the first download again for the later upload: Moodle keeps its newer grades; export names them."""
    from grader.report import print_moodle_export
    site = Assignment("ja")
    worksheet = site.download(tmp_path / "Grades.csv")
    history = tmp_path / "moodle_worksheets.json"
    first = moodle.export_worksheet(worksheet, {p: (f, "auto") for p, f in AUTO.items()}, tmp_path / "1.csv", history)
    assert first["filled_before"] is None
    assert site.upload(tmp_path / "1.csv", DOWNLOADED + HOUR)["grades"] == 5
    again = moodle.export_worksheet(worksheet, {p: (f, "total") for p, f in TOTAL.items()}, tmp_path / "2.csv",
                                    history)
    assert site.upload(tmp_path / "2.csv", DOWNLOADED + 2 * HOUR) == {"grades": 0, "feedback": 0}
    assert again["filled_before"]["filled"] == list(PEOPLE)
    lines = []
    print_moodle_export({**again, "both_languages": []}, progress=lines.append)
    warning = next(line for line in lines if "WORKSHEET USED BEFORE" in line)
    assert all(pid in warning for pid in PEOPLE) and "download the grading worksheet again" in warning


def excel_resave(data: bytes, dates_as_numbers: bool = False) -> bytes:
    """What Excel's "CSV (comma delimited)" does on Japanese Windows: CP932, CRLF, no byte-order mark,
    numbers in General format ("16.00" -> "16", "12.50" -> "12.5"), quotes only where needed."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in csv.reader(io.StringIO(data.decode("utf-8-sig"))):
        cells = []
        for cell in row:
            try:
                number = float(cell)
                cell = f"{number:g}"
            except ValueError:
                if dates_as_numbers:     # Excel took the Japanese date for a date and shows it its own way
                    cell = re.sub(r"^(\d{4})年 (\d{2})月 (\d{1,2})日\(.*\) (\d{2}:\d{2})$",
                                  lambda m: f"{m[1]}/{m[2]}/{int(m[3]):02d} {m[4]}", cell)
            cells.append(cell)
        writer.writerow(cells)
    return out.getvalue().encode("cp932", errors="replace")      # Excel writes "?" for what CP932 lacks (ü)


@pytest.mark.parametrize("lang, dates_as_numbers", [("en", False), ("ja", False), ("ja", True)])
def test_an_excel_shift_jis_resave_keeps_decimals_and_uploads_as_utf8(tmp_path, lang, dates_as_numbers):
    site = graded_by_hand(lang)
    resaved = tmp_path / "Grades.csv"
    resaved.write_bytes(excel_resave(site.download(tmp_path / "download.csv").read_bytes(), dates_as_numbers))
    assert b"16.00" not in resaved.read_bytes() and not resaved.read_bytes().startswith(b"\xef\xbb\xbf")
    assert (b"2025/06/03 14:20" in resaved.read_bytes()) is dates_as_numbers
    outcome = fill(resaved, AUTO, tmp_path / "upload.csv")
    assert site.upload(tmp_path / "upload.csv", DOWNLOADED + HOUR) == {"grades": 5, "feedback": 5}
    assert {pid: site.grade(pid) for pid in PEOPLE} == {pid: expected(AUTO, pid) for pid in PEOPLE}
    assert site.comment("348201") == f"{moodle.COMMENT_MARK} 自動採点 / autograded 348201"
    assert (tmp_path / "upload.csv").read_bytes().startswith(b"\xef\xbb\xbf") and outcome["encoding"] == "cp932"


def test_export_says_which_encoding_to_choose_and_which_rows_moodle_will_skip(tmp_path):
    """A worksheet from a French-language Moodle: dates strtotime cannot read are named, with what to do."""
    from grader.report import print_moodle_export
    site = graded_by_hand("en")
    data = site.download(tmp_path / "download.csv").read_bytes().decode("utf-8-sig")
    french = "mardi 4 juin 2025, 09:30"
    (tmp_path / "Grades.csv").write_bytes(
        excel_resave(data.replace("Wednesday, 4 June 2025, 9:30 AM", french).encode("utf-8")))
    assert json.loads(php("strtotime", [french])) == [False]
    outcome = moodle.export_worksheet(tmp_path / "Grades.csv", {p: (f, "auto") for p, f in AUTO.items()},
                                      tmp_path / "upload.csv", tmp_path / "history.json")
    assert list(outcome["moodle_skips"]) == ["348205"]
    assert site.upload(tmp_path / "upload.csv", DOWNLOADED + HOUR)["grades"] == 4       # as export said
    lines = []
    print_moodle_export({**outcome, "both_languages": []}, progress=lines.append)
    text = "\n".join(lines)
    assert "Encoding UTF-8" in text and "エンコーディングは UTF-8" in text and "Shift_JIS (CP932)" in text
    assert f"MOODLE WILL SKIP / Moodle がスキップ Participant 348205: Moodle cannot read its 'Last modified (grade)' " \
           f"date {french!r}" in text and "Allow updating records" in text


SCALE_HEADER = ('Identifier,"Full name","Email address",Status,Grade,Scale,"Grade can be changed",'
                '"Last modified (submission)","Last modified (grade)","Feedback comments"')


@pytest.mark.parametrize("kind", ["scale", "ungraded"])
def test_scale_and_ungraded_assignments_get_comments_and_a_clear_message(tmp_path, kind):
    """gradingtable.php writes a "Scale" column (its items, one a line) instead of "Maximum grade" for a
    scale; an assignment without a grade has a maximum of 0."""
    from grader.report import print_moodle_export
    if kind == "scale":
        header, limit = SCALE_HEADER, '"Not yet\nPass\nMerit"'
    else:
        header, limit = SCALE_HEADER.replace("Scale", '"Maximum grade"'), "0.00"
    rows = [f'"Participant {pid}","Student {pid}",s{pid}@example.jp,"Submitted for grading",,{limit},Yes,'
            f'"Tuesday, 3 June 2025, 2:20 PM",-,' for pid in PEOPLE]
    (tmp_path / "Grades.csv").write_bytes(("\ufeff" + "\n".join([header, *rows]) + "\n").encode("utf-8"))
    outcome = moodle.export_worksheet(tmp_path / "Grades.csv", {p: (f, "auto") for p, f in AUTO.items()},
                                      tmp_path / "upload.csv", tmp_path / "history.json")
    assert outcome["filled"] == [] and outcome["grades_off"] == (
        moodle.SCALE_GRADED if kind == "scale" else moodle.UNGRADED)
    sheet = moodle.read_worksheet(tmp_path / "upload.csv")
    assert all(row[4] == "" and moodle.COMMENT_MARK in row[9] for row in sheet.rows)
    lines = []
    print_moodle_export({**outcome, "both_languages": []}, progress=lines.append)
    assert any(line.startswith("  NO GRADES / 評点なし: ") for line in lines)
