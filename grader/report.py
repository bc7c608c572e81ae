"""Grades CSV, feedback pages and the instructor's summary (histogram, pass rates, mistakes, review, times);
the same results in Moodle's formats (grading worksheet, feedback-files zip)."""
from __future__ import annotations

import base64
import csv
import html
import json
from collections import Counter
from pathlib import Path

from . import moodle
from .course import check_course, nbgrader, state_dir
from .feedback import banner, diagnosis_html, failed_tests_html, insert_banner
from exercise_logic.diagnosis import MISTAKES
from exercise_logic.messages import LANGUAGES, SEPARATOR, in_every_language, message
from .paths import load_spec
from .results import load_results, review_reasons


def mistake_text(crosscheck: dict, lang: str | None = None) -> str:
    """The diagnosed mistake of one result in words: Japanese, English or both ("" when none was diagnosed)."""
    found = (crosscheck or {}).get("diagnosis") or {}
    mistakes = [MISTAKES[key] for key in found.get("mistakes", []) if key in MISTAKES]
    if lang is None:
        return SEPARATOR.join(text for text in (mistake_text(crosscheck, code) for code in LANGUAGES) if text)
    if found.get("status") == "unknown":
        return message("report.no_known_mistake", lang)
    both = found.get("status") == "matched"         # every name is there (two mistakes at once)
    return message("report.mistakes_and" if both else "report.mistakes_or", lang).join(m.name(lang) for m in mistakes)


def rows(course: Path) -> list[dict]:
    """One row per graded submission, with the authoritative score and review flags."""
    spec = load_spec()
    course = check_course(course)
    manual = _manual_scores(course)
    out = []
    for result in load_results(course):
        cc = result.get("crosscheck") or {}
        nb_cells = result.get("nbgrader_cells")
        nb_auto = None if nb_cells is None else sum((nb_cells.get(g) or 0) for g in spec.TEST_CELLS)
        auto = cc.get("score", 0)
        review = review_reasons(result)
        if nb_cells is None:
            review = review or ["nbgrader did not grade it"]
        elif nb_auto != auto:
            review.append(f"nbgrader {nb_auto:g} != cross-check {auto}")
        if cc.get("status") not in (None, "ok"):
            review.append(f"cross-check {cc.get('status')}")
        if cc.get("suspicious") and (nb_auto is None or nb_auto != auto):
            review.append("suspicious: " + " ".join(cc["suspicious"]))
        man = manual.get((result["assignment"], result["student"]), {})
        manual_score = None if not man or any(v is None for v in man.values()) else sum(man.values())
        row = {
            "student": result["student"], "assignment": result["assignment"],
            "auto_score": auto, "auto_max": spec.AUTO_POINTS,
            "nbgrader_auto_score": "" if nb_auto is None else nb_auto,
            "manual_score": "" if manual_score is None else manual_score,
            "manual_max": sum(spec.MANUAL_CELLS.values()),
            "total": auto + (manual_score or 0),
            "needs_manual_grading": manual_score is None,
            "review": "; ".join(review),
        }
        for grade_id in spec.TEST_CELLS:
            row[f"cc_{grade_id}"] = (cc.get("cells") or {}).get(grade_id, 0)
        row["likely_mistake"] = mistake_text(cc)
        row["seconds"] = result.get("seconds", "")
        row["messages"] = " | ".join(f"{k}: {v}" for k, v in (cc.get("messages") or {}).items())[:1000]
        out.append(row)
    return out


def _manual_scores(course: Path) -> dict:
    """Manual-question scores from the gradebook (None while ungraded)."""
    spec = load_spec()
    from nbgrader.api import Gradebook, MissingEntry
    scores = {}
    db = course / "gradebook.db"
    if not db.exists():
        return scores
    with Gradebook(f"sqlite:///{db}") as gradebook:
        for result in load_results(course):
            try:
                nb = gradebook.find_submission_notebook(spec.NOTEBOOK, result["assignment"], result["student"])
            except MissingEntry:
                continue
            cells = {}
            for grade in nb.grades:
                if grade.name in spec.MANUAL_CELLS:
                    cells[grade.name] = None if grade.needs_manual_grade else grade.score
            scores[(result["assignment"], result["student"])] = cells
    return scores


def export(course: Path, output: Path | None = None) -> Path:
    course = check_course(course)
    data = rows(course)
    output = Path(output) if output else course / "grades.csv"
    with open(output, "w", newline="", encoding="utf-8-sig") as handle:   # BOM: Excel opens it as UTF-8
        if data:
            writer = csv.DictWriter(handle, fieldnames=list(data[0]))
            writer.writeheader()
            writer.writerows(data)
    return output


def _comment(row: dict, crosscheck: dict) -> str:
    """The short feedback comment of one student, for the LMS."""
    def comment(lang):
        mistakes = mistake_text(crosscheck, lang)
        return message("report.comment", lang, score=row["auto_score"], maximum=row["auto_max"],
                       mistake=message("report.comment_mistake", lang, mistakes=mistakes) if mistakes else "")
    return in_every_language(comment)


def export_moodle(course: Path, worksheet: Path, output: Path | None = None, grade: str = "total") -> dict:
    """Fill a grading worksheet downloaded from Moodle with each matched participant's grade and comment.

    ``grade``: "total" (autograded + discussion questions; left as it was while
    a discussion question is ungraded) or "auto" (the autograded part alone),
    as a fraction of the worksheet's maximum grade. Participants are matched by
    the id that ``collect`` took from Moodle's submissions zip.
    """
    if grade not in ("total", "auto"):
        raise ValueError(f"grade must be 'total' or 'auto', got {grade!r}")
    course = check_course(course)
    moodle.read_worksheet(worksheet)          # a bad file is refused before any grading work
    results = {(r["assignment"], r["student"]): r.get("crosscheck") or {} for r in load_results(course)}
    chosen, doubles = {}, []
    for row in rows(course):
        if row["student"] in chosen:
            doubles.append(row["student"])
            if row["total"] <= chosen[row["student"]]["total"]:
                continue
        chosen[row["student"]] = row
    grades = {}
    for student, row in chosen.items():
        if grade == "auto":
            fraction = row["auto_score"] / row["auto_max"]
        else:
            full = row["auto_max"] + row["manual_max"]
            fraction = None if row["needs_manual_grading"] else row["total"] / full
        grades[student] = (fraction, _comment(row, results.get((row["assignment"], student), {})))
    output = Path(output) if output else course / f"moodle_{Path(worksheet).stem}.csv"
    outcome = moodle.export_worksheet(worksheet, grades, output, state_dir(course) / "moodle_worksheets.json")
    outcome.update(both_languages=sorted(set(doubles)))
    return outcome


def print_moodle_export(outcome: dict, progress=print) -> None:
    """What export_moodle did and how to upload it, every participant accounted for."""
    progress(f"Moodle worksheet / 評定ワークシート: {outcome['output']}")
    progress("  upload it with 'Upload grading worksheet', Encoding UTF-8 (the default), the box 'Allow updating "
             "records...' left unticked / 「評定ワークシートをアップロードする」で、エンコーディングは UTF-8（初期値）のまま、"
             "「Moodle内のレコードがスプレッドシートより新しい場合でも…」はチェックせずにアップロードしてください")
    if outcome["encoding"] != "utf-8":
        progress("  the worksheet was Shift_JIS (CP932: a spreadsheet re-saved it); this file is UTF-8, so keep UTF-8 / "
                 "元のワークシートは Shift_JIS (CP932) でしたが、このファイルは UTF-8 です。UTF-8 のまま選んでください")
    if outcome["grades_off"]:
        progress(f"  NO GRADES / 評点なし: {outcome['grades_off']}")
    else:
        progress(f"  grades filled / 評点を記入: {len(outcome['filled'])}")
    for participant, why in outcome["moodle_skips"].items():
        progress(f"  MOODLE WILL SKIP / Moodle がスキップ Participant {participant}: {why}")
    earlier = outcome.get("filled_before")
    if earlier:
        progress(f"  WORKSHEET USED BEFORE / 使用済み: this worksheet was filled on {earlier['when']} "
                 f"({earlier['output']}). If you uploaded that file, Moodle now holds newer grades for participants "
                 f"{', '.join(earlier['filled'])} and will skip them: download the grading worksheet again and export "
                 "from the new file / そのファイルをアップロード済みなら Moodle はこれらの参加者をスキップします。"
                 "評定ワークシートをダウンロードし直し、新しいファイルで export してください")
    for participant, why in sorted(outcome["not_filled"].items()):
        progress(f"  NOT FILLED / 未記入 Participant {participant}: {why}")
    for participant in outcome["no_submission"]:
        progress(f"  NO SUBMISSION / 提出なし Participant {participant}: in the worksheet, nothing graded")
    for student in outcome["no_participant"]:
        progress(f"  NO PARTICIPANT / 該当者なし {student}: graded, but not in the worksheet")
    for student in outcome["both_languages"]:
        progress(f"  TWO SUBMISSIONS / 2 件 {student}: ja and en notebooks; the higher score was used")
    if not outcome["comments"]:
        progress("  no 'Feedback comments' column: enable 'Feedback comments' in the assignment's feedback types to "
                 "upload comments / 「フィードバックコメント」列がないためコメントは書き込んでいません")


def feedback(course: Path, progress=print, moodle_zip: Path | None = None) -> Path:
    """nbgrader's feedback (hidden tests stripped) plus the cross-check banner, the likely mistake and
    the failed tests' maps, per student; with ``moodle_zip``, also those pages laid out for Moodle."""
    spec = load_spec()
    course = check_course(course)
    results = {(r["assignment"], r["student"]): r for r in load_results(course)}
    by_row = {(r["assignment"], r["student"]): r for r in rows(course)}
    prepared = state_dir(course) / "crosscheck"
    out_dir = course / "feedback_html"
    out_dir.mkdir(exist_ok=True)
    written = {}
    for lang, asg in spec.ASSIGNMENTS.items():
        if not any(key[0] == asg for key in results):
            continue
        done = nbgrader(course, "generate_feedback", asg, "--force")
        if done.returncode != 0:
            progress(f"WARNING: nbgrader generate_feedback {asg} reported errors (rc={done.returncode})")
        for (a, student), result in results.items():
            if a != asg:
                continue
            page = course / "feedback" / student / asg / f"{spec.NOTEBOOK}.html"
            crosscheck = result.get("crosscheck") or {}
            summary = dict(by_row[(a, student)])
            summary.update(crosscheck_score=summary["auto_score"], cells=crosscheck.get("cells", {}),
                           messages=crosscheck.get("messages", {}))
            block = banner(summary, lang, diagnosis_html(crosscheck) + failed_tests_html(crosscheck, prepared))
            text = page.read_text(encoding="utf-8") if page.exists() else "<html><body></body></html>"
            target = out_dir / f"{student}_{asg}.html"
            target.write_text(insert_banner(text, block), encoding="utf-8")
            written[(asg, student)] = target
    progress(f"feedback pages in {out_dir} / フィードバックは {out_dir} にあります")
    if moodle_zip:
        outcome = feedback_zip(course, written, moodle_zip)
        progress(f"Moodle feedback zip / Moodle 用 zip: {outcome['zip']} ({len(outcome['participants'])} participants)")
        for student in outcome["not_from_moodle"]:
            progress(f"  NOT IN THE ZIP {student}: not collected from a Moodle submissions zip (no participant id) / "
                     "Moodle の提出 zip から取り込んでいないため含めていません")
    return out_dir


def feedback_zip(course: Path, pages: dict, target: Path) -> dict:
    """The feedback pages of the students collected from a Moodle zip, as Moodle's feedback-files zip."""
    collected = json.loads((state_dir(course) / "collect.json").read_text()) if (
        state_dir(course) / "collect.json").exists() else {"accepted": []}
    folders = {}
    for entry in collected.get("accepted", []):
        found = moodle.participant_folder(entry["file"])
        if found and found[1] == entry["student"]:
            folders[(entry["assignment"], entry["student"])] = found
    grouped, missing = {}, []
    for key, page in sorted(pages.items()):
        if key in folders:
            grouped.setdefault(folders[key], []).append(page)
        else:
            missing.append(key[1])
    moodle.write_feedback_zip(grouped, Path(target))
    return {"zip": Path(target), "participants": sorted(p for _, p in grouped), "not_from_moodle": missing}


def leaks_in_feedback(page_text: str) -> list[str]:
    tokens = ("_gc_hidden_check", "_gc_compare", "BEGIN HIDDEN", "_GC_MODELS", "reference(model",
              "Traceback (most recent call last)", "（回答例）", "(Model answer)")
    return [token for token in tokens if token in page_text]


def report(course: Path) -> dict:
    """report/summary.png and report/index.html: score histogram, per-test pass rates, diagnosed
    mistakes with their number of students, the submissions to review and why, the time of each."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    spec = load_spec()
    course = check_course(course)
    data = rows(course)
    folder = course / "report"
    folder.mkdir(exist_ok=True)
    scores = [r["auto_score"] for r in data]
    rates = {g: (sum(1 for r in data if r[f"cc_{g}"] > 0) / len(data) if data else 0.0)
             for g in spec.TEST_CELLS}
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    left.hist(scores, bins=range(0, spec.AUTO_POINTS + 2), color="#4a7", edgecolor="black", align="left")
    left.set_xticks(range(0, spec.AUTO_POINTS + 1))
    left.set_title(f"compute_gradcam score (n={len(data)})")
    left.set_xlabel(f"points / {spec.AUTO_POINTS}")
    left.set_ylabel("students")
    names = [g.replace("test_gradcam_", "") for g in rates]
    bars = right.barh(names, [100 * v for v in rates.values()], color="#47a")
    right.set_xlim(0, 100)
    right.set_title("hidden test pass rate (%)")
    for bar, value in zip(bars, rates.values()):
        right.text(bar.get_width() + 1, bar.get_y() + bar.get_height() / 2, f"{100 * value:.0f}%",
                   va="center")
    right.invert_yaxis()
    fig.tight_layout()
    png = folder / "summary.png"
    fig.savefig(png, dpi=100)
    plt.close(fig)
    review = [r for r in data if r["review"]]
    mistakes = Counter(r["likely_mistake"] for r in data if r["likely_mistake"])
    encoded = base64.b64encode(png.read_bytes()).decode()
    seconds = sorted(r["seconds"] for r in data if isinstance(r["seconds"], (int, float)))
    timing = (f"<p>中央値 / median {seconds[len(seconds) // 2]:.1f} s, 最長 / longest {seconds[-1]:.1f} s</p>"
              if seconds else "")
    page = (f"<!doctype html><html lang='ja'><meta charset='utf-8'><title>Grad-CAM grading report</title>"
            f"<body style='font-family:sans-serif'><h1>Grad-CAM 課題 採点サマリー / grading summary</h1>"
            f"<p>{len(data)} submissions, mean {sum(scores) / max(1, len(scores)):.1f} / {spec.AUTO_POINTS}"
            f" (authoritative cross-check score / 正式な自動採点)</p>"
            f"<img src='data:image/png;base64,{encoded}' alt='summary'>"
            f"<h2>考えられる間違い / diagnosed mistakes</h2>"
            + _table(("mistake", "students"), mistakes.most_common())
            + f"<h2>要確認 / review ({len(review)})</h2>"
            + _table(("student", "assignment", "cross-check", "nbgrader", "why"),
                     [(r["student"], r["assignment"], r["auto_score"], r["nbgrader_auto_score"], r["review"])
                      for r in review])
            + f"<h2>提出ごとの採点時間 / time per submission</h2>{timing}"
            + _table(("student", "assignment", "score", "likely mistake", "seconds"),
                     [(r["student"], r["assignment"], r["auto_score"], r["likely_mistake"], r["seconds"])
                      for r in data])
            + "</body></html>")
    (folder / "index.html").write_text(page, encoding="utf-8")
    (folder / "summary.json").write_text(json.dumps({
        "n": len(data), "scores": scores, "pass_rates": rates, "mistakes": dict(mistakes),
        "review": [r["student"] for r in review],
        "seconds": {f"{r['student']}/{r['assignment']}": r["seconds"] for r in data}}, indent=1, ensure_ascii=False))
    return {"png": png, "html": folder / "index.html", "pass_rates": rates, "review": review,
            "mistakes": dict(mistakes)}


def _table(headers, rows) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table border=1 cellpadding=4><tr>{head}</tr>{body}</table>"
