"""Loading datasets: MedMNIST files and the embedded synthetic chest X-rays.

:func:`load_dataset` is the kit's own loader (it keeps validation data, lesion
masks and markers). Its splits are *streamed*: the images stay uint8
(memory-mapped when the ``.npz`` stores them uncompressed, else decoded once
per split) and become float32 RGB one batch at a time, so any image size fits
in memory. :func:`load_and_preprocess` is the lecture's function with its
exact return value: whole float32 arrays, refused before allocation when they
would not fit.
"""
from __future__ import annotations

import dataclasses
import functools
import os
from pathlib import Path

import numpy as np

from . import medmnist_files
from .lazy_arrays import LazyRows, PackedMasks, StreamedImages
from .memory import check_fits
from .npz_format import read_medmnist_npz

SYNTHETIC = "synthetic"
SYNTHETIC_SEED = 0

BINARY_LABELS = {"0": "normal", "1": "abnormal"}
ABNORMAL = 1  # the binary label (and the single sigmoid unit) of abnormal images
BINARY_LABELS_JA = {"0": "正常", "1": "異常"}
CHEST_LABELS_JA = {
    "0": "無気肺", "1": "心拡大", "2": "胸水", "3": "浸潤影", "4": "腫瘤", "5": "結節",
    "6": "肺炎", "7": "気胸", "8": "コンソリデーション", "9": "肺水腫", "10": "肺気腫",
    "11": "線維化", "12": "胸膜肥厚", "13": "ヘルニア",
}


@dataclasses.dataclass(frozen=True)
class Split:
    """One split of a dataset.

    Attributes
    ----------
    images : StreamedImages or ndarray of float32, shape (N, S, S, C)
        Pixel values in [0, 1]; C is 3 with ``as_rgb=True``. :func:`load_dataset`
        gives a :class:`~exercise_logic.data.lazy_arrays.StreamedImages`: uint8
        pixels that become float32 when indexed (``images[i]``,
        ``images[a:b]``, ``images[index_array]``) and are read batch by batch
        by ``train_or_load``, ``evaluate``, ``gradcam``/``cam_engine``,
        ``deletion_insertion``, ``sanity_check`` and ``method_scorecard``.
        ``np.asarray(images)`` converts them all at once, after checking that
        they fit in memory. Any float32 array works as well.
    labels : ndarray of float32, shape (N,) or (N, K)
        Class indices, or K binary columns for multi-label data.
    masks : PackedMasks or ndarray of bool, shape (N, S, S), or None
        Lesion pixels (synthetic data only): the ground truth of "where".
        Indexing gives bool arrays; stored one bit per pixel.
    markers : ndarray of bool, shape (N,), or None
        Whether the corner marker is drawn (synthetic data only).
    """
    images: np.ndarray
    labels: np.ndarray
    masks: np.ndarray | None = None
    markers: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.images)

    def take(self, indices) -> "Split":
        """The selected images as a split; streamed images and masks stay unconverted."""
        indices = np.asarray(indices)

        def pick(values):
            if values is None:
                return None
            return values.take(indices) if isinstance(values, LazyRows) else values[indices]
        return Split(pick(self.images), self.labels[indices], pick(self.masks), pick(self.markers))

    def without(self, indices) -> "Split":
        """The split less the images at ``indices`` (e.g. those kept out of training), in order."""
        indices = np.asarray(indices, np.int64).reshape(-1)
        if indices.size and (indices.min() < 0 or indices.max() >= len(self)):
            raise ValueError(f"indices to leave out must lie in 0..{len(self) - 1}, "
                             f"got {indices.min()}..{indices.max()}")
        return self.take(np.setdiff1d(np.arange(len(self)), indices))


@dataclasses.dataclass(frozen=True)
class Dataset:
    """A loaded dataset: its name, pixel size, lecture-style ``info`` and splits."""
    name: str
    size: int
    info: dict
    train: Split
    val: Split
    test: Split

    @property
    def task(self) -> str:
        return self.info["task"]

    @property
    def num_outputs(self) -> int:
        """Output units of a model for this data: 1 for binary tasks."""
        if self.task == "binary-class":
            return 1
        return len(self.info["label"])

    @property
    def multi_label(self) -> bool:
        return self.task.startswith("multi-label")

    def class_names(self, lang: str = "en") -> list[str]:
        """Class names in index order, in Japanese (``'ja'``) or English."""
        labels = self.info.get("label_ja") if lang == "ja" else None
        labels = labels or self.info["label"]
        return [labels[str(index)] for index in range(len(labels))]


def available_datasets(root: str | os.PathLike | None = None) -> list[tuple[str, int]]:
    """``(name, size)`` pairs that load without the network, synthetic first."""
    from .synthetic import SYNTHETIC_SIZES
    found = [(SYNTHETIC, size) for size in SYNTHETIC_SIZES]
    for flag in medmnist_files.MEDMNIST_2D_FLAGS:
        for size in medmnist_files.MEDMNIST_SIZES:
            if medmnist_files.file_path(flag, size, root).exists():
                found.append((flag, size))
    return found


def dataset_names() -> tuple[str, ...]:
    return (SYNTHETIC,) + medmnist_files.MEDMNIST_2D_FLAGS


def load_dataset(name: str = SYNTHETIC, size: int = 28, *, root: str | os.PathLike | None = None,
                 as_rgb: bool = True, binary_classification: bool = False,
                 download: bool = True, marker_strength: float | None = None,
                 seed: int = SYNTHETIC_SEED) -> Dataset:
    """Load a dataset: streamed images that read as float32 in [0, 1], float32 labels.

    Parameters
    ----------
    name : str
        ``'synthetic'`` or a 2D MedMNIST flag such as ``'chestmnist'``.
    size : int
        Image side in pixels (28, 64, 128; MedMNIST also 224).
    root : path, optional
        MedMNIST folder; default ``$MEDMNIST_ROOT`` or ``~/.medmnist``.
    as_rgb : bool
        Repeat grayscale images to 3 channels, as the lecture does.
    binary_classification : bool
        Turn multi-label data (ChestMNIST) into normal (0) / abnormal (1):
        any finding counts as abnormal. The synthetic set is always binary.
    download : bool
        Download a missing MedMNIST file.
    marker_strength : float, optional
        Synthetic only: how strongly the corner marker follows the label in the
        train and val splits (0 = independent, 1 = always); None draws none.
    seed : int
        Synthetic only: the generator's seed.

    Returns
    -------
    Dataset
        Splits whose ``images`` are :class:`~exercise_logic.data.lazy_arrays.StreamedImages`
        (see :class:`Split`): the uint8 pixels stay as they are; nothing is
        converted to float until it is read.
    """
    if name == SYNTHETIC:
        return _load_synthetic(size, as_rgb, marker_strength, seed)
    if marker_strength is not None:
        raise ValueError("marker_strength applies to the 'synthetic' dataset only")
    info = medmnist_files.dataset_info(name)
    path = medmnist_files.ensure_file(name, size, root, download_missing=download)
    arrays = _read_cached(str(path), path.stat().st_mtime_ns)
    splits = {}
    for split, (images, labels) in arrays.items():
        labels = labels.astype(np.float32)
        if binary_classification:
            labels = (labels.sum(axis=1) > 0).astype(np.float32)
        elif labels.ndim == 2 and labels.shape[1] == 1:
            labels = labels[:, 0]
        splits[split] = Split(StreamedImages(images, as_rgb), labels)
    info.setdefault("label_ja", CHEST_LABELS_JA if name == "chestmnist" else None)
    if binary_classification:
        if not info["task"].startswith("multi-label"):
            raise ValueError(
                f"binary_classification=True needs multi-label data such as 'chestmnist'; "
                f"{name!r} is {info['task']}")
        info.update(task="binary-class", label=dict(BINARY_LABELS),
                    label_ja=dict(BINARY_LABELS_JA), n_classes=2)
    return Dataset(name, size, info, splits["train"], splits["val"], splits["test"])


def load_and_preprocess(data_flag: str = "pathmnist", as_rgb: bool = True,
                        binary_classification: bool = False, *, size: int = 28):
    """The lecture's loader: ``((x_train, y_train), (x_test, y_test), info)``.

    Images are float32 in [0, 1] (3 channels with ``as_rgb``), labels float32.
    With ``binary_classification`` ChestMNIST becomes normal (0) / abnormal (1),
    any finding counting as abnormal, and ``info['label']`` is
    ``{'0': 'normal', '1': 'abnormal'}`` (``info['label_ja']`` in Japanese).
    ``data_flag='synthetic'`` gives the offline chest X-rays.

    The images are whole float32 arrays (12 bytes per grayscale pixel with
    ``as_rgb``). When they would not fit in the memory available (e.g. 128 px
    ChestMNIST: about 20 GB), it raises
    :class:`~exercise_logic.data.memory.InsufficientMemoryError` before
    allocating them; :func:`load_dataset` streams any size instead.
    """
    binary = binary_classification and data_flag != SYNTHETIC
    dataset = load_dataset(data_flag, size, as_rgb=as_rgb, binary_classification=binary)
    loader = f"load_dataset({data_flag!r}, size={size}{', binary_classification=True' if binary else ''})"
    check_fits(dataset.train.images.nbytes + dataset.test.images.nbytes,
               {"ja": f"{data_flag} の {size} px の float32 配列（x_train と x_test）",
                "en": f"the float32 arrays of {data_flag!r} at {size} px (x_train and x_test)"},
               {"ja": f"{loader} を使ってください。画像を uint8 のまま保ち、1 バッチずつ変換します"
                      "（train_or_load、evaluate、gradcam はその分割をそのまま受け取ります）。",
                "en": f"use {loader}: it keeps the images as uint8 and converts them a batch at a time "
                      "(train_or_load, evaluate and gradcam take its splits as they are)."})
    if binary:
        y_train, y_test = dataset.train.labels, dataset.test.labels
        print("[情報] 二値分類に変換しました: 正常 vs 異常 / converted to binary: normal vs abnormal")
        for title, labels in (("訓練データ", y_train), ("テストデータ", y_test)):
            print(f"  {title}: 正常 {int((labels == 0).sum())}件, 異常 {int((labels == 1).sum())}件")
    return ((np.asarray(dataset.train.images), dataset.train.labels),
            (np.asarray(dataset.test.images), dataset.test.labels), dataset.info)


# One file and one synthetic set are kept (the latest): loading another size
# or dataset releases the previous one unless its splits are still in use.
@functools.lru_cache(maxsize=1)
def _read_cached(path: str, mtime_ns: int):
    return read_medmnist_npz(path)


def synthetic_info(size: int, n_samples: dict[str, int], marker_strength: float | None) -> dict:
    return {
        "python_class": "SyntheticChestXray",
        "description": (
            "Procedurally generated chest-radiograph-like images (offline teaching data). "
            "Abnormal images carry one or more lung opacities with pixel masks."),
        "url": None, "MD5": None,
        "task": "binary-class",
        "label": dict(BINARY_LABELS),
        "label_ja": dict(BINARY_LABELS_JA),
        "n_channels": 1,
        "n_samples": n_samples,
        "n_classes": 2,
        "size": size,
        "marker_strength": marker_strength,
        "license": "CC0 1.0 (generated by this kit)",
    }


@functools.lru_cache(maxsize=1)
def _generate_synthetic(size: int, seed: int, marker_strength: float | None):
    from .synthetic import generate_splits
    return generate_splits(size=size, seed=seed, marker_strength=marker_strength, packed_masks=True)


def _load_synthetic(size: int, as_rgb: bool, marker_strength: float | None, seed: int) -> Dataset:
    generated = _generate_synthetic(size, seed, marker_strength)
    splits = {
        split: Split(StreamedImages(batch.images, as_rgb), batch.labels.astype(np.float32),
                     PackedMasks(batch.masks, size), batch.markers)
        for split, batch in generated.items()}
    info = synthetic_info(size, {split: len(batch.labels) for split, batch in generated.items()},
                          marker_strength)
    return Dataset(SYNTHETIC, size, info, splits["train"], splits["val"], splits["test"])


def write_synthetic_npz(path: str | os.PathLike, size: int = 28, seed: int = SYNTHETIC_SEED,
                        marker_strength: float | None = None, n_train: int = 8000,
                        n_val: int = 1000, n_test: int = 2000, findings: int | None = None,
                        compressed: bool = True) -> Path:
    """Write the synthetic set in MedMNIST's ``.npz`` layout.

    Labels are ``(N, 1)``, or with ``findings=14`` ChestMNIST-shaped multi-label
    rows: each abnormal image gets one or two random findings, so that
    ``binary_classification=True`` gives back the synthetic labels.
    ``compressed=False`` stores the arrays uncompressed (memory-mapped on loading).
    """
    from .npz_format import write_medmnist_npz
    from .synthetic import generate_splits
    generated = generate_splits(size=size, seed=seed, n_train=n_train, n_val=n_val,
                                n_test=n_test, marker_strength=marker_strength, packed_masks=True)
    rng = np.random.default_rng(seed)
    arrays = {}
    for split, batch in generated.items():
        labels = batch.labels.reshape(-1, 1)
        if findings is not None:
            rows = np.zeros((len(labels), findings), np.uint8)
            abnormal = np.flatnonzero(batch.labels)
            for extra in range(2):
                chosen = abnormal if extra == 0 else abnormal[rng.random(len(abnormal)) < 0.3]
                rows[chosen, rng.integers(0, findings, len(chosen))] = 1
            labels = rows
        arrays[split] = (batch.images, labels)
    return write_medmnist_npz(path, arrays, compressed)
