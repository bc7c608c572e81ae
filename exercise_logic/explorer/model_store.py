"""The models the explorer explains, and the images it explains them on.

An :class:`ExplorerModel` is a Keras model with an :class:`ImageSet`: a
dataset's test split (the kit's models, an uploaded model) or the student's
own arrays (:func:`exercise_logic.explore`). :class:`ModelStore` holds the
kit's trained models by (dataset, model type), each loaded or trained once.
"""
from __future__ import annotations

import contextlib
import functools
import os
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..data.datasets import ABNORMAL, BINARY_LABELS, BINARY_LABELS_JA, available_datasets, load_dataset
from ..data.lazy_arrays import PackedMasks, StreamedImages
from ..data.nih_boxes import BoxMasks, box_files_present, load_chest_boxes
from ..evaluation import evaluate
from ..explain import METHODS, cam_engine, conv_layer_names, output_kind
from ..messages import LANGUAGES, has_message, message, supported_language
from ..models import MODEL_TYPES
from ..rendering import enlarge
from ..training import is_cached, train_or_load, training_settings
from .compute_once import ComputeOnce
from .errors import log, user_error
from .output_files import save_png_atomically

DISPLAY_SIZE = 224          # pictures are enlarged by a whole factor to about this size, never shrunk
N_SAMPLES = 16              # dataset test images in the sample gallery
MAX_OWN_SAMPLES = 48        # a student's own images in the gallery
PREDICTED = "predicted"
DEFAULT_METHOD = "gradcam"
UPLOADED = "uploaded"       # the model-menu value of a session's uploaded model


def dataset_key(name: str, size: int) -> str:
    return f"{name}-{size}"


def model_name(model_type: str, lang: str) -> str:
    """The menu's name of a model type; an unknown type is shown as it is."""
    message_id = f"explorer.model_name.{model_type}"
    return message(message_id, lang) if has_message(message_id) else model_type


def dataset_name(name: str, size: int, lang: str) -> str:
    message_id = f"explorer.dataset_name.{name}"
    return f"{message(message_id, lang) if has_message(message_id) else name} {size}×{size}"


def parse_dataset_key(key: str) -> tuple[str, int]:
    name, _, size = str(key).rpartition("-")
    if not name or not size.isdigit():
        raise ValueError(f"dataset key must look like 'synthetic-28', got {key!r}")
    return name, int(size)


@dataclass(frozen=True)
class ImageSet:
    """The images a model is explored on, with the gallery's sample pictures.

    ``images`` (N, H, W, C) float32 in [0, 1]: an array, or a split's
    :class:`~exercise_logic.data.lazy_arrays.StreamedImages` (uint8 kept,
    converted when indexed, so every image size fits); ``labels`` (N,) class indices or
    (N, K) multi-label rows, or None; ``masks`` (N, H, W) lesion pixels or None;
    ``names`` and ``title`` by language; ``sample_indices`` the gallery's images
    and ``sample_paths`` their enlarged PNG files. ``ground_truth`` says what
    the masks are: ``'lesion'`` (the synthetic set's lesions) or ``'box'``
    (NIH's radiologist boxes on ChestMNIST).
    """
    key: str
    images: np.ndarray | StreamedImages
    labels: np.ndarray | None
    masks: np.ndarray | PackedMasks | BoxMasks | None
    names: dict
    title: dict
    gray: bool
    sample_indices: np.ndarray
    sample_paths: list
    ground_truth: str = "lesion"

    def class_names(self, lang: str) -> list[str]:
        return list(self.names[supported_language(lang)])

    @property
    def size(self) -> tuple[int, int]:
        return tuple(self.images.shape[1:3])


def write_samples(images, indices, folder: Path) -> list[str]:
    """The gallery's pictures: each sample enlarged (crisp pixels) as a PNG."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in indices:
        path = folder / f"sample-{int(index):05d}.png"
        if not path.exists():
            save_png_atomically(enlarge(images[index], DISPLAY_SIZE), path)
        paths.append(str(path))
    return paths


def sample_indices(labels, binary: bool, count: int = N_SAMPLES, first=()) -> np.ndarray:
    """Test images for the gallery: ``first`` (up to half of it), then abnormal and normal alternating
    for binary labels."""
    first = np.asarray(first, dtype=int)[:count // 2]
    if first.size:
        rest = sample_indices(labels, binary, count)
        return np.concatenate([first, rest[~np.isin(rest, first)]])[:count]
    if labels is None:
        return np.arange(count)
    labels = np.asarray(labels)
    if binary and labels.ndim == 1:
        abnormal = np.flatnonzero(labels == ABNORMAL)[:count // 2]
        normal = np.flatnonzero(labels == 0)[:count // 2]
        paired = [index for pair in zip(abnormal, normal) for index in pair]
        rest = [index for index in np.r_[abnormal, normal] if index not in paired]
        return np.asarray(paired + rest, dtype=int)[:count]
    return np.arange(min(count, len(labels)))


def default_class_names(outputs: int) -> dict:
    """Class names when none are given: normal/abnormal for one sigmoid unit, else "class k"."""
    if outputs == 1:
        return {"ja": list(BINARY_LABELS_JA.values()), "en": list(BINARY_LABELS.values())}
    return {lang: [message("explorer.class_number", lang, number=k) for k in range(outputs)] for lang in LANGUAGES}


@dataclass
class ExplorerModel:
    """A model ready to explain, with the images it is explored on.

    ``key`` is unique to this model (results are cached under it); ``title``
    names the model by language; ``metrics`` holds the test accuracy and
    ROC-AUC when the images have labels; ``source`` is a text key
    ("explorer.from_cache", "explorer.trained_now") or "".
    """
    model: object
    images: ImageSet
    title: dict
    metrics: dict | None = None
    source: str = ""
    key: str = field(default_factory=lambda: uuid.uuid4().hex)

    @functools.cached_property
    def conv_layers(self) -> list[str]:
        return conv_layer_names(self.model)

    @property
    def default_layer(self) -> str:
        return self.conv_layers[-1]

    @functools.cached_property
    def output_kind(self) -> str:
        return output_kind(self.model)

    @functools.cached_property
    def num_outputs(self) -> int:
        return int(self.model.outputs[0].shape[-1])

    @property
    def input_size(self) -> tuple[int, int]:
        return tuple(int(side) for side in self.model.inputs[0].shape[1:3])

    @property
    def channels(self) -> int:
        return int(self.model.inputs[0].shape[-1])

    def class_names(self, lang: str) -> list[str]:
        return self.images.class_names(lang)

    @property
    def default_target(self) -> str:
        """"abnormal" (class 1) for a single-sigmoid model, as in the lecture; else the predicted class.

        The lecture CNN has no positive evidence for "normal" (it recognises
        normal as the absence of abnormal features), so explaining the
        predicted class would show blank maps for every image called normal.
        """
        return self.class_names("en")[ABNORMAL] if self.num_outputs == 1 else PREDICTED

    def model_inputs(self, images):
        """Images as this model takes them: its channel count (1 or 3). A split's streamed
        grayscale images stay streamed (converted a batch at a time by whoever reads them)."""
        if isinstance(images, StreamedImages) and images.grayscale:
            return images.with_channels(self.channels)
        images = np.asarray(images, np.float32)
        if self.channels == 1 and images.shape[-1] == 3:
            return images[..., :1]
        if self.channels == 3 and images.shape[-1] == 1:
            return np.repeat(images, 3, axis=-1)
        return images

    def warm_up(self) -> None:
        """Trace the default method on every layer now, not on a student's first click;
        the other methods are traced in the background."""
        first = self.model_inputs(self.images.images[:1])
        for layer in self.conv_layers:
            cam_engine(self.model, layer, DEFAULT_METHOD).explain(first)
        # Not a daemon: TensorFlow aborts the process when it is still tracing at interpreter exit.
        threading.Thread(target=self._warm_up_methods, name=f"warm-up {self.key}").start()

    def _warm_up_methods(self) -> None:
        first = self.model_inputs(self.images.images[:1])
        for method in METHODS:
            with contextlib.suppress(Exception):  # a method that fails says so when it is chosen
                cam_engine(self.model, self.default_layer, method).explain(first)


def test_metrics(loaded: ExplorerModel) -> dict | None:
    """Accuracy and ROC-AUC of a model on its labelled images (None without labels)."""
    labels = loaded.images.labels
    if labels is None:
        return None
    labels = np.asarray(labels)
    multi_label = labels.ndim == 2 and labels.shape[1] > 1
    return evaluate(loaded.model, loaded.model_inputs(loaded.images.images), labels, multi_label)


def transfer_weights_present() -> bool:
    """Whether Keras has MobileNetV2's ImageNet weights locally (no download needed)."""
    home = Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras")
    return any((home / "models").glob("mobilenet_v2_weights*no_top*"))


class ModelStore:
    """The kit's models by (dataset key, model type): loaded from the cache or trained once.

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
        self._models = ComputeOnce()
        self._image_sets = ComputeOnce()

    def dataset_keys(self) -> list[str]:
        return [dataset_key(name, size) for name, size in available_datasets(self.root)]

    def default_dataset(self) -> str:
        keys = self.dataset_keys()
        return "chestmnist-28" if "chestmnist-28" in keys else keys[0]

    def _settings(self, key: str, model_type: str) -> dict:
        name, size = parse_dataset_key(key)
        return training_settings(name, model_type, size, self.epochs, seed=self.seed)

    def is_cached(self, key: str, model_type: str) -> bool:
        """Whether the model is on disk (loading it needs no training)."""
        return is_cached(self._settings(key, model_type), self.cache_dir)

    def is_loaded(self, key: str, model_type: str) -> bool:
        return (key, model_type) in self._models

    def check_dataset(self, key: str, lang: str = "ja") -> None:
        if key not in self.dataset_keys():
            raise user_error(message("explorer.err_dataset", lang, value=key))

    def image_set(self, key: str, lang: str = "ja") -> ImageSet:
        """A dataset's test split as an image set, its gallery written once."""
        self.check_dataset(key, lang)
        return self._image_sets.get(key, lambda: self._make_image_set(key))

    def _make_image_set(self, key: str, dataset=None) -> ImageSet:
        name, size = parse_dataset_key(key)
        if dataset is None:
            dataset = load_dataset(name, size, root=self.root, binary_classification=name == "chestmnist",
                                   download=False)
        test = dataset.test
        masks, ground_truth, boxed = test.masks, "lesion", ()
        if name == "chestmnist" and box_files_present(self.root):
            try:  # the radiologists' boxes, outlined as the synthetic lesions are; boxed images first
                boxes = load_chest_boxes(self.root)
                masks, ground_truth, boxed = boxes.masks("test", len(test), size), "box", boxes.indices("test")
            except ValueError as error:  # a broken box file costs the boxes, never the explorer
                log.warning("NIH's boxes are not shown: %s", error)
        indices = sample_indices(test.labels, dataset.num_outputs == 1, first=boxed)
        paths = write_samples(test.images, indices, self.workdir / "samples" / key)
        return ImageSet(key, test.images, test.labels, masks,
                        {"ja": dataset.class_names("ja"), "en": dataset.class_names("en")},
                        {lang: dataset_name(name, size, lang) for lang in LANGUAGES},
                        int(dataset.info.get("n_channels", 1)) == 1, indices, paths, ground_truth)

    def get(self, key: str, model_type: str = "simple", progress=None, lang: str = "ja") -> ExplorerModel:
        """The model for (dataset, model type); ``progress(epoch, epochs, logs)`` while training."""
        if not self.is_loaded(key, model_type):
            self.check_dataset(key, lang)
            if model_type not in MODEL_TYPES:
                raise user_error(message("explorer.err_model", lang, error=model_type))
            if model_type == "transfer" and not self.is_cached(key, model_type) \
                    and not transfer_weights_present():
                raise user_error(message("explorer.err_transfer_offline", lang))  # training would download them
        return self._models.get((key, model_type), lambda: self._load(key, model_type, progress, lang))

    def _load(self, key, model_type, progress, lang) -> ExplorerModel:
        name, size = parse_dataset_key(key)
        try:
            trained = train_or_load(name, model_type, size=size, epochs=self.epochs, seed=self.seed,
                                    cache_dir=self.cache_dir, root=self.root,
                                    progress=progress if callable(progress) else False)
        except (RuntimeError, OSError, ValueError) as error:  # e.g. transfer weights offline
            log.warning("model %s/%s unavailable: %s", key, model_type, error)
            raise user_error(message("explorer.err_model", lang, error=error)) from None
        images = self._image_sets.get(key, lambda: self._make_image_set(key, trained.dataset))
        loaded = ExplorerModel(trained.model, images,
                               {lang: model_name(model_type, lang) for lang in LANGUAGES},
                               trained.metrics, "explorer.from_cache" if trained.from_cache else "explorer.trained_now",
                               key=f"{key}/{model_type}")
        loaded.warm_up()
        return loaded
