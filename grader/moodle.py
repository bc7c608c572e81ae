"""Moodle's assignment files: participant ids, the grading worksheet and the feedback-files zip.

Each format as Moodle's own code (``mod/assign``) writes and reads it:

- **Submissions zip** ("Download all submissions", ``classes/downloader.php``):
  every file lies under a folder ``<full name>_<participant id>_assignsubmission_file/``
  (the default since Moodle 3.1) or is named ``<full name>_<participant id>_assignsubmission_file_<file>``.
  Underscores in the name are replaced by spaces, so the id is always the second
  ``_``-separated field. The participant id is the assignment's own
  ``assign_user_mapping`` id, not the user id.
- **Feedback zip** ("Upload multiple feedback files in a zip",
  ``feedback/file/importziplib.php``): a file is given to the participant whose id
  is the second field of a path part ``<name>_<id>_<plugin type>_<plugin>``; the rest
  of the path is the file's name. :func:`write_feedback_zip` uses
  ``<name>_<id>_assignfeedback_file/<page>.html``.
- **Grading worksheet** ("Download grading worksheet", ``feedback/offline``): a CSV
  written by ``gradingtable.php`` (UTF-8 with a byte-order mark, commas, PHP ``fputcsv``
  quoting, dates as the teacher's ``userdate``: "Tuesday, 2 December 2025, 9:00 AM" or
  "2025年 12月 2日(火曜日) 09:00", "-" where there is no grade record). "Upload grading
  worksheet" (``importgradeslib.php``, ``locallib.php``) decodes it with the encoding
  chosen in its form (UTF-8 by default), finds its columns by their titles in the
  teacher's language (``Identifier``, ``Grade``, ``Last modified (grade)``, one column
  per feedback plugin such as ``Feedback comments``) and the participant by the number
  after "Participant " in the identifier. It skips a grade that is empty, unchanged,
  above the maximum or locked, and, with its comment, any row whose grade record in
  Moodle is more than 60 s newer than ``strtotime(Last modified (grade))``: the check
  that keeps a grade changed in Moodle after the download. ``strtotime`` reads the
  English date but not the Japanese one or "-" (both become time 0, so every row with a
  grade record is skipped). :func:`fill_worksheet` therefore rewrites that cell as
  ``YYYY-MM-DD HH:MM`` (the same minute) and a "-" as the latest time the worksheet
  shows (no later than the download), changes only the grade and feedback-comment
  cells besides, and :func:`write_worksheet` writes UTF-8 with a byte-order mark, the
  upload form's default, whatever the file was read as.
"""
from __future__ import annotations

import csv
import datetime
import hashlib
import html
import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

PLUGIN_TYPES = ("assignsubmission", "assignfeedback")
IDENTIFIER = re.compile(r"^\D*?(\d+)$")
# Column titles in Moodle's English and Japanese language packs (assign.php, moodle.php,
# assignfeedback_comments.php): the importer needs identifier, grade and modified.
TITLES = {
    "identifier": ("Identifier", "ID"),
    "grade": ("Grade", "評点"),
    "maximum": ("Maximum grade", "最大評点"),
    "scale": ("Scale", "評価尺度"),
    "changeable": ("Grade can be changed", "評点変更可"),
    "submitted": ("Last modified (submission)", "最終更新日時 (提出)"),
    "modified": ("Last modified (grade)", "最終更新日時 (評定)"),
    "comments": ("Feedback comments", "フィードバックコメント"),
}
CANNOT_CHANGE = ("No", "いいえ")
NO_DATE = ("", "-")
# A form PHP's strtotime() reads on every site (in the server's time zone, as it reads Moodle's English dates).
STRTOTIME_FORMAT = "%Y-%m-%d %H:%M"
MONTHS = {name: number for number, name in enumerate(
    ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
     "november", "december"), start=1)}
# userdate() with strftimedaydatetime: ja "%Y年 %m月 %d日(%A) %H:%M", en "%A, %d %B %Y, %I:%M %p",
# en_us "%A, %B %d, %Y, %I:%M %p"; and "2025/12/02 09:00" as a spreadsheet may re-save it.
DATE_FORMS = (
    re.compile(r"^(?P<year>\d{4})年\s*(?P<month>\d{1,2})月\s*(?P<day>\d{1,2})日\s*(?:\([^)]*\))?\s*"
               r"(?P<hour>\d{1,2}):(?P<minute>\d{2})$"),
    re.compile(r"^(?:[A-Za-z]+,\s*)?(?P<day>\d{1,2})\s+(?P<monthname>[A-Za-z]+)\s+(?P<year>\d{4}),?\s+"
               r"(?P<hour>\d{1,2}):(?P<minute>\d{2})\s*(?P<half>[AaPp][Mm])?$"),
    re.compile(r"^(?:[A-Za-z]+,\s*)?(?P<monthname>[A-Za-z]+)\s+(?P<day>\d{1,2}),\s*(?P<year>\d{4}),?\s+"
               r"(?P<hour>\d{1,2}):(?P<minute>\d{2})\s*(?P<half>[AaPp][Mm])?$"),
    re.compile(r"^(?P<year>\d{4})[/-](?P<month>\d{1,2})[/-](?P<day>\d{1,2})[ T]+"
               r"(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::\d{2})?$"),
)
COMMENT_MARK = "[Grad-CAM 自動採点 / autograder]"


class WorksheetError(ValueError):
    """A file that is not a Moodle grading worksheet (the message says what to do)."""


# -- participant ids in zip paths --------------------------------------------------
def participant_folder(path: str) -> tuple[str, str] | None:
    """``(name, participant id)`` from the first path part Moodle would take, or None.

    Mirrors ``assignfeedback_file_zip_importer::is_valid_filename_for_import``: a
    part split at ``_`` into at least 4 fields whose second is a number and whose
    third is a plugin type.
    """
    for part in PurePosixPath(str(path).replace("\\", "/")).parts:
        fields = part.split("_", 4)
        if len(fields) >= 4 and fields[1].isdigit() and fields[2] in PLUGIN_TYPES:
            return fields[0], str(int(fields[1]))
    return None


def participant_id(path: str) -> str | None:
    found = participant_folder(path)
    return found[1] if found else None


# -- the feedback zip --------------------------------------------------------------
def write_feedback_zip(pages: dict, target: Path) -> Path:
    """A zip for "Upload multiple feedback files in a zip".

    Parameters
    ----------
    pages : dict of (name, participant id) to list of Path
        The files to give each participant; ``name`` is the full name from the
        submission's folder (any text without "_"; Moodle ignores it).
    target : Path
        The zip to write (atomically).
    """
    from exercise_logic.atomic_files import atomic_path   # here: the package imports TensorFlow
    with atomic_path(target, suffix=".zip") as partial, zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
        for (name, participant), files in sorted(pages.items(), key=lambda item: int(item[0][1])):
            folder = f"{(name or 'Participant').replace('_', ' ')}_{participant}_assignfeedback_file"
            for path in files:
                archive.write(path, f"{folder}/{Path(path).name}")
    return Path(target)


# -- the grading worksheet ---------------------------------------------------------
SCALE_GRADED = ("the assignment is graded with a scale (column 'Scale'): the tool writes numeric grades only, so it "
                "filled the comments alone. To upload grades, set the assignment's grade type to 'Point' and download "
                "the worksheet again / 評価尺度で評定する課題のため、評点は書かずコメントだけ記入しました。評点も戻すには"
                "課題の評定タイプを「点」にして、評定ワークシートをダウンロードし直してください")
UNGRADED = ("the assignment has no grade (no 'Maximum grade' column, or a maximum of 0): the tool filled the comments "
            "alone. To upload grades, give the assignment a maximum grade and download the worksheet again / "
            "評点のない課題（「最大評点」列がないか 0）のため、コメントだけ記入しました。評点も戻すには課題に最大評点を設定して、"
            "評定ワークシートをダウンロードし直してください")
UNREADABLE_DATE = ("Moodle cannot read its 'Last modified (grade)' date {cell!r} and will skip this row as changed in "
                   "Moodle: download the worksheet again with your Moodle language set to English or Japanese, or, "
                   "after checking nobody changed grades since the download, tick 'Allow updating records that have "
                   "been modified more recently in Moodle than in the spreadsheet' / 「最終更新日時 (評定)」を読めないため "
                   "Moodle はこの行をスキップします。英語か日本語の画面でワークシートをダウンロードし直してください")
UNDATED = ("the worksheet shows no date at all, so Moodle skips this row if the feedback zip made a grade record "
           "first: upload this worksheet before the feedback zip / ワークシートに日付が一つもないため、先にフィードバック "
           "ZIP をアップロードしていると Moodle はこの行をスキップします。ワークシートを先にアップロードしてください")


@dataclass
class Worksheet:
    """A grading worksheet as read, plus how to write it back."""

    header: list
    rows: list
    encoding: str
    byte_order_mark: bool
    newline: str
    columns: dict = field(default_factory=dict)   # role -> column index (see TITLES; only some are required)
    fingerprint: str = ""                          # sha256 of the bytes as read

    def participant(self, row) -> str:
        return str(int(IDENTIFIER.match(row[self.columns["identifier"]].strip()).group(1)))

    @property
    def grades_off(self) -> str | None:
        """Why no grade can be written (a scale or an ungraded assignment), or None."""
        if "maximum" not in self.columns:
            return SCALE_GRADED if "scale" in self.columns else UNGRADED
        maxima = {_number(row[self.columns["maximum"]]) for row in self.rows}
        return UNGRADED if maxima and all(m is not None and m <= 0 for m in maxima) else None


def _number(text: str) -> float | None:
    try:
        return float(text.strip().replace(",", "."))
    except ValueError:
        return None


def read_worksheet(path: Path) -> Worksheet:
    """Read a worksheet downloaded from Moodle (UTF-8, or Shift_JIS/CP932 after a spreadsheet re-saved it)."""
    path = Path(path)
    data = path.read_bytes()
    byte_order_mark = data.startswith(b"\xef\xbb\xbf")
    for encoding in ("utf-8", "cp932"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise WorksheetError(f"{path}: not UTF-8 or Shift_JIS text. Download the grading worksheet from Moodle again. / "
                             "文字コードを判別できません。Moodle から評定ワークシートをダウンロードし直してください。")
    text = text[1:] if byte_order_mark else text
    newline = "\r\n" if "\r\n" in text else "\n"
    table = list(csv.reader(io.StringIO(text, newline="")))
    if not table or not table[0]:
        raise WorksheetError(f"{path}: empty file / 空のファイルです")
    header, rows = table[0], [row for row in table[1:] if any(cell.strip() for cell in row)]
    sheet = Worksheet(header=header, rows=rows, encoding=encoding, byte_order_mark=byte_order_mark, newline=newline,
                      fingerprint=hashlib.sha256(data).hexdigest())
    for role, titles in TITLES.items():
        for index, title in enumerate(header):
            if title.strip() in titles:
                sheet.columns[role] = index
    missing = [role for role in ("identifier", "grade", "modified") if role not in sheet.columns]
    bad = [] if missing else [row[sheet.columns["identifier"]] for row in rows
                              if not IDENTIFIER.match(row[sheet.columns["identifier"]].strip())][:3]
    if missing or bad or any(len(row) != len(header) for row in rows):
        raise WorksheetError(
            f"{path}: not a Moodle grading worksheet (columns {header}; "
            + (f"no column {', '.join(' / '.join(TITLES[role]) for role in missing)}, which Moodle's upload needs"
               if missing else
               f"identifiers {bad} are not 'Participant <number>'" if bad else "rows of unequal length")
            + "). Use 'Download grading worksheet' in the assignment's submissions page (enable 'Offline grading "
              "worksheet' under Feedback types). / Moodle の評定ワークシートではありません。課題の「評定ワークシートを"
              "ダウンロードする」で保存したファイルを使ってください。")
    return sheet


def _php_csv_field(value: str) -> str:
    """One field as PHP's fputcsv writes it (Moodle's writer): quoted when it holds , \" \\ space tab or a newline."""
    if any(char in value for char in ',"\\ \t\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def write_worksheet(sheet: Worksheet, target: Path) -> Path:
    """Write a worksheet as Moodle does: UTF-8 with a byte-order mark (the upload form's default encoding)."""
    from exercise_logic.atomic_files import atomic_write  # here: the package imports TensorFlow
    lines = [",".join(_php_csv_field(value) for value in row) for row in [sheet.header, *sheet.rows]]
    text = "\ufeff" + sheet.newline.join(lines) + sheet.newline
    with atomic_write(target, "wb") as handle:
        handle.write(text.encode("utf-8"))
    return Path(target)


def parse_date(text: str) -> datetime.datetime | None:
    """A date as Moodle's ``userdate`` writes it in English or Japanese (or a spreadsheet re-saves it), or None."""
    for form in DATE_FORMS:
        found = form.match(text.strip())
        if not found:
            continue
        parts = found.groupdict()
        month = int(parts["month"]) if parts.get("month") else MONTHS.get(parts["monthname"].lower())
        hour, half = int(parts["hour"]), (parts.get("half") or "").lower()
        if half:
            hour = hour % 12 + (12 if half == "pm" else 0)
        try:
            return datetime.datetime(int(parts["year"]), month or 0, int(parts["day"]), hour, int(parts["minute"]))
        except ValueError:
            return None
    return None


def restate_dates(sheet: Worksheet) -> dict:
    """Rewrite every "Last modified (grade)" cell so that PHP's strtotime() reads the time it means.

    A date becomes ``YYYY-MM-DD HH:MM`` (the same minute). A "-" (no grade record when
    the worksheet was downloaded) becomes the latest time the worksheet shows, which
    is no later than the download: a grade record made since by the feedback zip
    (stamped with the submission's time) still takes the upload, one made by a
    grader after the download does not.

    Returns
    -------
    dict of str to str
        Participant id -> why Moodle will still skip the row (date unreadable, or no date to use).
    """
    column = sheet.columns["modified"]
    shown = [parse_date(row[index]) for row in sheet.rows
             for index in (column, sheet.columns.get("submitted")) if index is not None]
    latest = max((when for when in shown if when), default=None)
    skipped = {}
    for row in sheet.rows:
        cell = row[column].strip()
        when = latest if cell in NO_DATE else parse_date(cell)
        if when:
            row[column] = when.strftime(STRTOTIME_FORMAT)
        else:
            skipped[sheet.participant(row)] = UNDATED if cell in NO_DATE else UNREADABLE_DATE.format(cell=cell)
    return skipped


def format_grade(fraction: float, maximum: str) -> str:
    """``fraction`` of the worksheet's maximum grade with at least Moodle's two decimals, in its decimal mark.

    A spreadsheet that re-saved "16.00" as "16" must not turn 3.2 into 3.
    """
    mark = "," if "," in maximum and "." not in maximum else "."
    decimals = len(re.split(r"[.,]", maximum.strip())[1]) if re.search(r"[.,]", maximum) else 0
    value = float(maximum.replace(",", ".")) * fraction
    return f"{value:.{max(decimals, 2)}f}".replace(".", mark)


def merge_comment(existing: str, ours: str) -> str:
    """The teacher's own comment kept, the autograder's part (after :data:`COMMENT_MARK`) replaced."""
    kept = existing.split(COMMENT_MARK)[0].rstrip()
    if kept.endswith("<br>"):
        kept = kept[:-4].rstrip()
    return (kept + "<br>" if kept else "") + COMMENT_MARK + " " + html.escape(ours)


def fill_worksheet(sheet: Worksheet, grades: dict) -> dict:
    """Fill the grade (and comment) of each participant in ``grades``, in place, and restate the dates.

    Parameters
    ----------
    grades : dict of str to (float or None, str)
        Participant id -> (fraction of the maximum grade, or None to leave the
        grade as it is; the feedback comment).

    Returns
    -------
    dict
        ``filled``: participant ids given a grade; ``not_filled``: {id: why};
        ``no_submission``: worksheet participants with no entry in ``grades``;
        ``no_participant``: entries of ``grades`` that are not in the worksheet;
        ``moodle_skips``: {id: why and what to do} for filled rows Moodle's default
        upload will still skip; ``grades_off``: why no grade was written at all, or None;
        ``comments``: whether the worksheet has a feedback-comment column;
        ``encoding``: what the worksheet was read as.
    """
    filled, not_filled, seen = [], {}, set()
    columns, grades_off = sheet.columns, sheet.grades_off
    skips = restate_dates(sheet)
    for row in sheet.rows:
        participant = sheet.participant(row)
        seen.add(participant)
        if participant not in grades:
            continue
        fraction, comment = grades[participant]
        if "comments" in columns:
            row[columns["comments"]] = merge_comment(row[columns["comments"]], comment)
        if grades_off:
            continue
        if "changeable" in columns and row[columns["changeable"]].strip() in CANNOT_CHANGE:
            not_filled[participant] = "Moodle says the grade cannot be changed (locked or overridden)"
        elif fraction is None:
            not_filled[participant] = "not fully graded yet (manual questions): grade left as it was"
        elif _number(row[columns["maximum"]]) is None:
            not_filled[participant] = f"its 'Maximum grade' {row[columns['maximum']]!r} is not a number"
        else:
            row[columns["grade"]] = format_grade(fraction, row[columns["maximum"]])
            filled.append(participant)
    touched = set(filled) | ({p for p in seen if p in grades} if "comments" in columns else set())
    return {"filled": filled, "not_filled": not_filled,
            "no_submission": sorted((sheet.participant(row) for row in sheet.rows
                                     if sheet.participant(row) not in grades), key=int),
            "no_participant": sorted((p for p in grades if p not in seen), key=lambda p: (len(p), p)),
            "moodle_skips": {p: why for p, why in sorted(skips.items(), key=lambda item: int(item[0]))
                             if p in touched},
            "grades_off": grades_off, "comments": "comments" in columns, "encoding": sheet.encoding}


def remember_fill(history: Path, sheet: Worksheet, filled: list, output: Path) -> dict | None:
    """Record in ``history`` (JSON) that this worksheet was filled; the earlier record of the same file, if any.

    A worksheet filled and uploaded once is stale for its second upload: Moodle's
    grades are then newer than its dates, and Moodle skips those rows.
    """
    from exercise_logic.atomic_files import atomic_write  # here: the package imports TensorFlow
    history = Path(history)
    try:
        records = json.loads(history.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        records = {}
    earlier = records.get(sheet.fingerprint)
    records[sheet.fingerprint] = {"when": datetime.datetime.now().isoformat(timespec="minutes"),
                                  "output": str(output), "filled": list(filled)}
    with atomic_write(history, "w", encoding="utf-8") as handle:
        json.dump(records, handle, ensure_ascii=False, indent=1)
    return earlier


def export_worksheet(worksheet: Path, grades: dict, output: Path, history: Path) -> dict:
    """Read, fill and write a worksheet, and remember that it was filled.

    Returns :func:`fill_worksheet`'s dict plus ``output`` and ``filled_before`` (the
    earlier fill of the same file, or None).
    """
    sheet = read_worksheet(worksheet)
    outcome = fill_worksheet(sheet, grades)
    write_worksheet(sheet, output)
    earlier = remember_fill(history, sheet, outcome["filled"], output)
    outcome.update(output=Path(output), filled_before=earlier if earlier and earlier["filled"] else None)
    return outcome
