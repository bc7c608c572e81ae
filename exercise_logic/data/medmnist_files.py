"""MedMNIST files: metadata, the local cache and the verified download.

Only medmnist's metadata (``medmnist/info.py``) is used. The package's own
``__init__`` imports PyTorch-based dataset classes and prints an install hint
when they fail, so ``info.py`` is loaded on its own, by file path.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import io
import os
import urllib.error
import urllib.request
import warnings
from pathlib import Path

from ..atomic_files import atomic_write

MEDMNIST_2D_FLAGS = (
    "pathmnist", "chestmnist", "dermamnist", "octmnist", "pneumoniamnist",
    "retinamnist", "breastmnist", "bloodmnist", "tissuemnist", "organamnist",
    "organcmnist", "organsmnist",
)
MEDMNIST_SIZES = (28, 64, 128, 224)


class DatasetUnavailableError(RuntimeError):
    """A dataset file is missing and could not be downloaded."""


class ChecksumWarning(UserWarning):
    """A local MedMNIST file differs from the published one (e.g. a subset)."""


@functools.lru_cache(maxsize=1)
def medmnist_info() -> dict:
    """Return ``medmnist.info.INFO`` without importing medmnist's package."""
    spec = importlib.util.find_spec("medmnist")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            "medmnist is not installed. Install its metadata only with "
            "`pip install --no-deps medmnist` (it must not pull in PyTorch).")
    info_path = Path(next(iter(spec.submodule_search_locations))) / "info.py"
    info_spec = importlib.util.spec_from_file_location("_medmnist_info", info_path)
    module = importlib.util.module_from_spec(info_spec)
    with contextlib.redirect_stdout(io.StringIO()):
        info_spec.loader.exec_module(module)
    return module.INFO


def dataset_info(flag: str) -> dict:
    """Metadata of one 2D MedMNIST dataset (a copy of medmnist's INFO entry)."""
    if flag not in MEDMNIST_2D_FLAGS:
        raise ValueError(
            f"unknown MedMNIST dataset {flag!r}; choose one of {', '.join(MEDMNIST_2D_FLAGS)}")
    return dict(medmnist_info()[flag])


def default_root() -> Path:
    """The MedMNIST cache folder: ``$MEDMNIST_ROOT`` or ``~/.medmnist``."""
    return Path(os.environ.get("MEDMNIST_ROOT") or Path.home() / ".medmnist").expanduser()


def _check_size(size: int) -> None:
    if size not in MEDMNIST_SIZES:
        raise ValueError(f"size must be one of {MEDMNIST_SIZES}, got {size!r}")


def file_name(flag: str, size: int = 28) -> str:
    """MedMNIST's file name: ``<flag>.npz`` at 28 px, ``<flag>_<size>.npz`` otherwise."""
    _check_size(size)
    return f"{flag}.npz" if size == 28 else f"{flag}_{size}.npz"


def file_path(flag: str, size: int = 28, root: str | os.PathLike | None = None) -> Path:
    """Where the file lives: ``<root>/<file name>``, root defaulting to :func:`default_root`."""
    folder = Path(root).expanduser() if root is not None else default_root()
    return folder / file_name(flag, size)


def published_url(flag: str, size: int = 28) -> str:
    """The download address, or ``$MEDMNIST_MIRROR/<file name>`` for a local mirror."""
    mirror = os.environ.get("MEDMNIST_MIRROR")
    if mirror:
        return mirror.rstrip("/") + "/" + file_name(flag, size)
    suffix = "" if size == 28 else f"_{size}"
    return dataset_info(flag)[f"url{suffix}"]


def published_md5(flag: str, size: int = 28) -> str:
    suffix = "" if size == 28 else f"_{size}"
    return dataset_info(flag)[f"MD5{suffix}"]


def md5_of(path: str | os.PathLike, chunk_size: int = 1 << 20) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


@functools.lru_cache(maxsize=64)
def _md5_cached(path: str, size_bytes: int, mtime_ns: int) -> str:
    return md5_of(path)


def warn_if_modified(path: Path, expected_md5: str) -> bool:
    """Warn (never fail) when a local file is not the published one.

    Instructors legitimately prepare subsets, so a mismatch is only reported.
    Returns True when the checksum matches.
    """
    stat = path.stat()
    if _md5_cached(str(path), stat.st_size, stat.st_mtime_ns) == expected_md5:
        return True
    warnings.warn(
        f"{path} differs from the published MedMNIST file (MD5 {expected_md5}); "
        "using it as it is (e.g. a subset prepared by the instructor).",
        ChecksumWarning, stacklevel=3)
    return False


def download(url: str, destination: str | os.PathLike, md5: str | None = None,
             progress: bool = True, timeout: float = 60.0) -> Path:
    """Download ``url`` to ``destination`` atomically, verifying its MD5.

    The data is streamed to a temporary file beside the destination and
    renamed only when it is complete and its checksum matches, so an
    interrupted or corrupt download never looks like the dataset.

    Raises
    ------
    OSError
        The transfer failed (no network, HTTP error, disk full...).
    ValueError
        The downloaded data does not match ``md5``.
    """
    from tqdm.auto import tqdm

    destination = Path(destination)
    digest = hashlib.md5()
    with atomic_write(destination) as out, urllib.request.urlopen(url, timeout=timeout) as response:
        total = int(response.headers.get("Content-Length") or 0) or None
        with tqdm(total=total, unit="B", unit_scale=True, desc=destination.name,
                  disable=not progress) as bar:
            received = 0
            for chunk in iter(lambda: response.read(1 << 20), b""):
                out.write(chunk)
                digest.update(chunk)
                bar.update(len(chunk))
                received += len(chunk)
        if total is not None and received != total:
            raise OSError(f"incomplete download from {url}: got {received} of {total} bytes")
        if md5 is not None and digest.hexdigest() != md5:
            raise ValueError(
                f"checksum mismatch for {url}: got MD5 {digest.hexdigest()}, expected {md5}")
    return destination


def ensure_file(flag: str, size: int = 28, root: str | os.PathLike | None = None,
                download_missing: bool = True, progress: bool = True) -> Path:
    """Return the local path of a MedMNIST file, downloading it if needed."""
    path = file_path(flag, size, root)
    if path.exists():
        warn_if_modified(path, published_md5(flag, size))
        return path
    url = published_url(flag, size)
    offline_hint = (
        f"Download {url} yourself and put it at {path}, or set MEDMNIST_ROOT to the "
        "folder that holds it; or use the offline dataset 'synthetic' "
        "(load_and_preprocess('synthetic')). / オフラインでは合成データセット 'synthetic' を使えます。")
    if not download_missing:
        raise DatasetUnavailableError(f"MedMNIST dataset {flag!r} ({size} px) is not at {path}. {offline_hint}")
    try:
        return download(url, path, md5=published_md5(flag, size), progress=progress)
    except (OSError, ValueError, urllib.error.URLError) as error:
        raise DatasetUnavailableError(
            f"could not download MedMNIST dataset {flag!r} ({size} px) from {url} to {path}: "
            f"{error}. {offline_hint}") from error
