"""What the app does, as plain functions: testable in-process, without a server.

The UI (``demo.app``) only wires these to components. Grad-CAM itself is
computed by the library (:func:`exercise_logic.cam_engine`); this module
picks the inputs, turns logits into probabilities and draws the pictures.
User mistakes become :class:`gradio.Error` with a message in the user's
language (no stack trace); everything else is logged and reported briefly.
"""
from __future__ import annotations

import contextlib
import functools
import logging
import os
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import gradio as gr
import numpy as np
from PIL import Image

import exercise_logic as el
from exercise_logic.atomic_files import atomic_write
from exercise_logic.data.image_files import ImageInputError, preprocess_image
from exercise_logic.evaluation import probabilities_from_logits
from exercise_logic.explain.layers import output_kind
from exercise_logic.rendering import enlarge, heatmap_to_rgb, resize_heatmap
from exercise_logic.training import is_cached, training_settings

from .texts import dataset_name, model_name, normalise_lang, t

log = logging.getLogger("demo")

DISPLAY_SIZE = 224          # 28x28 images are shown 8x enlarged
N_SAMPLES = 16              # test images in the sample gallery
N_GRID = 8                  # images in the comparison grid (the lecture's x_test[:8])
OUTLINE_RGB = (255, 0, 255)  # lesion outline: magenta is in none of the colormaps
PREDICTED = "predicted"
DEFAULT_METHOD = "gradcam"


# -- errors -------------------------------------------------------------------------

def user_error(message: str) -> gr.Error:
    """A message for the page (a toast), without a stack trace in the server log."""
    return gr.Error(message, title="エラー / Error", print_exception=False)


def friendly(function):
    """Turn unexpected exceptions into a short message; gr.Error passes through."""
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except gr.Error:
            raise
        except Exception as error:
            log.exception("handler %s failed", function.__name__)
            lang = kwargs.get("lang") or (args[-1] if args and args[-1] in ("ja", "en") else "ja")
            raise user_error(t("err_internal", lang, error=type(error).__name__)) from None
    return wrapper


# -- datasets and models ------------------------------------------------------------

def dataset_key(name: str, size: int) -> str:
    return f"{name}-{size}"


def parse_dataset_key(key: str) -> tuple[str, int]:
    name, _, size = str(key).rpartition("-")
    if not name or not size.isdigit():
        raise ValueError(f"dataset key must look like 'synthetic-28', got {key!r}")
    return name, int(size)


@dataclass
class LoadedModel:
    """A trained model ready to explain, with its sample images."""
    trained: el.TrainedModel
    key: str
    model_type: str
    sample_indices: np.ndarray
    sample_paths: list

    @property
    def model(self):
        return self.trained.model

    @property
    def dataset(self) -> el.Dataset:
        return self.trained.dataset

    @functools.cached_property
    def conv_layers(self) -> list[str]:
        return el.conv_layer_names(self.model)

    @property
    def default_layer(self) -> str:
        return self.conv_layers[-1]

    @functools.cached_property
    def output_kind(self) -> str:
        return output_kind(self.model)

    def class_names(self, lang: str) -> list[str]:
        return self.dataset.class_names(normalise_lang(lang))

    @property
    def gray(self) -> bool:
        return int(self.dataset.info.get("n_channels", 1)) == 1


class ModelStore:
    """Trained models by (dataset key, model type): loaded from the cache or trained once.

    Parameters
    ----------
    workdir : path
        The app's own folder; sample images are written under ``samples/``.
    epochs, seed : int
        Training settings for a model that is not cached yet.
    cache_dir, root : path, optional
        Model cache and MedMNIST folder (library defaults otherwise).
    """

    def __init__(self, workdir, epochs: int = 5, seed: int = 0, cache_dir=None, root=None):
        self.workdir = Path(workdir)
        self.epochs, self.seed, self.cache_dir, self.root = int(epochs), int(seed), cache_dir, root
        self._models: dict[tuple[str, str], LoadedModel] = {}
        self._locks: dict[tuple[str, str], threading.Lock] = {}
        self._guard = threading.Lock()

    def dataset_keys(self) -> list[str]:
        return [dataset_key(name, size) for name, size in el.available_datasets(self.root)]

    def default_dataset(self) -> str:
        keys = self.dataset_keys()
        return "chestmnist-28" if "chestmnist-28" in keys else "synthetic-28"

    def _settings(self, key: str, model_type: str) -> dict:
        name, size = parse_dataset_key(key)
        return training_settings(name, model_type, size, self.epochs, seed=self.seed)

    def is_cached(self, key: str, model_type: str) -> bool:
        """Whether the model is on disk (loading it needs no training)."""
        return is_cached(self._settings(key, model_type), self.cache_dir)

    def is_loaded(self, key: str, model_type: str) -> bool:
        return (key, model_type) in self._models

    def get(self, key: str, model_type: str = "simple", progress=None, lang: str = "ja") -> LoadedModel:
        """The model for (dataset, model type); ``progress(epoch, epochs, logs)`` while training."""
        loaded = self._models.get((key, model_type))
        if loaded is not None:
            return loaded
        if key not in self.dataset_keys():
            raise user_error(t("err_dataset", lang, value=key))
        if model_type not in el.MODEL_TYPES:
            raise user_error(t("err_model", lang, error=model_type))
        if model_type == "transfer" and not self.is_cached(key, model_type) and not transfer_weights_present():
            raise user_error(t("err_transfer_offline", lang))  # training would download them
        with self._guard:
            lock = self._locks.setdefault((key, model_type), threading.Lock())
        with lock:
            loaded = self._models.get((key, model_type))
            if loaded is None:
                loaded = self._load(key, model_type, progress, lang)
                self._models[(key, model_type)] = loaded
        return loaded

    def _load(self, key, model_type, progress, lang) -> LoadedModel:
        name, size = parse_dataset_key(key)
        try:
            trained = el.train_or_load(name, model_type, size=size, epochs=self.epochs,
                                       seed=self.seed, cache_dir=self.cache_dir, root=self.root,
                                       progress=progress if callable(progress) else False)
        except (RuntimeError, OSError, ValueError) as error:  # e.g. transfer weights offline
            log.warning("model %s/%s unavailable: %s", key, model_type, error)
            raise user_error(t("err_model", lang, error=error)) from None
        test = trained.dataset.test
        indices = _sample_indices(test.labels, trained.dataset.num_outputs == 1)
        folder = self.workdir / "samples" / f"{key}-{model_type}"
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for index in indices:
            path = folder / f"test-{index:05d}.png"
            _save_png_atomically(enlarge(test.images[index], DISPLAY_SIZE), path)
            paths.append(str(path))
        loaded = LoadedModel(trained, key, model_type, indices, paths)
        # Trace the default method on every layer now, not on a student's first click;
        # the other methods are traced in the background.
        for layer in loaded.conv_layers:
            el.cam_engine(loaded.model, layer, DEFAULT_METHOD).explain(test.images[:1])
        threading.Thread(target=_warm_up, args=(loaded,), daemon=True,
                         name=f"warm-up {key}/{model_type}").start()
        return loaded


def _warm_up(loaded: LoadedModel) -> None:
    for method in el.METHODS:
        with contextlib.suppress(Exception):  # a method that fails says so when it is chosen
            el.cam_engine(loaded.model, loaded.default_layer, method).explain(
                loaded.dataset.test.images[:1])


def transfer_weights_present() -> bool:
    """Whether Keras has MobileNetV2's ImageNet weights locally (no download needed)."""
    home = Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras")
    return any((home / "models").glob("mobilenet_v2_weights*no_top*"))


def _sample_indices(labels, binary: bool) -> np.ndarray:
    """Test images for the gallery: abnormal and normal alternating for binary data."""
    labels = np.asarray(labels)
    if binary and labels.ndim == 1:
        abnormal = np.flatnonzero(labels == 1)[:N_SAMPLES // 2]
        normal = np.flatnonzero(labels == 0)[:N_SAMPLES // 2]
        paired = [index for pair in zip(abnormal, normal) for index in pair]
        rest = [index for index in np.r_[abnormal, normal] if index not in paired]
        return np.asarray(paired + rest, dtype=int)[:N_SAMPLES]
    return np.arange(min(N_SAMPLES, len(labels)))


def _save_png_atomically(array, path: Path) -> None:
    with atomic_write(path) as out:
        Image.fromarray(array).save(out, format="PNG")


# -- output files ---------------------------------------------------------------

class OutputFiles:
    """Each output image as its own uniquely named PNG file.

    Gradio rewrites a shared cache file when two users get identical numpy
    outputs, and a concurrent download can then be truncated; unique files
    avoid that. PNG, not Gradio's lossy default WebP. Old files are swept.
    """

    def __init__(self, folder, max_age_s: float = 300.0, sweep_every_s: float = 30.0):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.max_age_s, self.sweep_every_s = max_age_s, sweep_every_s
        self._last_sweep = time.monotonic()

    def write(self, array) -> str:
        handle, path = tempfile.mkstemp(prefix="cam-", suffix=".png", dir=self.folder)
        with os.fdopen(handle, "wb") as out:
            Image.fromarray(np.asarray(array, np.uint8)).save(out, format="PNG", compress_level=1)
        self._maybe_sweep()
        return path

    def _maybe_sweep(self) -> None:
        now = time.monotonic()
        if now - self._last_sweep < self.sweep_every_s:
            return
        self._last_sweep = now
        limit = time.time() - self.max_age_s
        for entry in list(os.scandir(self.folder)):
            with contextlib.suppress(FileNotFoundError):  # another thread may sweep too
                if entry.stat().st_mtime < limit:
                    os.remove(entry.path)


# -- choices and parsing ------------------------------------------------------------

def target_choices(loaded: LoadedModel, lang: str) -> list[tuple[str, str]]:
    """("predicted", then every class) as (shown name, value); values are English names."""
    shown = loaded.class_names(lang)
    values = loaded.class_names("en")
    return [(t("predicted", lang), PREDICTED)] + list(zip(shown, values))


def parse_target(loaded: LoadedModel, value, lang: str = "ja") -> int | None:
    """None for "predicted"; else the class index, from an English/Japanese name or a number."""
    if value is None or str(value).strip() in ("", PREDICTED):
        return None
    text = str(value).strip()
    for names in (loaded.class_names("en"), loaded.class_names("ja")):
        if text in names:
            return names.index(text)
    lowered = [name.lower() for name in loaded.class_names("en")]
    if text.lower() in lowered:
        return lowered.index(text.lower())
    if text.lstrip("-").isdigit() and 0 <= int(text) < len(lowered):
        return int(text)
    choices = ", ".join([PREDICTED] + loaded.class_names("en"))
    raise user_error(t("err_target", lang, value=value, choices=choices))


def parse_layer(loaded: LoadedModel, value, lang: str = "ja") -> str:
    if value is None or str(value).strip() == "":
        return loaded.default_layer
    if value in loaded.conv_layers:
        return value
    short = [path for path in loaded.conv_layers if path.rsplit("/", 1)[-1] == value]
    if len(short) == 1:
        return short[0]
    raise user_error(t("err_layer", lang, value=value, choices=", ".join(loaded.conv_layers)))


def parse_method(value, lang: str = "ja") -> str:
    value = value or DEFAULT_METHOD
    if value not in el.METHODS:
        raise user_error(t("err_method", lang, value=value, choices=", ".join(el.METHODS)))
    return value


def parse_opacity(value, lang: str = "ja") -> float:
    try:
        opacity = 0.4 if value is None else float(value)
    except (TypeError, ValueError):
        raise user_error(t("err_opacity", lang, value=value)) from None
    if not 0.0 <= opacity <= 1.0:
        raise user_error(t("err_opacity", lang, value=value))
    return opacity


def parse_colormap(value, lang: str = "ja") -> str:
    value = value or "jet"
    if value not in el.COLORMAPS:
        raise user_error(t("err_colormap", lang, value=value, choices=", ".join(el.COLORMAPS)))
    return value


def method_choices() -> list[str]:
    return list(el.METHODS)


# -- inputs -----------------------------------------------------------------------

def read_upload(loaded: LoadedModel, path, lang: str = "ja") -> np.ndarray:
    """An uploaded file preprocessed exactly like the training data, or a clear message."""
    try:
        return preprocess_image(path, size=loaded.dataset.size, as_rgb=True, gray=loaded.gray)
    except ImageInputError as error:
        raise user_error(error.message(lang)) from None


def input_image(loaded: LoadedModel, image_path, sample_index, lang: str = "ja"):
    """(image (S, S, 3), lesion mask or None): a test sample by index, else the upload."""
    if sample_index is not None:
        index = int(sample_index)
        test = loaded.dataset.test
        if not 0 <= index < len(test):
            raise user_error(t("err_no_image", lang))
        mask = test.masks[index] if test.masks is not None else None
        return test.images[index], mask
    if image_path:
        return read_upload(loaded, image_path, lang), None
    raise user_error(t("err_no_image", lang))


# -- the explanation ----------------------------------------------------------------

@dataclass
class Explanation:
    images: np.ndarray          # (N, S, S, 3) float32
    heatmaps: np.ndarray        # (N, S, S) float32 in [0, 1]
    probabilities: np.ndarray   # (N, classes)
    targets: np.ndarray         # (N,) the class each map explains


def explain(loaded: LoadedModel, images, target=None, layer=None, method="gradcam") -> Explanation:
    """The library's CAM engine on a batch, with probabilities from the same forward pass."""
    images = np.asarray(images, np.float32)
    if images.ndim == 3:
        images = images[np.newaxis]
    maps, logits, targets = el.cam_engine(loaded.model, layer, method).explain(images, target)
    return Explanation(images, maps, probabilities_from_logits(logits, loaded.output_kind), targets)


def label_value(loaded: LoadedModel, probabilities, lang: str) -> dict[str, float]:
    return {name: float(p) for name, p in zip(loaded.class_names(lang), probabilities)}


def lesion_hit(heatmap, mask) -> bool | None:
    """Does the heatmap's peak fall on the lesion? None without a lesion or with a flat map."""
    if mask is None or not np.any(mask) or not np.any(np.asarray(heatmap) > 0):
        return None
    hit = el.pointing_game(heatmap, np.asarray(mask, bool), tolerance=0)[0]  # "inside the outline"
    return None if np.isnan(hit) else bool(hit)


def draw_outline(rgb, mask, colour=OUTLINE_RGB, thickness: int = 2) -> np.ndarray:
    """Draw the boundary of a (s, s) mask over an enlarged (S, S, 3) picture."""
    rgb = np.array(rgb, copy=True)
    mask = np.asarray(mask, bool)
    factor = max(1, rgb.shape[0] // mask.shape[0])
    big = np.repeat(np.repeat(mask, factor, axis=0), factor, axis=1)[:rgb.shape[0], :rgb.shape[1]]
    inner = big.copy()
    for _ in range(thickness):
        padded = np.pad(inner, 1, constant_values=False)
        inner = (inner & padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:])
    rgb[big & ~inner] = colour
    return rgb


def render(image, heatmap, colormap="jet", opacity=0.4, mask=None):
    """(original, heatmap, overlay) as enlarged uint8 RGB pictures, outline on the overlay."""
    original = enlarge(image, DISPLAY_SIZE)
    smooth = resize_heatmap(heatmap, *original.shape[:2])
    colours = heatmap_to_rgb(smooth, colormap)
    blended = np.round((1.0 - opacity) * original + opacity * colours.astype(np.float32)).astype(np.uint8)
    if mask is not None and np.any(mask):
        blended = draw_outline(blended, mask)
    return original, colours, blended


def lesion_text(heatmap, mask, is_sample: bool, synthetic: bool, lang: str) -> str:
    if not synthetic or not is_sample:
        return t("no_mask", lang)
    if mask is None or not np.any(mask):
        return t("no_lesion", lang)
    hit = lesion_hit(heatmap, mask)
    if hit is None:
        return t("flat_map", lang)
    return t("lesion_hit" if hit else "lesion_miss", lang)


# -- what the events call -------------------------------------------------------------

@friendly
def view(store: ModelStore, outputs: OutputFiles, dataset, model_type, image_path, sample_index,
         target, layer, method, opacity, colormap, lang="ja"):
    """The main view: (label, original, heatmap, overlay, lesion text)."""
    lang = normalise_lang(lang)
    loaded = store.get(dataset, model_type, lang=lang)
    image, mask = input_image(loaded, image_path, sample_index, lang)
    result = explain(loaded, image, parse_target(loaded, target, lang),
                     parse_layer(loaded, layer, lang), parse_method(method, lang))
    pictures = render(image, result.heatmaps[0], parse_colormap(colormap, lang),
                      parse_opacity(opacity, lang), mask)
    text = lesion_text(result.heatmaps[0], mask, sample_index is not None,
                       loaded.dataset.name == "synthetic", lang)
    return (label_value(loaded, result.probabilities[0], lang),
            *[outputs.write(picture) for picture in pictures], text)


@friendly
def explain_api(store: ModelStore, outputs: OutputFiles, dataset, model_type, image_path,
                target=PREDICTED, layer=None, method="gradcam", opacity=0.4, lang="ja"):
    """The ``explain`` API: (label probabilities, overlay PNG path) for an uploaded image."""
    lang = normalise_lang(lang)
    loaded = store.get(dataset, model_type, lang=lang)
    image = read_upload(loaded, image_path, lang) if image_path else None
    if image is None:
        raise user_error(t("err_no_image", lang))
    result = explain(loaded, image, parse_target(loaded, target, lang),
                     parse_layer(loaded, layer, lang), parse_method(method, lang))
    overlay = render(image, result.heatmaps[0], "jet", parse_opacity(opacity, lang))[2]
    return label_value(loaded, result.probabilities[0], lang), outputs.write(overlay)


@friendly
def comparison_grid(store: ModelStore, outputs: OutputFiles, dataset, model_type, target, layer,
                    method, opacity, colormap, lang="ja"):
    """Overlays of the first 8 gallery samples in one batch, captioned true / predicted / hit."""
    lang = normalise_lang(lang)
    loaded = store.get(dataset, model_type, lang=lang)
    indices = loaded.sample_indices[:N_GRID]
    test = loaded.dataset.test
    result = explain(loaded, test.images[indices], parse_target(loaded, target, lang),
                     parse_layer(loaded, layer, lang), parse_method(method, lang))
    colormap, opacity = parse_colormap(colormap, lang), parse_opacity(opacity, lang)
    names = loaded.class_names(lang)
    items = []
    for row, index in enumerate(indices):
        mask = test.masks[index] if test.masks is not None else None
        picture = render(result.images[row], result.heatmaps[row], colormap, opacity, mask)[2]
        probabilities = result.probabilities[row]
        best = int(np.argmax(probabilities))
        caption = (f"{t('true_label', lang)}: {true_label(loaded, test.labels[index], lang)} / "
                   f"{t('pred_label', lang)}: {names[best]} {probabilities[best]:.0%}")
        hit = lesion_hit(result.heatmaps[row], mask)
        if hit is not None:
            caption += f" / {t('hit' if hit else 'miss', lang)}"
        items.append((outputs.write(picture), caption))
    return items


def true_label(loaded: LoadedModel, label, lang: str) -> str:
    names = loaded.class_names(lang)
    label = np.asarray(label)
    if label.ndim == 0:
        return names[int(label)]
    found = [names[k] for k in np.flatnonzero(label > 0.5)]
    return "、".join(found) if found else ("所見なし" if lang == "ja" else "no finding")


def gallery_items(loaded: LoadedModel, lang: str) -> list[tuple[str, str]]:
    test = loaded.dataset.test
    return [(path, true_label(loaded, test.labels[index], lang))
            for path, index in zip(loaded.sample_paths, loaded.sample_indices)]


def pick_sample(loaded: LoadedModel, position: int) -> tuple[str, int]:
    """Gallery position -> (the sample's picture for the input box, its test-set index)."""
    position = int(position)
    return loaded.sample_paths[position], int(loaded.sample_indices[position])


def banner(loaded: LoadedModel, lang: str) -> str:
    metrics = loaded.trained.metrics
    auc = metrics.get("roc_auc")
    return t("banner", lang,
             dataset=dataset_name(loaded.dataset.name, loaded.dataset.size, lang),
             model=model_name(loaded.model_type, lang),
             auc="—" if auc is None or np.isnan(auc) else f"{auc:.3f}",
             acc=f"{metrics.get('accuracy', float('nan')):.1%}", n=metrics.get("n_test", "?"),
             source=t("from_cache" if loaded.trained.from_cache else "trained_now", lang))


def layer_map_size(model, path: str) -> str:
    """"11×11": the spatial size of a conv layer's output."""
    layer = model
    for part in path.split("/"):
        layer = layer.get_layer(part)
    shape = tuple(layer.output.shape)
    return f"{shape[1]}×{shape[2]}"


def explanation_text(loaded: LoadedModel | None, layer, lang: str, method=DEFAULT_METHOD) -> str:
    """The explanation panel; the map size is the layer's, or the image's for pixel methods."""
    size = "?"
    if loaded is not None:
        with contextlib.suppress(Exception):
            if method in el.PIXEL_METHODS:
                size = f"{loaded.dataset.size}×{loaded.dataset.size}"
            else:
                size = layer_map_size(loaded.model, parse_layer(loaded, layer, lang))
    return t("explanation", lang, map_size=size)


def training_reporter(report, lang: str):
    """A ``train_or_load`` progress callback that forwards to ``report(fraction, text)``."""
    def on_epoch(epoch, epochs, logs):
        value = logs.get("val_accuracy")
        report(epoch / max(1, epochs),
               t("training", lang, epoch=epoch, epochs=epochs,
                 val="—" if value is None else f"{value:.1%}"))
    return on_epoch
