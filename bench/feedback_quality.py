"""How often does the feedback name the right mistake? The corpus (tests/grader/corpus) graded for real.

Each answer goes through the grader's pipeline: ``crosscheck.prepare`` once,
then per answer ``crosscheck.check_notebook`` (the answer cell filtered, run in
the sandboxed child on the hidden and visible cases, compared, diagnosed), as
``python -m grader autograde`` does. Printed: per mistake, how often it was
named right, missed with "none fits" or missed otherwise; names that were not
expected; names on correct answers. Targets: >= 90 % named right, 0 on correct
answers.

    .venv/bin/python bench/feedback_quality.py [--workers 2] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "grader"))


def _notebook(source: str) -> dict:
    return {"cells": [{"cell_type": "code", "metadata": {"nbgrader": {"grade_id": "compute_gradcam"}},
                       "source": source}]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="cross-check children at once (default 2)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)

    import corpus
    from grader import crosscheck

    answers = corpus.answers()
    with tempfile.TemporaryDirectory(prefix="feedback-quality-") as root:
        started = time.monotonic()
        prepared = crosscheck.prepare(Path(root) / "prepared")
        prepare_s = time.monotonic() - started

        def grade(name):
            result = crosscheck.check_notebook(_notebook(answers[name][0]), prepared)
            return name, result

        started = time.monotonic()
        with ThreadPoolExecutor(args.workers) as pool:
            results = dict(pool.map(grade, sorted(answers)))
        grade_s = time.monotonic() - started
    found = {name: result["diagnosis"] for name, result in results.items()}
    figures = corpus.score(found)
    figures.update(prepare_s=round(prepare_s, 1), grade_s=round(grade_s, 1))

    print(f"{figures['answers']} answers, {figures['mistakes']} mistakes in them "
          f"(prepare {prepare_s:.0f} s, grading {grade_s:.0f} s)")
    print(f"{'mistake':24} {'expected':>8} {'right':>6} {'none fits':>9} {'missed':>6} {'named wrongly':>13}")
    keys = sorted(set(figures["per_mistake"]) | set(figures["wrong_per_mistake"]))
    for key in keys:
        row = figures["per_mistake"].get(key, {})
        print(f"{key:24} {row.get('expected', 0):8} {row.get('right', 0):6} {row.get('none fits', 0):9} "
              f"{row.get('missed', 0):6} {figures['wrong_per_mistake'].get(key, 0):13}")
    print(f"named right: {figures['named_right']}/{figures['mistakes']} = {figures['share_right']:.0%}; "
          f"wrongly named: {figures['wrong_names']}; names on correct answers: {figures['names_on_correct']}")
    for name, (_, expected) in sorted(answers.items()):
        got = found[name]
        if sorted(got.get("mistakes", [])) != sorted(expected):
            print(f"  {name}: expected {expected}, got {got.get('status')} {got.get('mistakes')}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))
    return 0 if figures["share_right"] >= 0.9 and figures["names_on_correct"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
