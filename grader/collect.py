"""Lay out submissions as ``submitted/<student>/<assignment>/gradcam.ipynb``.

Accepts a folder of notebooks (searched recursively) or an LMS zip export
(one notebook per student). The student id comes from the path: Moodle's
participant id from ``<name>_<id>_assignsubmission_file/<file>`` (its default
layout) or ``<name>_<id>_assignsubmission_file_<file>`` (see grader/moodle.py);
otherwise the file name without its extension, sanitised to ``[A-Za-z0-9_-]``.
The language (ja/en assignment) comes from the notebook itself. Malformed
and duplicate files are reported (and listed in ``.grader/collect.json``),
never silently dropped.
"""
from __future__ import annotations

import hashlib
import json
import re
import unicodedata
import zipfile
from pathlib import Path

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


def detect_assignment(notebook: dict) -> str | None:
    """gradcam_ja / gradcam_en from the notebook's metadata, cell ids or text."""
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
        return None
    text = "".join("".join(c.get("source", "")) for c in cells if c.get("cell_type") == "markdown")
    return spec.ASSIGNMENTS["ja" if re.search(r"[\u3040-\u30ff]", text) else "en"]


def _parse(data: bytes) -> tuple[dict | None, str | None]:
    try:
        notebook = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as error:
        return None, f"not a notebook (invalid JSON: {error})"
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        return None, "not a notebook (no cells)"
    if notebook.get("nbformat") != 4:
        return None, f"unsupported nbformat {notebook.get('nbformat')!r}"
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


def collect(course: Path, src: Path, progress=print) -> dict:
    spec = load_spec()
    course = check_course(course)
    accepted, problems, chosen = [], [], {}
    for name, data, stamp in _sources(Path(src)):
        if not name.lower().endswith(".ipynb"):
            problems.append({"file": name, "problem": "not an .ipynb file / ノートブックではありません"})
            continue
        notebook, error = _parse(data)
        if error:
            problems.append({"file": name, "problem": error})
            continue
        asg = detect_assignment(notebook)
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
        target = course / "submitted" / sid / asg / f"{spec.NOTEBOOK}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        accepted.append({"file": name, "student": sid, "assignment": asg})
    report = {"accepted": accepted, "problems": problems}
    state = state_dir(course)
    state.mkdir(exist_ok=True)
    (state / "collect.json").write_text(json.dumps(report, indent=1, ensure_ascii=False))
    progress(f"collected {len(accepted)} submission(s) / {len(accepted)} 件を取り込みました")
    for problem in problems:
        progress(f"  PROBLEM {problem['file']}: {problem['problem']}")
    return report
