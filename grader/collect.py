"""Lay out submissions as ``submitted/<student>/<assignment>/gradcam.ipynb``.

Accepts a folder of notebooks (searched recursively) or an LMS zip export
(one notebook per student). The student id comes from the path: Moodle's
participant id from ``<name>_<id>_assignsubmission_file/<file>`` (its default
layout) or ``<name>_<id>_assignsubmission_file_<file>`` (see grader/moodle.py);
otherwise the file name without its extension, sanitised to ``[A-Za-z0-9_-]``.
The language (ja/en assignment) comes from the notebook itself (its metadata,
cell ids, or, when an editor dropped those, the cell texts it shares with a
release notebook). Notebooks whose editors dropped nbgrader's metadata, with
duplicated or deleted cells, or in an older nbformat are repaired
(``grader.repair``); what was repaired is recorded per submission and shown
for review, and the file as submitted is kept in ``.grader/repairs/``.
Malformed and duplicate files are reported (and listed in
``.grader/collect.json``), never silently dropped.
"""
from __future__ import annotations

import hashlib
import json
import re
import unicodedata
import zipfile
from pathlib import Path

from exercise_logic.atomic_files import atomic_write, atomic_write_text

from . import repair
from . import results as store
from .course import check_course, state_dir
from .moodle import participant_id
from .paths import load_spec

SUFFIX = re.compile(r"[_-]?gradcam(?:[_-](?:ja|en))?$", re.IGNORECASE)


def student_id(filename: str) -> str:
    moodle = participant_id(filename)
    if moodle:
        return moodle
    stem = Path(filename).name
    stem = stem[:-6] if stem.lower().endswith(".ipynb") else stem
    stem = SUFFIX.sub("", stem) or stem
    ascii_name = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    clean = re.sub(r"[^A-Za-z0-9_-]+", "_", ascii_name).strip("_-.")
    if not clean or clean.startswith("."):
        clean = "student_" + hashlib.sha1(stem.encode()).hexdigest()[:8]
    return clean[:64]


def detect_assignment(notebook: dict, releases: dict | None = None) -> str | None:
    """gradcam_ja / gradcam_en from the notebook's metadata, cell ids or text.

    ``releases`` (assignment -> release notebook) identify a notebook whose
    editor dropped the metadata and ids, by the cell texts they share.
    """
    spec = load_spec()
    meta = notebook.get("metadata", {}).get("gradcam_assignment", {})
    if meta.get("assignment") in spec.ASSIGNMENTS.values():
        return meta["assignment"]
    cells = notebook.get("cells", [])
    ids = {str(cell.get("id", ""))[:3] for cell in cells}
    for lang in ("ja", "en"):
        if f"{lang}-" in ids:
            return spec.ASSIGNMENTS[lang]
    if not any(cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == spec.SOLUTION_CELL
               for cell in cells):
        return repair.match_assignment(notebook, releases or {})
    text = "".join("".join(c.get("source", "")) for c in cells if c.get("cell_type") == "markdown")
    return spec.ASSIGNMENTS["ja" if re.search(r"[\u3040-\u30ff]", text) else "en"]


def _parse(data: bytes) -> tuple[dict | None, str | None]:
    try:
        notebook = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as error:
        return None, f"not a notebook (invalid JSON: {error})"
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells", notebook.get("worksheets")), list):
        return None, "not a notebook (no cells)"
    if notebook.get("nbformat") not in (3, 4):
        return None, f"unsupported nbformat {notebook.get('nbformat')!r}"
    try:
        repair.upgrade(notebook)             # nbformat 3 keeps its cells in worksheets
    except Exception as error:  # noqa: BLE001 - nbformat's many ways to reject a file
        return None, f"not a readable notebook ({type(error).__name__}: {error})"
    return notebook, None


def _sources(src: Path):
    """(name, bytes, timestamp) of every candidate file."""
    if src.is_file() and zipfile.is_zipfile(src):
        with zipfile.ZipFile(src) as archive:
            for info in archive.infolist():
                if info.is_dir() or "__MACOSX" in info.filename or Path(info.filename).name.startswith("."):
                    continue
                yield info.filename, archive.read(info), tuple(info.date_time)
    elif src.is_dir():
        for path in sorted(src.rglob("*")):
            if path.is_file() and not path.name.startswith(".") and ".ipynb_checkpoints" not in path.parts:
                yield str(path.relative_to(src)), path.read_bytes(), path.stat().st_mtime
    else:
        raise FileNotFoundError(f"{src}: not a folder or zip file / フォルダでも zip でもありません")


def release_notebooks(course: Path) -> dict:
    """assignment -> its release notebook (what the students were given), for those released."""
    spec = load_spec()
    found = {}
    for asg in spec.ASSIGNMENTS.values():
        path = course / "release" / asg / f"{spec.NOTEBOOK}.ipynb"
        if path.exists():
            found[asg] = json.loads(path.read_text(encoding="utf-8"))
    return found


def collect(course: Path, src: Path, progress=print) -> dict:
    spec = load_spec()
    course = check_course(course)
    releases = release_notebooks(course)
    accepted, problems, chosen = [], [], {}
    for name, data, stamp in _sources(Path(src)):
        if not name.lower().endswith(".ipynb"):
            problems.append({"file": name, "problem": "not an .ipynb file / ノートブックではありません"})
            continue
        notebook, error = _parse(data)
        if error:
            problems.append({"file": name, "problem": error})
            continue
        asg = detect_assignment(repair.upgrade(notebook)[0], releases)
        if asg is None:
            problems.append({"file": name, "problem": "not the Grad-CAM assignment (no compute_gradcam cell)"})
            continue
        sid = student_id(name)
        key = (sid, asg)
        if key in chosen:
            other = chosen[key]
            keep, drop = (other, (name, data, stamp)) if other[2] >= stamp else ((name, data, stamp), other)
            chosen[key] = keep
            problems.append({"file": drop[0], "problem": f"duplicate of student {sid}: kept {keep[0]} "
                                                         "(newer) / 重複: 新しい方を採用"})
            continue
        chosen[key] = (name, data, stamp)
    for (sid, asg), (name, data, _) in sorted(chosen.items()):
        repairs = []
        if asg in releases:
            notebook, repairs = repair.repair(_parse(data)[0], releases[asg], spec.SOLUTION_CELL)
        original = store.repairs_path(course, asg, sid).with_suffix(".original.ipynb")
        if repairs:
            with atomic_write(original) as handle:
                handle.write(data)
            data = json.dumps(notebook, ensure_ascii=False, indent=1).encode("utf-8")
        elif original.exists():
            original.unlink()
        store.save_repairs(course, asg, sid, repairs)
        with atomic_write(course / "submitted" / sid / asg / f"{spec.NOTEBOOK}.ipynb") as handle:
            handle.write(data)
        accepted.append({"file": name, "student": sid, "assignment": asg, "repairs": repairs})
    report = {"accepted": accepted, "problems": problems}
    state = state_dir(course)
    state.mkdir(exist_ok=True)
    atomic_write_text(state / "collect.json", json.dumps(report, indent=1, ensure_ascii=False))
    progress(f"collected {len(accepted)} submission(s) / {len(accepted)} 件を取り込みました")
    if not releases:
        progress("  NOTE: no release notebooks yet (`python -m grader release`): notebooks were not checked "
                 "for missing metadata / 配布版が無いため修復を行っていません")
    for item in accepted:
        if item["repairs"]:
            progress(f"  REPAIRED {item['file']} ({item['student']}): " + "; ".join(item["repairs"]))
    for problem in problems:
        progress(f"  PROBLEM {problem['file']}: {problem['problem']}")
    return report
