"""Feedback without hidden tests, reference code or long tracebacks (nbgrader issue #917)."""
from __future__ import annotations

import html
import re

from nbconvert.preprocessors import Preprocessor
from traitlets import Bool

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class StripTracebacks(Preprocessor):
    """Cut every error output to its last line (``AssertionError: message``).

    The traceback of a failed hidden test shows the hidden test's code; its
    last line is the assertion message written for students.
    """

    enabled = Bool(True).tag(config=True)   # nbconvert preprocessors are off by default

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code":
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    message = _ANSI.sub("", f"{output.get('ename', 'Error')}: {output.get('evalue', '')}")
                    output["traceback"] = [message.strip()[:2000]]
        return cell, resources


def banner(result: dict, lang: str) -> str:
    """HTML summary of the authoritative (cross-check) score, for the top of a feedback page."""
    auto, auto_max = result.get("crosscheck_score"), result.get("auto_max")
    rows = "".join(
        f"<tr><td>{html.escape(cell)}</td><td>{points}</td><td>{html.escape(result.get('messages', {}).get(cell, ''))}</td></tr>"
        for cell, points in (result.get("cells") or {}).items())
    title = ("自動採点（compute_gradcam）の結果" if lang == "ja" else "Autograded result (compute_gradcam)")
    note = ("この点数が正式な自動採点の点数です。下のノートブックの各セルの点数は参考です。"
            if lang == "ja" else "This is the official autograded score; the per-cell scores below are indicative.")
    return (f'<div style="border:2px solid #446;padding:8px;margin:8px 0;font-family:sans-serif">'
            f"<h2>{title}: {auto} / {auto_max}</h2><p>{note}</p>"
            f'<table border="1" cellpadding="4"><tr><th>test</th><th>points</th><th>message</th></tr>{rows}</table></div>')


def insert_banner(page: str, block: str) -> str:
    match = re.search(r"<body[^>]*>", page)
    if not match:
        return block + page
    return page[:match.end()] + block + page[match.end():]
