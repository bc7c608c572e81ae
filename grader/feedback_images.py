"""The pictures of a feedback page: maps on a synthetic chest X-ray with its lesion outlined, and
the test's image, the student's map, the reference map and their difference.

Each is a small PNG of one panel, embedded in the page as a data URI; the page
writes the captions (Japanese and English) in HTML, so the pictures need no
fonts. Only the visible tests' cases (``spec.FEEDBACK_CASES``) and the feedback
X-rays (``spec.XRAY_CASES``) are drawn, so no hidden case reaches a student.
"""
from __future__ import annotations

import base64
import io

import numpy as np


def _png(draw) -> bytes:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(2.5, 2.2), dpi=72)
    ax.set_xticks([])
    ax.set_yticks([])
    draw(fig, ax, matplotlib)
    fig.tight_layout(pad=0.3)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


def image_png(image) -> bytes:
    """An input image, shape (1, H, W, C) or (H, W, C): grey for one channel, RGB for three."""
    image = np.asarray(image, np.float64)
    image = image[0] if image.ndim == 4 else image
    picture = image[..., 0] if image.shape[-1] == 1 else np.clip(image, 0, 1)
    return _png(lambda fig, ax, mpl: ax.imshow(picture, cmap="gray", vmin=0, vmax=1))


def map_png(cam, *, difference: bool = False) -> bytes:
    """A map with its colour bar: viridis over at least [0, 1], or a difference in blue-white-red.

    NaN and inf are drawn grey.
    """
    cam = np.asarray(cam, np.float64)
    finite = cam[np.isfinite(cam)]
    if difference:
        limit = max(float(np.abs(finite).max()) if finite.size else 0.0, 1e-6)
        name, low, high = "RdBu_r", -limit, limit
    else:
        name = "viridis"
        low = min(0.0, float(finite.min())) if finite.size else 0.0
        high = max(1.0, float(finite.max())) if finite.size else 1.0

    def draw(fig, ax, mpl):
        cmap = mpl.colormaps[name].copy()
        cmap.set_bad("#bbbbbb")
        shown = ax.imshow(np.ma.masked_invalid(cam), cmap=cmap, vmin=low, vmax=high, interpolation="nearest")
        fig.colorbar(shown, ax=ax, fraction=0.046, pad=0.04).ax.tick_params(labelsize=7)
    return _png(draw)


def xray_png(image, cam, mask) -> bytes:
    """A map over its X-ray, the lesion outlined (red positive, blue negative, grey NaN), with its colour bar."""
    from exercise_logic.rendering import draw_map_over_image

    def draw(fig, ax, mpl):
        scale = draw_map_over_image(ax, image, cam, mask)
        fig.colorbar(scale, ax=ax, fraction=0.046, pad=0.04).ax.tick_params(labelsize=7)
    return _png(draw)


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
