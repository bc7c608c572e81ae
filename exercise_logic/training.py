"""Train once, load afterwards: a cache of trained models for the demo and notebooks.

A model is saved as ``<key>.keras`` with a ``<key>.json`` record of its
settings and test metrics in the cache folder (``$EXERCISE_LOGIC_CACHE`` or
``~/.cache/exercise_logic``). The key covers everything that changes the
weights. Files are written to temporary names and renamed, so a crash never
leaves a half-written model; a corrupt or incompatible file is reported and
the model is trained again.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import warnings
from pathlib import Path

import keras
import numpy as np

from .atomic_files import atomic_path, atomic_write_text
from .data.datasets import Dataset, load_dataset
from .data.synthetic import GENERATOR_VERSION
from .evaluation import evaluate
from .models import build_model
from .streaming import ImageBatches, scaled_batch_size

CACHE_FORMAT = 4  # bump when models or training change in a way old files must not be reused
# (3: images streamed in batches, in an order drawn from the seed; the deeper CNN's stem at >= 128 px)

#: Default training batch per model type: the lecture's 128 for its CNN; the
#: deeper GAP-headed CNN learns lesion detectors in 5 epochs more reliably with
#: the four times more (and noisier) steps of batch 32.
BATCH_SIZES = {"simple": 128, "deeper": 32, "transfer": 128}
EVALUATION_BATCH = 256  # images per batch when only predicting (validation), up to 64 px


class StaleCacheWarning(UserWarning):
    """A cached model was unreadable or incompatible and is trained again."""


@dataclasses.dataclass
class TrainedModel:
    """A trained model with the data it was trained on and its test metrics."""
    model: keras.Model
    dataset: Dataset
    settings: dict
    metrics: dict
    history: dict
    path: Path
    from_cache: bool


def default_cache_dir() -> Path:
    return Path(os.environ.get("EXERCISE_LOGIC_CACHE") or Path.home() / ".cache" / "exercise_logic")


def held_out_record(held_out) -> dict:
    """How many images of each split were held out, and a digest of which (for the cache key)."""
    if not isinstance(held_out, dict) or not set(held_out) <= {"train", "val"}:
        raise ValueError("held_out must map 'train' and/or 'val' to image indices "
                         f"(the test split is never trained on), got {held_out!r}")
    record = {}
    for split in sorted(held_out):
        indices = np.unique(np.asarray(held_out[split], np.int64))
        record[split] = {"count": int(indices.size),
                         "sha256": hashlib.sha256(indices.tobytes()).hexdigest()[:16]}
    return record


def training_settings(dataset="synthetic", model_type="simple", size=28, epochs=5, batch_size=None,
                      seed=0, marker_strength=None, binary=None, held_out=None) -> dict:
    """The settings that identify a trained model (ChestMNIST is binary by default).

    ``held_out`` (``{'train': indices, 'val': indices}``) adds which images
    were kept out of training, so such a model never shares a cache entry
    with one trained on every image.
    """
    if model_type not in BATCH_SIZES:
        raise ValueError(f"model_type must be one of {tuple(BATCH_SIZES)}, got {model_type!r}")
    if batch_size is None:
        batch_size = BATCH_SIZES[model_type]
    if binary is None:
        binary = dataset == "chestmnist"
    data_version = GENERATOR_VERSION if dataset == "synthetic" else None
    settings = {"dataset": dataset, "data_version": data_version, "size": int(size),
                "model_type": model_type, "epochs": int(epochs), "batch_size": int(batch_size),
                "seed": int(seed), "marker_strength": marker_strength, "binary": bool(binary),
                "format": CACHE_FORMAT, "keras": keras.__version__.split(".")[0]}
    if held_out is not None:  # absent otherwise: the cache keys of ordinary models stay as they were
        settings["held_out"] = held_out_record(held_out)
    return settings


def cache_key(settings: dict) -> str:
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:10]
    return f"{settings['dataset']}-{settings['size']}-{settings['model_type']}-{digest}"


def cache_paths(settings: dict, cache_dir=None) -> tuple[Path, Path]:
    """The (model, record) files of these settings in the cache folder."""
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    key = cache_key(settings)
    return folder / f"{key}.keras", folder / f"{key}.json"


def is_cached(settings: dict, cache_dir=None) -> bool:
    """Whether a model for these settings is on disk (loading it needs no training)."""
    return all(path.exists() for path in cache_paths(settings, cache_dir))


def _save_atomically(model, record: dict, model_path: Path, record_path: Path) -> None:
    with atomic_path(model_path, suffix=".part.keras") as partial:
        model.save(partial)
    # The record is written last: a model without its record is not trusted.
    atomic_write_text(record_path, json.dumps(record, indent=2, ensure_ascii=False))


def _load_cached(model_path: Path, record_path: Path, settings: dict):
    """The cached (model, record), or None with a warning when unusable."""
    if not model_path.exists() or not record_path.exists():
        return None
    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
        if record.get("settings") != settings:
            raise ValueError("it was trained with other settings")
        model = keras.models.load_model(model_path, compile=True)
        expected = (None, settings["size"], settings["size"], 3)
        if tuple(model.inputs[0].shape) != expected:
            raise ValueError(f"its input shape is {tuple(model.inputs[0].shape)}, not {expected}")
        return model, record
    except Exception as error:  # any unreadable file means: train again
        warnings.warn(f"cached model {model_path} is unusable ({error}); training it again.",
                      StaleCacheWarning, stacklevel=3)
        return None


class _EpochProgress(keras.callbacks.Callback):
    def __init__(self, report, epochs):
        super().__init__()
        self.report, self.epochs = report, epochs

    def on_epoch_end(self, epoch, logs=None):
        self.report(epoch + 1, self.epochs, dict(logs or {}))


def train_or_load(dataset="synthetic", model_type="simple", *, size=28, epochs=5, batch_size=None,
                  seed=0, marker_strength=None, binary=None, held_out=None, cache_dir=None, root=None,
                  progress=True, retrain=False) -> TrainedModel:
    """Load the cached model for these settings, or train and cache it.

    The images are streamed: they stay uint8 and each batch is converted to
    float32 RGB when the model needs it, so memory stays near the uint8 pixels
    of the dataset at any image size (``bench/memory_scaling.py``).

    Parameters
    ----------
    dataset : str
        ``'synthetic'`` or a MedMNIST flag (``'chestmnist'`` is made binary).
    model_type : {'simple', 'deeper', 'transfer'}
    size, epochs, seed : int
        Image size and the lecture's training settings (5 epochs).
    batch_size : int, optional
        Default :data:`BATCH_SIZES` of ``model_type`` (the lecture's 128 for its CNN).
    marker_strength : float, optional
        Synthetic only: correlate the corner marker with the label (shortcut lab).
    cache_dir : path, optional
        Default ``$EXERCISE_LOGIC_CACHE`` or ``~/.cache/exercise_logic``.
    progress : bool or callable
        True shows Keras' progress bar; a callable ``(epoch, epochs, logs)`` is
        called after every epoch (the demo's progress bar).
    held_out : dict, optional
        ``{'train': indices, 'val': indices}``: images removed from those
        splits before training (e.g. the ChestMNIST images with a
        radiologist's box, kept for measuring localisation: see
        ``exercise_logic.data.nih_boxes``). The returned dataset's train and
        val splits lack them; its test split is whole.
    retrain : bool
        Ignore a cached model.
    """
    settings = training_settings(dataset, model_type, size, epochs, batch_size, seed,
                                 marker_strength, binary, held_out)
    data = load_dataset(dataset, size, root=root, binary_classification=settings["binary"],
                        marker_strength=marker_strength)
    if held_out is not None:
        data = dataclasses.replace(data, **{split: getattr(data, split).without(indices)
                                            for split, indices in held_out.items()})
    model_path, record_path = cache_paths(settings, cache_dir)
    model_path.parent.mkdir(parents=True, exist_ok=True)

    cached = None if retrain else _load_cached(model_path, record_path, settings)
    if cached is not None:
        model, record = cached
        return TrainedModel(model, data, settings, record["metrics"], record["history"],
                            model_path, from_cache=True)

    keras.utils.set_random_seed(seed)
    model = build_model((size, size, 3), data.num_outputs, model_type, multi_label=data.multi_label)
    callbacks = [_EpochProgress(progress, epochs)] if callable(progress) else []
    # The splits stay uint8; each batch becomes float32 RGB only when Keras asks for it.
    history = model.fit(ImageBatches(data.train.images, data.train.labels, settings["batch_size"],
                                     shuffle=True, seed=seed),
                        validation_data=ImageBatches(data.val.images, data.val.labels,
                                                     scaled_batch_size(EVALUATION_BATCH, (size, size))),
                        epochs=epochs, shuffle=False, callbacks=callbacks,
                        verbose=1 if progress is True else 0)
    metrics = evaluate(model, data.test.images, data.test.labels, data.multi_label)
    history = {name: [float(value) for value in values] for name, values in history.history.items()}
    record = {"settings": settings, "metrics": metrics, "history": history}
    _save_atomically(model, record, model_path, record_path)
    return TrainedModel(model, data, settings, metrics, history, model_path, from_cache=False)


def cached_models(cache_dir=None) -> list[dict]:
    """Records of the models in the cache, for ``python -m exercise_logic datasets``."""
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    records = []
    for record_path in sorted(folder.glob("*.json")):
        try:
            record = json.loads(record_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if (folder / f"{record_path.stem}.keras").exists():
            records.append({"key": record_path.stem, **record})
    return records
