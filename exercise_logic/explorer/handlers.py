"""What the explorer tab does, as plain functions: testable in-process, without a server.

Each takes the :class:`~.model_store.ExplorerModel` to explain (the events
pick it: a kit model, a session's upload or the notebook's model), the
:class:`~.output_files.OutputFiles` to write pictures to, the controls'
values and the user's language last. Grad-CAM is computed by the library
(:func:`exercise_logic.cam_engine`), pictures are drawn by
:mod:`exercise_logic.rendering`; user mistakes become the page's message in
the user's language, anything else is logged and reported briefly.
"""
from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass

import numpy as np

from ..data.image_files import ImageInputError, preprocess_image
from ..evaluation import probabilities_from_logits
from ..explain import COUNTERFACTUAL_METHODS, PIXEL_METHODS, blank_maps, cam_engine, pointing_game
from ..messages import message, supported_language
from ..rendering import enlarge, explanation_pictures, overlay, resize_heatmap
from .compute_once import ComputeOnce
from .errors import friendly, user_error
from .model_store import DEFAULT_METHOD, DISPLAY_SIZE, PREDICTED, ExplorerModel
from .output_files import OutputFiles, png_bytes
from .parsing import (parse_colormap, parse_counterfactual, parse_layer, parse_method,
                      parse_opacity, parse_target)

N_GRID = 8                  # images in the comparison grid (the lecture's x_test[:8])


# -- inputs -----------------------------------------------------------------------

def read_upload(loaded: ExplorerModel, path, lang: str = "ja") -> np.ndarray:
    """An uploaded file preprocessed exactly like the model's images, or a clear message."""
    height, width = loaded.images.size
    try:
        image = preprocess_image(path, size=height, as_rgb=True, gray=loaded.images.gray)
    except ImageInputError as error:
        raise user_error(error.message(lang)) from None
    if width != height:  # preprocess_image makes squares: stretch to the model's shape
        image = np.stack([resize_heatmap(image[..., c], height, width) for c in range(3)], axis=-1)
    return image


def input_image(loaded: ExplorerModel, image_path, sample_index, lang: str = "ja"):
    """(image (H, W, C), lesion mask or None): one of the model's images by index, else the upload."""
    if sample_index is not None:
        index = int(sample_index)
        images = loaded.images
        if not 0 <= index < len(images.images):
            raise user_error(message("explorer.err_no_image", lang))
        mask = images.masks[index] if images.masks is not None else None
        return images.images[index], mask
    if image_path:
        return read_upload(loaded, image_path, lang), None
    raise user_error(message("explorer.err_no_image", lang))


# -- the explanation ----------------------------------------------------------------

@dataclass
class Explanation:
    images: np.ndarray          # (N, H, W, C) float32
    heatmaps: np.ndarray        # (N, H, W) float32 in [0, 1]
    probabilities: np.ndarray   # (N, classes)
    targets: np.ndarray         # (N,) the class each map explains


def explain(loaded: ExplorerModel, images, target=None, layer=None, method=DEFAULT_METHOD,
            counterfactual: bool = False) -> Explanation:
    """The library's CAM engine on a batch, with probabilities from the same forward pass."""
    images = np.asarray(images, np.float32)
    if images.ndim == 3:
        images = images[np.newaxis]
    engine = cam_engine(loaded.model, layer, method, counterfactual)
    maps, logits, targets = engine.explain(loaded.model_inputs(images), target)
    return Explanation(images, maps, probabilities_from_logits(logits, loaded.output_kind), targets)


def label_value(loaded: ExplorerModel, probabilities, lang: str) -> dict[str, float]:
    return {name: float(p) for name, p in zip(loaded.class_names(lang), probabilities)}


def lesion_hit(heatmap, mask) -> bool | None:
    """Does the heatmap's peak fall on the lesion? None without a lesion or with a flat map."""
    if mask is None or not np.any(mask) or not np.any(np.asarray(heatmap) > 0):
        return None
    hit = pointing_game(heatmap, np.asarray(mask, bool), tolerance=0)[0]  # "inside the outline"
    return None if np.isnan(hit) else bool(hit)


def render(image, heatmap, colormap="jet", opacity=0.4, mask=None):
    """(original, heatmap, overlay) enlarged for the page, the lesion outlined on the overlay."""
    return explanation_pictures(image, heatmap, colormap, opacity, mask, DISPLAY_SIZE)


def lesion_text(loaded: ExplorerModel, heatmap, mask, is_sample: bool, lang: str) -> str:
    if loaded.images.masks is None or not is_sample:
        return message("explorer.no_mask", lang)
    kind = loaded.images.ground_truth  # "lesion" (synthetic) or "box" (NIH's radiologists)
    if mask is None or not np.any(mask):
        return message(f"explorer.no_{kind}", lang)
    hit = lesion_hit(heatmap, mask)
    if hit is None:
        return message("explorer.flat_map", lang)
    return message(f"explorer.{kind}_hit" if hit else f"explorer.{kind}_miss", lang)


def blank_note(loaded: ExplorerModel, image, explained: int, layer: str, method: str,
               counterfactual: bool, lang: str) -> tuple[str, bool]:
    """(note, offer the counterfactual map?): why a map is blank, or which map is shown."""
    name = loaded.class_names(lang)[int(explained)]
    if counterfactual:
        return message("explorer.counterfactual_shown", lang, cls=name), False
    if not blank_maps(loaded.model, loaded.model_inputs(image[np.newaxis]), layer, int(explained), method)[0]:
        return "", False
    note = message("explorer.blank_note", lang, cls=name, layer=layer, method=method)
    offer = method in COUNTERFACTUAL_METHODS
    if not offer:
        note += " " + message("explorer.blank_other_method", lang, choices=", ".join(COUNTERFACTUAL_METHODS))
    return note, offer


# -- what the events call -------------------------------------------------------------

@dataclass
class View:
    """What the explorer tab shows for one image."""
    label: dict
    original: str
    heatmap: str
    overlay: str
    lesion: str
    note: str                  # why the map is blank, or that it is the counterfactual one
    offer_counterfactual: bool


@friendly
def view(loaded: ExplorerModel, outputs: OutputFiles, image_path, sample_index, target, layer, method,
         opacity, colormap, counterfactual=False, lang="ja") -> View:
    """The main view of one image: prediction, the three pictures and the notes."""
    lang = supported_language(lang)
    image, mask = input_image(loaded, image_path, sample_index, lang)
    method = parse_method(method, lang)
    counterfactual = parse_counterfactual(counterfactual, method, lang)
    layer = parse_layer(loaded, layer, lang)
    result = explain(loaded, image, parse_target(loaded, target, lang), layer, method, counterfactual)
    pictures = render(image, result.heatmaps[0], parse_colormap(colormap, lang),
                      parse_opacity(opacity, lang), mask)
    note, offer = blank_note(loaded, image, result.targets[0], layer, method, counterfactual, lang)
    return View(label_value(loaded, result.probabilities[0], lang),
                *[outputs.write(picture) for picture in pictures],
                lesion_text(loaded, result.heatmaps[0], mask, sample_index is not None, lang), note, offer)


def file_digest(path) -> str | None:
    """SHA-256 of a file's bytes, or None when it cannot be read (the handler then says why)."""
    try:
        with open(path, "rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError:
        return None


@friendly
def explain_api(loaded: ExplorerModel, outputs: OutputFiles, image_path, target=PREDICTED, layer=None,
                method=DEFAULT_METHOD, opacity=0.4, lang="ja", results: ComputeOnce | None = None):
    """The ``explain`` API: (label probabilities, overlay PNG path) for an uploaded image.

    ``results`` caches answers by model, image bytes and settings: a class
    sending the same gallery image gets it computed once. Every caller still
    gets a file of their own.
    """
    lang = supported_language(lang)
    if not image_path:
        raise user_error(message("explorer.err_no_image", lang))
    settings = (parse_target(loaded, target, lang), parse_layer(loaded, layer, lang), parse_method(method, lang),
                parse_opacity(opacity, lang))

    def compute():
        image = read_upload(loaded, image_path, lang)
        result = explain(loaded, image, *settings[:3])
        # Only the overlay: the blend of the enlarged image (the other two pictures are not drawn).
        picture = overlay(enlarge(image, DISPLAY_SIZE), result.heatmaps[0], "jet", settings[3])
        return label_value(loaded, result.probabilities[0], lang), png_bytes(picture)

    digest = file_digest(image_path) if results is not None else None
    if digest is None:
        label, picture = compute()
    else:
        label, picture = results.get((loaded.key, digest, *settings, lang), compute)
    return dict(label), outputs.write_png(picture)


@friendly
def comparison_grid(loaded: ExplorerModel, outputs: OutputFiles, target, layer, method, opacity,
                    colormap, counterfactual=False, lang="ja"):
    """Overlays of the first 8 gallery samples in one batch, each captioned with its true and
    predicted class, the class its map explains and, with a lesion, hit or miss."""
    lang = supported_language(lang)
    images = loaded.images
    indices = images.sample_indices[:N_GRID]
    method = parse_method(method, lang)
    counterfactual = parse_counterfactual(counterfactual, method, lang)
    result = explain(loaded, images.images[indices], parse_target(loaded, target, lang),
                     parse_layer(loaded, layer, lang), method, counterfactual)
    colormap, opacity = parse_colormap(colormap, lang), parse_opacity(opacity, lang)
    names = loaded.class_names(lang)
    items = []
    for row, index in enumerate(indices):
        mask = images.masks[index] if images.masks is not None else None
        picture = render(result.images[row], result.heatmaps[row], colormap, opacity, mask)[2]
        probabilities = result.probabilities[row]
        best = int(np.argmax(probabilities))
        caption = f"{message('explorer.pred_label', lang)}: {names[best]} {probabilities[best]:.0%}"
        if images.labels is not None:
            caption = f"{message('explorer.true_label', lang)}: {true_label(loaded, images.labels[index], lang)} / " + caption
        explained = names[int(result.targets[row])]
        if counterfactual:
            explained += f" ({message('explorer.counterfactual_short', lang)})"
        caption += f" / {message('explorer.explains', lang)}: {explained}"
        hit = lesion_hit(result.heatmaps[row], mask)
        if hit is not None:
            caption += f" / {message('explorer.hit' if hit else 'explorer.miss', lang)}"
        items.append((outputs.write(picture), caption))
    return items


def true_label(loaded: ExplorerModel, label, lang: str) -> str:
    names = loaded.class_names(lang)
    label = np.asarray(label)
    if label.ndim == 0 or label.size == 1:
        return names[int(label.reshape(-1)[0])]
    found = [names[k] for k in np.flatnonzero(label > 0.5)]
    return "、".join(found) if found else message("explorer.no_finding", lang)


def gallery_items(loaded: ExplorerModel, lang: str) -> list[tuple[str, str]]:
    images = loaded.images
    if images.labels is None:
        return [(path, f"#{index}") for path, index in zip(images.sample_paths, images.sample_indices)]
    return [(path, true_label(loaded, images.labels[index], lang))
            for path, index in zip(images.sample_paths, images.sample_indices)]


def pick_sample(loaded: ExplorerModel, position: int) -> tuple[str, int]:
    """Gallery position -> (the sample's picture for the input box, its index in the image set)."""
    position = int(position)
    return loaded.images.sample_paths[position], int(loaded.images.sample_indices[position])


def banner(loaded: ExplorerModel, lang: str) -> str:
    lang = supported_language(lang)
    values = {"dataset": loaded.images.title[lang], "model": loaded.title[lang],
              "n": len(loaded.images.images)}
    if loaded.metrics is None:
        return message("explorer.banner_unlabelled", lang, **values)
    auc = loaded.metrics.get("roc_auc")
    return message("explorer.banner", lang, **values,
             auc="—" if auc is None or np.isnan(auc) else f"{auc:.3f}",
             acc=f"{loaded.metrics.get('accuracy', float('nan')):.1%}",
             source=message(loaded.source, lang) if loaded.source else "")


def layer_map_size(model, path: str) -> str:
    """"11×11": the spatial size of a conv layer's output."""
    layer = model
    for part in path.split("/"):
        layer = layer.get_layer(part)
    shape = tuple(layer.output.shape)
    return f"{shape[1]}×{shape[2]}"


def explanation_text(loaded: ExplorerModel | None, layer, lang: str, method=DEFAULT_METHOD) -> str:
    """The explanation panel; the map size is the layer's, or the image's for pixel methods."""
    size = "?"
    if loaded is not None:
        with contextlib.suppress(Exception):
            if method in PIXEL_METHODS:
                size = "×".join(map(str, loaded.images.size))
            else:
                size = layer_map_size(loaded.model, parse_layer(loaded, layer, lang))
    return message("explorer.explanation", lang, map_size=size)


def training_reporter(report, lang: str):
    """A ``train_or_load`` progress callback that forwards to ``report(fraction, text)``."""
    def on_epoch(epoch, epochs, logs):
        value = logs.get("val_accuracy")
        report(epoch / max(1, epochs),
               message("explorer.training", lang, epoch=epoch, epochs=epochs,
                 val="—" if value is None else f"{value:.1%}"))
    return on_epoch
