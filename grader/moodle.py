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
  written by ``gradingtable.php`` through ``dataformat_csv`` (UTF-8 with a byte-order
  mark, commas, PHP ``fputcsv`` quoting); "Upload grading worksheet"
  (``importgradeslib.php``) finds its columns by their titles in the teacher's language
  (``Identifier``, ``Grade``, ``Last modified (grade)``, one column per feedback plugin
  such as ``Feedback comments``) and the participant by the number after
  "Participant " in the identifier. It skips a grade that is empty, above the
  maximum, locked, or older than a grade given in Moodle since the download.
  :func:`fill_worksheet` changes only the grade and feedback-comment cells and
  writes the file back in its own encoding, quoting and line endings.
"""
from __future__ import annotations

import csv
import html
import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

PLUGIN_TYPES = ("assignsubmission", "assignfeedback")
IDENTIFIER = re.compile(r"^\D*?(\d+)$")
# Column titles in Moodle's English and Japanese language packs.
TITLES = {
    "grade": ("Grade", "評点"),
    "maximum": ("Maximum grade", "最大評点"),
    "changeable": ("Grade can be changed", "評点変更可"),
    "comments": ("Feedback comments", "フィードバックコメント"),
}
CANNOT_CHANGE = ("No", "いいえ")
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
@dataclass
class Worksheet:
    """A grading worksheet as read, plus how to write it back the same way."""

    header: list
    rows: list
    encoding: str
    byte_order_mark: bool
    newline: str
    columns: dict = field(default_factory=dict)   # role -> column index ("comments" may be absent)

    def participant(self, row) -> str:
        return str(int(IDENTIFIER.match(row[0].strip()).group(1)))


def read_worksheet(path: Path) -> Worksheet:
    """Read a worksheet downloaded from Moodle (UTF-8, or Shift_JIS after a spreadsheet re-saved it)."""
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
    sheet = Worksheet(header=header, rows=rows, encoding=encoding, byte_order_mark=byte_order_mark, newline=newline)
    for role, titles in TITLES.items():
        for index, title in enumerate(header):
            if title.strip() in titles:
                sheet.columns[role] = index
    missing = [role for role in ("grade", "maximum") if role not in sheet.columns]
    bad = [row[0] for row in rows if not IDENTIFIER.match(row[0].strip())][:3]
    if missing or bad or any(len(row) != len(header) for row in rows):
        raise WorksheetError(
            f"{path}: not a Moodle grading worksheet (columns {header}; "
            + (f"no column {' / '.join(TITLES[missing[0]])}" if missing else
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
    """Write a worksheet back in the encoding, byte-order mark and line endings it came in."""
    from exercise_logic.atomic_files import atomic_write  # here: the package imports TensorFlow
    lines = [",".join(_php_csv_field(value) for value in row) for row in [sheet.header, *sheet.rows]]
    text = ("\ufeff" if sheet.byte_order_mark else "") + sheet.newline.join(lines) + sheet.newline
    with atomic_write(target, "wb") as handle:
        handle.write(text.encode(sheet.encoding))
    return Path(target)


def format_grade(fraction: float, maximum: str) -> str:
    """``fraction`` of the worksheet's maximum grade, written like it (its decimals and decimal mark)."""
    mark = "," if "," in maximum and "." not in maximum else "."
    decimals = len(re.split(r"[.,]", maximum.strip())[1]) if re.search(r"[.,]", maximum) else 0
    value = float(maximum.replace(",", ".")) * fraction
    return f"{value:.{decimals}f}".replace(".", mark)


def merge_comment(existing: str, ours: str) -> str:
    """The teacher's own comment kept, the autograder's part (after :data:`COMMENT_MARK`) replaced."""
    kept = existing.split(COMMENT_MARK)[0].rstrip()
    if kept.endswith("<br>"):
        kept = kept[:-4].rstrip()
    return (kept + "<br>" if kept else "") + COMMENT_MARK + " " + html.escape(ours)


def fill_worksheet(sheet: Worksheet, grades: dict) -> dict:
    """Fill the grade (and comment) of each participant in ``grades``, in place.

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
        ``comments``: whether the worksheet has a feedback-comment column.
    """
    filled, not_filled, seen = [], {}, set()
    columns = sheet.columns
    for row in sheet.rows:
        participant = sheet.participant(row)
        seen.add(participant)
        if participant not in grades:
            continue
        fraction, comment = grades[participant]
        if "comments" in columns:
            row[columns["comments"]] = merge_comment(row[columns["comments"]], comment)
        if "changeable" in columns and row[columns["changeable"]].strip() in CANNOT_CHANGE:
            not_filled[participant] = "Moodle says the grade cannot be changed (locked or overridden)"
        elif fraction is None:
            not_filled[participant] = "not fully graded yet (manual questions): grade left as it was"
        else:
            row[columns["grade"]] = format_grade(fraction, row[columns["maximum"]])
            filled.append(participant)
    return {"filled": filled, "not_filled": not_filled,
            "no_submission": sorted((sheet.participant(row) for row in sheet.rows
                                     if sheet.participant(row) not in grades), key=int),
            "no_participant": sorted((p for p in grades if p not in seen), key=lambda p: (len(p), p)),
            "comments": "comments" in columns}
