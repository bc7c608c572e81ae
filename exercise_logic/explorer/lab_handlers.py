"""The three lab tabs as plain functions: compare methods, sanity check, shortcut lab.

Like :mod:`.handlers`, nothing here is Gradio layout: the library computes
(:func:`exercise_logic.deletion_insertion`, :func:`exercise_logic.explain.road`,
:func:`exercise_logic.pointing_game`,
:func:`exercise_logic.explain.cascading_randomisation_maps`,
:func:`exercise_logic.run_shortcut_lab`), these functions check the inputs,
call it and draw the pictures. User mistakes become the page's message in the
user's language; anything else is logged and reported briefly.
"""
from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

import numpy as np
from PIL import Image

from ..explain import METHODS, deletion_insertion, pointing_game, road
from ..explain.sanity import cascading_randomisation_maps, similarity_to_original
from ..messages import message, supported_language
from ..shortcut_lab import ShortcutLabResult, plot_shortcut_lab, run_shortcut_lab
from ..training import is_cached, training_settings
from .compute_once import ComputeOnce
from .errors import friendly
from .handlers import explain, input_image, render
from .model_store import ExplorerModel
from .output_files import OutputFiles
from .parsing import (parse_colormap, parse_lab_settings, parse_layer, parse_methods, parse_opacity,
                      parse_target)

COMPARE_STEPS = 16                 # deletion/insertion curve steps (the library's default)
SANITY_METHODS = ("gradcam", "scorecam", "saliency")   # one CAM, one perturbation CAM, one pixel method
CASCADES_KEPT = 8                  # sanity-check results kept, so a language switch only re-renders


# -- compare methods ---------------------------------------------------------------------

@dataclass
class MethodScore:
    method: str
    deletion_auc: float
    insertion_auc: float
    road_morf: float           # mean probability, most relevant pixels removed and imputed (lower = better)
    road_lerf: float           # the same, least relevant first (higher = better)
    pointing: bool | None      # None: no lesion to point at (upload, normal image, other dataset)


def _fmt(value: float) -> str:
    return "—" if value is None or not np.isfinite(value) else f"{value:.2f}"


def _pointing_word(hit: bool | None, lang: str) -> str:
    return "—" if hit is None else message("explorer.hit" if hit else "explorer.miss", lang)


@friendly
def compare_methods(loaded: ExplorerModel, outputs: OutputFiles, image_path, sample_index, target, layer,
                    opacity, colormap, lang="ja"):
    """The selected image under every method: (gallery items, Markdown table).

    Each overlay is captioned with its deletion AUC (lower = more faithful),
    insertion AUC (higher = more faithful) and, for a synthetic test image with
    a lesion, its pointing-game hit/miss (standard tolerance, 2 px at 28 px);
    the table adds ROAD's MoRF / LeRF probabilities. All maps go through
    :func:`exercise_logic.deletion_insertion` and :func:`exercise_logic.explain.road`
    in one call each, each following the class its map explains.
    """
    lang = supported_language(lang)
    image, mask = input_image(loaded, image_path, sample_index, lang)
    target, layer = parse_target(loaded, target, lang), parse_layer(loaded, layer, lang)
    colormap, opacity = parse_colormap(colormap, lang), parse_opacity(opacity, lang)
    use_mask = sample_index is not None and mask is not None and np.any(mask)

    methods = list(METHODS)
    results = [explain(loaded, image, target, layer, method) for method in methods]
    maps = np.concatenate([result.heatmaps for result in results])
    images = np.repeat(results[0].images, len(methods), axis=0)
    targets = np.concatenate([result.targets for result in results])
    curves = deletion_insertion(loaded.model, loaded.model_inputs(images), maps, target=targets,
                                steps=COMPARE_STEPS)
    removal = road(loaded.model, loaded.model_inputs(images), maps, target=targets)
    if use_mask:
        hits = pointing_game(maps, np.repeat(np.asarray(mask, bool)[np.newaxis], len(methods), 0))
    scores, items = [], []
    for row, method in enumerate(methods):
        hit = None if not use_mask or np.isnan(hits[row]) else bool(hits[row])
        score = MethodScore(method, float(curves.deletion_auc[row]), float(curves.insertion_auc[row]),
                            float(removal.morf[row].mean()), float(removal.lerf[row].mean()), hit)
        scores.append(score)
        picture = render(image, maps[row], colormap, opacity, mask if use_mask else None)[2]
        caption = (f"{method} — {message('explorer.deletion_short', lang)} {_fmt(score.deletion_auc)} / "
                   f"{message('explorer.insertion_short', lang)} {_fmt(score.insertion_auc)}")
        if use_mask:
            caption += f" / {_pointing_word(hit, lang)}"
        items.append((outputs.write(picture), caption))
    return items, compare_table(scores, use_mask, loaded.images.masks is not None, lang)


def compare_table(scores: list[MethodScore], with_pointing: bool, has_masks: bool, lang: str) -> str:
    header = [message(f"explorer.{column}", lang)
              for column in ("col_method", "col_deletion", "col_insertion", "col_road_morf", "col_road_lerf")]
    if with_pointing:
        header.append(message("explorer.col_pointing", lang))
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for score in scores:
        cells = [f"`{score.method}`", _fmt(score.deletion_auc), _fmt(score.insertion_auc),
                 _fmt(score.road_morf), _fmt(score.road_lerf)]
        if with_pointing:
            cells.append(_pointing_word(score.pointing, lang))
        lines.append("| " + " | ".join(cells) + " |")
    note = message("explorer.compare_note", lang)
    if not with_pointing:
        note += " " + message("explorer.compare_no_pointing" if has_masks else "explorer.no_mask", lang)
    return "\n".join(lines) + "\n\n" + note


# -- sanity check ------------------------------------------------------------------------

_cascades = ComputeOnce(keep=CASCADES_KEPT)


def _cascade(loaded: ExplorerModel, image, methods, target, layer):
    """(maps, similarity) of one image's cascading randomisation, kept for the last few requests."""
    key = (loaded.key, hashlib.sha1(np.ascontiguousarray(image).tobytes()).hexdigest(),
           tuple(methods), target, layer)

    def randomise():
        images = loaded.model_inputs(np.asarray(image, np.float32)[np.newaxis])
        cascade = cascading_randomisation_maps(loaded.model, images, methods, target, layer, seed=0)
        return cascade, similarity_to_original(cascade)
    return _cascades.get(key, randomise)


@friendly
def sanity_check(loaded: ExplorerModel, outputs: OutputFiles, image_path, sample_index, methods, target,
                 layer, colormap, lang="ja"):
    """Cascading randomisation of the selected image: (gallery items, columns, Markdown table).

    The gallery has one row per method and one column per step (step 0: the
    trained model; step s: the top s weighted layers re-initialised, on a copy
    of the model). Captions give the Spearman / SSIM of the map with step 0's.
    """
    lang = supported_language(lang)
    image, _ = input_image(loaded, image_path, sample_index, lang)
    methods = parse_methods(methods, lang)
    target, layer = parse_target(loaded, target, lang), parse_layer(loaded, layer, lang)
    colormap = parse_colormap(colormap, lang)
    cascade, similarity = _cascade(loaded, image, methods, target, layer)
    items = []
    for method in methods:
        for step, path in enumerate(cascade.layers):
            picture = render(image, cascade.maps[method][step, 0], colormap, 0.5)[2]
            caption = (f"{method} · {message('explorer.step', lang)} {step}: "
                       f"{message('explorer.trained_model', lang) if step == 0 else path} · "
                       f"ρ {_fmt(similarity.spearman[method][step, 0])} / "
                       f"SSIM {_fmt(similarity.ssim[method][step, 0])}")
            items.append((outputs.write(picture), caption))
    return items, len(cascade.layers), sanity_table(similarity, lang)


def sanity_table(similarity, lang: str) -> str:
    steps = [f"{step}: {message('explorer.trained_model', lang) if step == 0 else path}"
             for step, path in enumerate(similarity.layers)]
    lines = [f"| {message('explorer.col_method', lang)} | " + " | ".join(steps) + " |",
             "|" + "---|" * (len(steps) + 1)]
    for row in similarity.methods:
        cells = [f"{_fmt(similarity.spearman[row][s, 0])} / {_fmt(similarity.ssim[row][s, 0])}"
                 for s in range(len(steps))]
        lines.append(f"| `{row}` | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n\n" + message("explorer.sanity_note", lang)


# -- shortcut lab ------------------------------------------------------------------------

class ShortcutLabs:
    """Lab results by (model type, strength, epochs), computed once; the models are cached on disk too."""

    def __init__(self, seed: int = 0, cache_dir=None):
        self.seed, self.cache_dir = seed, cache_dir
        self._results = ComputeOnce()

    def cached(self, key) -> ShortcutLabResult | None:
        return self._results.peek(key)

    def models_to_train(self, key) -> int:
        """How many of the lab's two models are not in the training cache yet."""
        model_type, strength, epochs = key
        return sum(not is_cached(training_settings("synthetic", model_type, 28, epochs, seed=self.seed,
                                                   marker_strength=marker_strength), self.cache_dir)
                   for marker_strength in (float(strength), 0.0))  # as run_shortcut_lab trains them

    def get(self, key, progress=None) -> ShortcutLabResult:
        """The lab's result; two students pressing the button train the models once."""
        model_type, strength, epochs = key
        return self._results.get(key, lambda: run_shortcut_lab(
            model_type, strength, epochs, seed=self.seed, cache_dir=self.cache_dir,
            progress=progress if callable(progress) else False))


def lab_reporter(report, lang: str, total: int = 2):
    """A training callback for the ``total`` models the lab trains: ``report(fraction, text)``."""
    state = {"model": 0, "last": None}
    total = max(1, int(total))

    def on_epoch(epoch, epochs, logs):
        if state["last"] is None or epoch <= state["last"]:
            state["model"] = min(total, state["model"] + 1)
        state["last"] = epoch
        value = logs.get("val_accuracy")
        report(((state["model"] - 1) * epochs + epoch) / (total * max(1, epochs)),
               message("explorer.lab_training", lang, model=state["model"], total=total, epoch=epoch, epochs=epochs,
                 val="—" if value is None else f"{value:.1%}"))
    return on_epoch


@friendly
def shortcut_lab(labs: ShortcutLabs, outputs: OutputFiles, model_type, strength, epochs, lang="ja",
                 progress=None):
    """Run (or reuse) the lab: (summary Markdown, figure PNG path, numbers table Markdown).

    ``progress(fraction, text)`` is called while the two models train.
    """
    lang = supported_language(lang)
    key = parse_lab_settings(model_type, strength, epochs, lang)
    report = None
    if callable(progress) and labs.cached(key) is None:
        report = lab_reporter(progress, lang, labs.models_to_train(key))
    result = labs.get(key, report)
    return lab_texts(result, lang) + (outputs.write(lab_figure(result)),)


def lab_texts(result, lang: str) -> tuple[str, str]:
    """(summary, table) of a lab result in ``lang``."""
    lang = supported_language(lang)
    summary = result.summary(lang).replace("\n- ", "\n\n- ").replace("\n→", "\n\n→").replace("\n->", "\n\n->")
    s, c = result.shortcut, result.control
    pct = lambda value: "—" if not np.isfinite(value) else f"{value:.0%}"
    rows = [(message("explorer.lab_val", lang), pct(s.val_accuracy), pct(c.val_accuracy)),
            (message("explorer.lab_test", lang), pct(s.test_accuracy), pct(c.test_accuracy)),
            (message("explorer.lab_drop", lang), f"{result.accuracy_drop:.1f}", f"{result.control_drop:.1f}"),
            (message("explorer.lab_marker_peak", lang), pct(s.marker_peak), pct(c.marker_peak)),
            (message("explorer.lab_pointing", lang), pct(s.pointing), pct(c.pointing))]
    table = [f"| | {message('explorer.lab_shortcut', lang)} | {message('explorer.lab_control', lang)} |", "|---|---|---|"]
    table += [f"| {name} | {a} | {b} |" for name, a, b in rows]
    return summary, "\n".join(table)


def lab_figure(result) -> np.ndarray:
    """The library's lab figure as an RGB array (rendered off-screen)."""
    import matplotlib
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    figure = plot_shortcut_lab(result)
    try:
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=90)
    finally:
        plt.close(figure)
    buffer.seek(0)
    with Image.open(buffer) as picture:
        return np.asarray(picture.convert("RGB"))
