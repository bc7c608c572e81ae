"""Writing a file atomically: readers see the old file or the complete new one, never a part.

Every file the kit writes for later (downloaded datasets, cached models and
their records, generated data, the grader's results) goes through here.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path, suffix: str = ".part"):
    """Yield a temporary path beside ``path`` to write to; it becomes ``path`` on success.

    The temporary file lives in the same folder (so the final rename is atomic),
    is flushed to disk before the rename, and is removed if the block raises,
    leaving ``path`` as it was. ``suffix`` lets writers that insist on an
    extension (Keras wants ``.keras``) have it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(prefix=path.name + ".", suffix=suffix, dir=path.parent)
    os.close(handle)
    try:
        yield Path(partial)
        with open(partial, "rb+") as written:
            os.fsync(written.fileno())
        os.replace(partial, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(partial)


@contextlib.contextmanager
def atomic_write(path, mode: str = "wb", encoding: str | None = None):
    """``open(path, mode)`` that only replaces ``path`` once the block completes."""
    if not mode.startswith(("w", "x")):
        raise ValueError(f"mode must write a new file ('w', 'wb', ...), got {mode!r}")
    if "b" not in mode and encoding is None:
        encoding = "utf-8"
    with atomic_path(path) as partial, open(partial, mode.replace("x", "w"), encoding=encoding) as handle:
        yield handle


def atomic_write_text(path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_write(path, "w") as handle:
        handle.write(text)
    return Path(path)
