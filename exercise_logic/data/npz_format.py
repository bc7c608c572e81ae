"""MedMNIST's ``.npz`` layout: ``{split}_images`` and ``{split}_labels`` per split.

Images are uint8, ``(N, S, S)`` for grayscale or ``(N, S, S, 3)`` for colour;
labels are integer arrays ``(N, 1)`` (one class) or ``(N, K)`` (multi-label).

An ``.npz`` file is a zip archive of ``.npy`` files. A member stored without
compression is memory-mapped: its pixels stay on disk and are paged in as they
are read. A compressed member is decoded once, straight into one uint8 array.
"""
from __future__ import annotations

import os
import struct
import zipfile
from pathlib import Path

import numpy as np

from ..atomic_files import atomic_write

SPLITS = ("train", "val", "test")
_LOCAL_HEADER = struct.Struct("<4s22xHH")  # zip local file header: signature, ..., name and extra lengths


class CorruptDatasetError(ValueError):
    """A dataset file exists but cannot be read as MedMNIST data."""


def _stored_array(path: Path, info: zipfile.ZipInfo) -> np.memmap:
    """Memory-map an uncompressed ``.npy`` member of a zip archive in place."""
    with open(path, "rb") as file:
        file.seek(info.header_offset)
        signature, name_length, extra_length = _LOCAL_HEADER.unpack(file.read(_LOCAL_HEADER.size))
        if signature != b"PK\x03\x04":
            raise ValueError(f"member {info.filename} has no local header")
        file.seek(info.header_offset + _LOCAL_HEADER.size + name_length + extra_length)
        version = np.lib.format.read_magic(file)
        read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                       else np.lib.format.read_array_header_2_0)
        shape, fortran_order, dtype = read_header(file)
        offset = file.tell()
    if dtype.hasobject:
        raise ValueError(f"member {info.filename} holds Python objects")
    if offset + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize > path.stat().st_size:
        raise ValueError(f"member {info.filename} is cut short")
    return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape,
                     order="F" if fortran_order else "C")


def _member_array(path: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> np.ndarray:
    if info.compress_type == zipfile.ZIP_STORED and not info.flag_bits & 0x1:
        return _stored_array(path, info)
    with archive.open(info) as member:  # decoded in chunks straight into the result
        return np.lib.format.read_array(member, allow_pickle=False)


def read_medmnist_npz(path: str | os.PathLike) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Read a MedMNIST ``.npz`` file.

    Returns
    -------
    dict
        ``{split: (images, labels)}`` for ``train``, ``val`` and ``test``;
        images are uint8 ``(N, S, S)`` or ``(N, S, S, 3)``, a read-only
        :class:`numpy.memmap` when the file stores them uncompressed.

    Raises
    ------
    CorruptDatasetError
        The file is not a readable archive or lacks MedMNIST's arrays. The
        message names the file and tells what to do.
    """
    path = Path(path)
    fix = f"Delete {path} and download it again, or replace it with a valid MedMNIST .npz file."
    names = [f"{split}_{part}" for split in SPLITS for part in ("images", "labels")]
    try:
        with zipfile.ZipFile(path) as archive:
            members = {info.filename: info for info in archive.infolist()}
            missing = [name for name in names if f"{name}.npy" not in members]
            if missing:
                raise CorruptDatasetError(f"{path} lacks the arrays {', '.join(missing)}. {fix}")
            arrays = {name: _member_array(path, archive, members[f"{name}.npy"]) for name in names}
    except CorruptDatasetError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
        raise CorruptDatasetError(f"{path} is not a readable .npz file ({error}). {fix}") from error
    splits = {split: (arrays[f"{split}_images"], np.asarray(arrays[f"{split}_labels"])) for split in SPLITS}
    for split, (images, labels) in splits.items():
        if images.ndim not in (3, 4) or images.dtype != np.uint8 or len(images) != len(labels):
            raise CorruptDatasetError(
                f"{path}: {split}_images must be uint8 (N, S, S[, 3]) with one label row per "
                f"image, got {images.dtype} {images.shape} and labels {labels.shape}. {fix}")
    return splits


def write_medmnist_npz(path: str | os.PathLike, splits: dict[str, tuple[np.ndarray, np.ndarray]],
                       compressed: bool = True) -> Path:
    """Write ``{split: (images, labels)}`` in MedMNIST's layout, atomically.

    Labels of shape ``(N,)`` are stored as ``(N, 1)``, as MedMNIST does.
    ``compressed=False`` stores the arrays as they are, so that
    :func:`read_medmnist_npz` memory-maps the images instead of decoding them.
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
        (np.savez_compressed if compressed else np.savez)(out, **arrays)
    return path
