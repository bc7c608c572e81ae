"""MedMNIST's ``.npz`` layout: ``{split}_images`` and ``{split}_labels`` per split.

Images are uint8, ``(N, S, S)`` for grayscale or ``(N, S, S, 3)`` for colour;
labels are integer arrays ``(N, 1)`` (one class) or ``(N, K)`` (multi-label).
"""
from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np

from ..atomic_files import atomic_write

SPLITS = ("train", "val", "test")


class CorruptDatasetError(ValueError):
    """A dataset file exists but cannot be read as MedMNIST data."""


def read_medmnist_npz(path: str | os.PathLike) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Read a MedMNIST ``.npz`` file.

    Returns
    -------
    dict
        ``{split: (images, labels)}`` for ``train``, ``val`` and ``test``;
        images are uint8 ``(N, S, S)`` or ``(N, S, S, 3)``.

    Raises
    ------
    CorruptDatasetError
        The file is not a readable archive or lacks MedMNIST's arrays. The
        message names the file and tells what to do.
    """
    path = Path(path)
    fix = f"Delete {path} and download it again, or replace it with a valid MedMNIST .npz file."
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = [f"{split}_{part}" for split in SPLITS for part in ("images", "labels")
                       if f"{split}_{part}" not in archive.files]
            if missing:
                raise CorruptDatasetError(f"{path} lacks the arrays {', '.join(missing)}. {fix}")
            splits = {split: (archive[f"{split}_images"], archive[f"{split}_labels"])
                      for split in SPLITS}
    except CorruptDatasetError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
        raise CorruptDatasetError(f"{path} is not a readable .npz file ({error}). {fix}") from error
    for split, (images, labels) in splits.items():
        if images.ndim not in (3, 4) or images.dtype != np.uint8 or len(images) != len(labels):
            raise CorruptDatasetError(
                f"{path}: {split}_images must be uint8 (N, S, S[, 3]) with one label row per "
                f"image, got {images.dtype} {images.shape} and labels {labels.shape}. {fix}")
    return splits


def write_medmnist_npz(path: str | os.PathLike,
                       splits: dict[str, tuple[np.ndarray, np.ndarray]]) -> Path:
    """Write ``{split: (images, labels)}`` in MedMNIST's layout, atomically.

    Labels of shape ``(N,)`` are stored as ``(N, 1)``, as MedMNIST does.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for split in SPLITS:
        images, labels = splits[split]
        labels = np.asarray(labels)
        arrays[f"{split}_images"] = np.asarray(images, dtype=np.uint8)
        arrays[f"{split}_labels"] = labels.reshape(len(labels), -1).astype(np.uint8)
    with atomic_write(path) as out:
        np.savez_compressed(out, **arrays)
    return path
