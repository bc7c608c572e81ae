"""Student-like answers for the diagnosis: each ``*.py`` is one answer cell, ``manifest.json`` its mistakes.

Written as different students would (TF tapes over the layers, helper models,
keras.ops, NumPy loops, logits by hand), independently of ``variants.py``;
``score`` turns diagnoses into the figures that ``bench/feedback_quality.py`` prints.
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent


def answers() -> dict:
    """``{file name: (source, expected mistake keys)}``, every answer of the manifest."""
    manifest = json.loads((HERE / "manifest.json").read_text(encoding="utf-8"))
    return {name: ((HERE / name).read_text(encoding="utf-8"), entry["mistakes"])
            for name, entry in manifest.items() if not name.startswith("_")}


def score(found: dict) -> dict:
    """Figures of diagnoses ``{file name: diagnosis dict}`` against the manifest.

    Per mistake: how often it was expected, named right, missed with "none
    fits" (status unknown) or missed otherwise; names given that were not
    expected (``wrong``); and names given to correct answers.
    """
    expected = {name: mistakes for name, (_, mistakes) in answers().items()}
    per = {}
    wrong, on_correct = Counter(), 0
    for name, mistakes in expected.items():
        result = found[name]
        named = set(result.get("mistakes", [])) if result.get("status") in ("matched", "ambiguous") else set()
        if not mistakes:
            on_correct += len(named)
        for key in mistakes:
            row = per.setdefault(key, Counter())
            row["expected"] += 1
            row["right" if key in named else "none fits" if result.get("status") == "unknown" else "missed"] += 1
        for key in named - set(mistakes):
            wrong[key] += 1
    total = sum(row["expected"] for row in per.values())
    right = sum(row["right"] for row in per.values())
    return {"answers": len(expected), "mistakes": total, "named_right": right,
            "share_right": right / total if total else 1.0, "wrong_names": sum(wrong.values()),
            "names_on_correct": on_correct, "per_mistake": {k: dict(v) for k, v in sorted(per.items())},
            "wrong_per_mistake": dict(wrong)}
