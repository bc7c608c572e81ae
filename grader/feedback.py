"""The feedback page: no hidden tests, reference code or long tracebacks (nbgrader issue #917),
and for every failed test the student's map beside the reference map on a chest X-ray (and on the
visible test's image where only it shows the mistake), with the likely mistake.
"""
from __future__ import annotations

import functools
import html
import re
from pathlib import Path

import numpy as np
from nbconvert.preprocessors import Preprocessor
from traitlets import Bool

from exercise_logic.messages import SEPARATOR, bilingual, in_every_language, message

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


def banner(result: dict, lang: str, details: str = "") -> str:
    """HTML summary of the authoritative (cross-check) score, for the top of a feedback page.

    ``details`` (the likely mistake, the failed tests' maps) goes under the table.
    """
    auto, auto_max = result.get("crosscheck_score"), result.get("auto_max")
    rows = "".join(
        f"<tr><td>{html.escape(cell)}</td><td>{points}</td><td>{html.escape(result.get('messages', {}).get(cell, ''))}</td></tr>"
        for cell, points in (result.get("cells") or {}).items())
    title, note = message("feedback.title", lang), message("feedback.official_score", lang)
    return (f'<div style="border:2px solid #446;padding:8px;margin:8px 0;font-family:sans-serif">'
            f"<h2>{title}: {auto} / {auto_max}</h2><p>{note}</p>"
            f'<table border="1" cellpadding="4"><tr><th>test</th><th>points</th><th>message</th></tr>{rows}</table>'
            f"{details}</div>")


def insert_banner(page: str, block: str) -> str:
    match = re.search(r"<body[^>]*>", page)
    if not match:
        return block + page
    return page[:match.end()] + block + page[match.end():]


CAPTIONS = ("feedback.test_image", "feedback.your_map", "feedback.reference_map", "feedback.difference")


def _case_text(case) -> str:
    _, _, layer, class_index = case
    layer_text = bilingual("feedback.first_conv_layer") if layer == "first" else "last_conv_layer"
    return f"class_index={class_index!r}, {layer_text}"


def diagnosis_html(crosscheck: dict) -> str:
    """The likely mistake (Japanese / English), with a hint naming the step of the recipe."""
    from exercise_logic.diagnosis import MISTAKES
    found = crosscheck.get("diagnosis") or {}
    status = found.get("status")
    if status in (None, "correct"):
        return ""
    title = f"<h3>{bilingual('feedback.likely_mistake')}</h3>"
    if status == "no-maps":
        return title + f"<p>{bilingual('feedback.no_maps')}</p>"
    if status == "unknown":
        return title + f"<p>{html.escape(bilingual('feedback.no_match'))}</p>"
    count = len(found.get("mistakes", []))
    lead = ("" if status == "matched" and count == 1 else
            f"<p>{bilingual('feedback.mistakes_at_once', count=count)}</p>" if status == "matched" else
            f"<p>{bilingual('feedback.one_of')}</p>")
    evidence = found.get("evidence") or {}

    def because(key):
        if key not in evidence:
            return ""
        return f"<br>{bilingual('feedback.evidence')}: {html.escape(SEPARATOR.join(evidence[key]))}"
    items = "".join(f"<li><b>{html.escape(in_every_language(MISTAKES[key].name))}</b>{because(key)}<br>"
                    f"{bilingual('feedback.hint')}: {html.escape(in_every_language(MISTAKES[key].hint_at_step))}</li>"
                    for key in found["mistakes"] if key in MISTAKES)
    return title + lead + f"<ul>{items}</ul>"


def _figure(uri: str | None, caption: str) -> str:
    picture = f'<img alt="{html.escape(caption)}" src="{uri}">' if uri else ""
    return f"<td>{picture}<br><small>{html.escape(caption)}</small></td>"


def _loaded(path: Path) -> dict:
    from .crosscheck import load_maps
    return load_maps(path) if path.exists() else {}


@functools.lru_cache(maxsize=64)
def _shared_panels(prepared: str, stamp: int, key: str) -> tuple:
    """The reference map of one shown case and its pictures (the same on every student's page).

    Returns ``(reference, image, mask, image picture, reference picture)``:
    for an X-ray case the pictures are the maps over the X-ray (no image picture).
    """
    from . import feedback_images as images
    image = _loaded(Path(prepared) / "inputs.npz")[key]
    reference = _loaded(Path(prepared) / "references.npz")[key]
    mask = _loaded(Path(prepared) / "masks.npz").get(key)
    if mask is not None:
        return reference, image, mask, None, images.data_uri(images.xray_png(image, reference, mask))
    return (reference, image, None, images.data_uri(images.image_png(image)),
            images.data_uri(images.map_png(reference)))


def _difference_line(cam, reference) -> str:
    from exercise_logic.map_differences import describe
    return SEPARATOR.join(describe(cam, reference))


def _missing_note(key: str, student: dict, errors: dict) -> str:
    if key in student:
        shape = tuple(np.shape(student[key]))
        return bilingual("feedback.not_a_map", shape=shape)
    return bilingual("feedback.no_map") + ": " + str(errors.get(key, "no result"))[:300]


def failed_tests_html(crosscheck: dict, prepared: Path) -> str:
    """For each failed test, the student's map and the reference map on a chest X-ray with its lesion
    outlined, each pair with one line on what differs; and the visible test's noise image drawn four
    ways (image, yours, reference, difference) where only it shows the mistake."""
    from exercise_logic.map_differences import as_map
    from . import feedback_images as images
    from .crosscheck import case_key, load_maps, maps_folder, rejected
    from .paths import load_spec
    spec = load_spec()
    failed = [grade_id for grade_id, points in (crosscheck.get("cells") or {}).items()
              if points == 0 and grade_id in spec.FEEDBACK_CASES]
    if not failed:
        return ""
    prepared = Path(prepared)
    stamp = (prepared / "references.npz").stat().st_mtime_ns

    def shared(key):
        return _shared_panels(str(prepared), stamp, key)

    maps_file = maps_folder(prepared) / f"{crosscheck.get('maps')}.npz"
    student = load_maps(maps_file) if crosscheck.get("maps") and maps_file.exists() else {}
    errors = crosscheck.get("feedback_errors") or {}

    def fails(key):
        return key not in student or rejected(student[key], shared(key)[0])

    parts = [f"<h3>{bilingual('feedback.failed_tests')}</h3>",
             f"<p class='gc-legend'>{html.escape(bilingual('feedback.legend'))}</p>"]
    xrays = set(_loaded(prepared / "masks.npz"))        # empty when prepared by an older release
    for grade_id in failed:
        parts.append(f"<h4>{html.escape(grade_id)}</h4>")
        xray_shows = xray_drawn = False
        for case in spec.XRAY_CASES.get(grade_id, []):
            key = case_key(case)
            if key not in xrays:
                continue
            xray_drawn = True
            reference, image, mask, _, reference_uri = shared(key)
            cam = as_map(student.get(key))
            yours = images.data_uri(images.xray_png(image, cam, mask)) if cam is not None else None
            xray_shows = cam is not None and fails(key)
            line = _difference_line(cam, reference) if cam is not None else _missing_note(key, student, errors)
            row = _figure(yours, bilingual("feedback.your_map")) + _figure(reference_uri, bilingual("feedback.reference_map"))
            parts.append(f"<p>{html.escape(bilingual('feedback.xray_title'))}: {html.escape(_case_text(case))}</p>"
                         f"<table class='gc-maps gc-xray'><tr>{row}</tr></table>"
                         f"<p class='gc-note'>{html.escape(line)}</p>")
        if xray_shows:
            continue                                              # the noise image would add nothing
        cases = spec.FEEDBACK_CASES[grade_id]
        failing = [case for case in cases if fails(case_key(case))]
        if xray_drawn and not failing:
            parts.append(f"<p class='gc-note'>{html.escape(bilingual('feedback.hidden_only'))}</p>")
            continue
        case = failing[0] if failing else cases[0]
        key = case_key(case)
        reference, _, _, image_uri, reference_uri = shared(key)
        cam = as_map(student.get(key))
        cells = [image_uri, None, reference_uri, None]
        notes = []
        if cam is not None:
            cells[1] = images.data_uri(images.map_png(cam))
            if cam.shape == reference.shape:
                cells[3] = images.data_uri(images.map_png(cam - reference, difference=True))
            if failing:
                notes.append(_difference_line(cam, reference))
        else:
            notes.append(_missing_note(key, student, errors))
        if not failing:
            notes.append(bilingual("feedback.hidden_only"))
        row = "".join(_figure(uri, bilingual(caption)) for uri, caption in zip(cells, CAPTIONS))
        parts.append(f"<p>{html.escape(bilingual('feedback.noise_title'))}: {html.escape(_case_text(case))}</p>"
                     f"<table class='gc-maps'><tr>{row}</tr></table>"
                     + "".join(f"<p class='gc-note'>{html.escape(note)}</p>" for note in notes))
    return "".join(parts)
