"""Grades CSV, feedback pages and the instructor's summary (histogram + per-test pass rates)."""
from __future__ import annotations

import base64
import csv
import html
import json
from pathlib import Path

from .course import check_course, nbgrader
from .feedback import banner, insert_banner
from .paths import load_spec
from .results import load_results, review_reasons


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


def feedback(course: Path, progress=print) -> Path:
    """nbgrader's feedback (hidden tests stripped) plus the cross-check banner, per student."""
    spec = load_spec()
    course = check_course(course)
    results = {(r["assignment"], r["student"]): r for r in load_results(course)}
    by_row = {(r["assignment"], r["student"]): r for r in rows(course)}
    out_dir = course / "feedback_html"
    out_dir.mkdir(exist_ok=True)
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
            summary = dict(by_row[(a, student)])
            summary.update(crosscheck_score=summary["auto_score"],
                           cells=(result.get("crosscheck") or {}).get("cells", {}),
                           messages=(result.get("crosscheck") or {}).get("messages", {}))
            block = banner(summary, lang)
            text = page.read_text(encoding="utf-8") if page.exists() else "<html><body></body></html>"
            target = out_dir / f"{student}_{asg}.html"
            target.write_text(insert_banner(text, block), encoding="utf-8")
    progress(f"feedback pages in {out_dir} / フィードバックは {out_dir} にあります")
    return out_dir


def leaks_in_feedback(page_text: str) -> list[str]:
    tokens = ("_gc_hidden_check", "_gc_compare", "BEGIN HIDDEN", "_GC_MODELS", "reference(model",
              "Traceback (most recent call last)", "（回答例）", "(Model answer)")
    return [token for token in tokens if token in page_text]


def report(course: Path) -> dict:
    """report/summary.png and report/index.html: score histogram and per-test pass rates."""
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
    encoded = base64.b64encode(png.read_bytes()).decode()
    table = "".join(f"<tr><td>{html.escape(r['student'])}</td><td>{r['assignment']}</td><td>{r['auto_score']}"
                    f"</td><td>{r['nbgrader_auto_score']}</td><td>{html.escape(r['review'])}</td></tr>"
                    for r in review)
    page = (f"<!doctype html><html lang='ja'><meta charset='utf-8'><title>Grad-CAM grading report</title>"
            f"<body style='font-family:sans-serif'><h1>Grad-CAM 課題 採点サマリー / grading summary</h1>"
            f"<p>{len(data)} submissions, mean {sum(scores) / max(1, len(scores)):.1f} / {spec.AUTO_POINTS}"
            f" (authoritative cross-check score / 正式な自動採点)</p>"
            f"<img src='data:image/png;base64,{encoded}' alt='summary'>"
            f"<h2>要確認 / review ({len(review)})</h2><table border=1 cellpadding=4>"
            f"<tr><th>student</th><th>assignment</th><th>cross-check</th><th>nbgrader</th><th>why</th></tr>"
            f"{table}</table></body></html>")
    (folder / "index.html").write_text(page, encoding="utf-8")
    (folder / "summary.json").write_text(json.dumps({"n": len(data), "scores": scores, "pass_rates": rates,
                                                     "review": [r["student"] for r in review]}, indent=1))
    return {"png": png, "html": folder / "index.html", "pass_rates": rates, "review": review}
