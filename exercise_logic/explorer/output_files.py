"""Every picture the explorer shows, as its own uniquely named PNG file."""
from __future__ import annotations

import contextlib
import io
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from ..atomic_files import atomic_write


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
        """A new PNG file of ``array`` (H, W, 3) uint8; its path."""
        return self.write_png(png_bytes(array))

    def write_png(self, data: bytes) -> str:
        """A new file holding the PNG ``data`` (e.g. a cached result); its path."""
        handle, path = tempfile.mkstemp(prefix="cam-", suffix=".png", dir=self.folder)
        with os.fdopen(handle, "wb") as out:
            out.write(data)
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


def png_bytes(array) -> bytes:
    """``array`` (H, W, 3) uint8 as a fast-compressed PNG."""
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(array, np.uint8)).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def save_png_atomically(array, path) -> None:
    """A picture that stays (a gallery sample), written so a crash never leaves half a file."""
    with atomic_write(path) as out:
        Image.fromarray(np.asarray(array, np.uint8)).save(out, format="PNG")
