"""Properties of Grad-CAM maps, step by step of the recipe (NumPy only).

A map is made in two halves, and a mistake changes one step of one half:

* **what is summed** (steps 1-3): a low-resolution *grid*, the weighted sum
  before ReLU. :func:`early_grids` makes it from the reference's activations
  and gradients the correct way and in each known wrong way (:data:`EARLY`);
* **how it is finished** (steps 4-6): rectified (:data:`RECTIFY`), upsampled
  (:data:`UPSAMPLE`) and normalised (:data:`NORMALISE`).

A student's map is explained by a grid and a finish when it is an affine
function of the finished grid (:func:`fit`); the affine coefficients tell the
normalisation apart. Then a few properties need no grid at all: negative
values (:func:`negatives`), the same map for two classes (:func:`same_maps`)
and detail finer than the conv layer's grid (:func:`finer_than_grid`).
"""
from __future__ import annotations

import numpy as np

ZERO = 1e-7            # a normalised map whose largest |value| is below this is all zero
GRID_ZERO = 1e-12      # ... and a grid in the score's units
FIT_TOLERANCE = 0.02   # largest misfit of an explained map, relative to its largest |value|
SCALE_TOLERANCE = 0.03
DETAIL = 0.1           # misfit to every conv-sized grid above which a map has input-resolution detail

# steps 1-3: grid name -> the mistake it makes (None: correct)
EARLY = {
    "correct": None,
    "default class": "class_index_ignored",
    "default class (binary models only)": "class_index_ignored",
    "last conv layer": "layer_ignored",
    "pooled over channels": "wrong_pooling_axis",
    "pooled over rows": "wrong_pooling_axis",
    "pooled over columns": "wrong_pooling_axis",
    "max-pooled gradients": "max_pooled_gradients",
    "gradients times activations": "gradients_not_pooled",
    "weights on the gradients": "weights_on_gradients",
    "image gradients, mean over colours": "wrong_tensor",
    "image gradients times the image": "wrong_tensor",
    "Grad-CAM of the image": "wrong_tensor",
    "image gradients, largest |value| over colours": "wrong_tensor",
}
# steps 4-6: variant -> the mistake it makes
RECTIFY = {"relu": None, "none": "no_relu", "abs": "abs"}
UPSAMPLE = {"bilinear": None, "nearest": "nearest", "swapped": "height_width_swapped"}
NORMALISE = {"max": None, "min-max": None, "sum": "sum_normalisation", "none": "no_normalisation"}


# -- resizing as tf.image.resize does (half-pixel centres) -----------------------
def interpolation(size_in: int, size_out: int, method: str = "bilinear") -> np.ndarray:
    """The (size_out, size_in) matrix of a 1-D resize, so that a 2-D resize is ``Uh @ grid @ Uw.T``."""
    matrix = np.zeros((size_out, size_in))
    rows = np.arange(size_out)
    centres = (rows + 0.5) * size_in / size_out
    if method == "nearest":
        matrix[rows, np.minimum(np.floor(centres).astype(int), size_in - 1)] = 1.0
        return matrix
    source = np.clip(centres - 0.5, 0, size_in - 1)
    low = np.floor(source).astype(int)
    high = np.minimum(low + 1, size_in - 1)
    np.add.at(matrix, (rows, low), 1 - (source - low))
    np.add.at(matrix, (rows, high), source - low)
    return matrix


def resize(grid, size, method: str = "bilinear") -> np.ndarray:
    """``tf.image.resize(grid[..., None], size, method)[..., 0]`` in NumPy (no antialiasing)."""
    grid = np.asarray(grid, np.float64)
    if grid.shape == tuple(size):
        return grid.copy()
    return interpolation(grid.shape[0], size[0], method) @ grid @ interpolation(grid.shape[1], size[1], method).T


# -- steps 1-3: the grids ----------------------------------------------------------
def weighted_sum(weights, maps) -> np.ndarray:
    return (np.asarray(maps) * weights).sum(axis=-1)


def early_grids(activations, gradients, default_gradients, last_activations, last_gradients, image,
                image_gradients, binary: bool) -> dict:
    """Every grid of :data:`EARLY` on one case, from the reference's parts.

    Parameters
    ----------
    activations, gradients : ndarray, shape (h, w, K)
        A of the chosen conv layer and dy/dA for the requested class's score y.
    default_gradients : ndarray, shape (h, w, K)
        dy/dA for the class explained when ``class_index`` is ignored.
    last_activations, last_gradients : ndarray, shape (h', w', K')
        The same for the layer called ``last_conv_layer``.
    image, image_gradients : ndarray, shape (H, W, C)
        The input and dy/dx.
    binary : bool
        Whether the model has one (sigmoid) output.
    """
    a, g = np.asarray(activations, np.float64), np.asarray(gradients, np.float64)
    x, dx = np.asarray(image, np.float64), np.asarray(image_gradients, np.float64)
    alpha = g.mean(axis=(0, 1))
    default = weighted_sum(np.asarray(default_gradients, np.float64).mean(axis=(0, 1)), a)
    correct = weighted_sum(alpha, a)
    return {
        "correct": correct,
        "default class": default,
        "default class (binary models only)": default if binary else correct,
        "last conv layer": weighted_sum(np.asarray(last_gradients, np.float64).mean(axis=(0, 1)),
                                        np.asarray(last_activations, np.float64)),
        "pooled over channels": g.mean(axis=-1) * a.sum(axis=-1),
        "pooled over rows": (a * g.mean(axis=0, keepdims=True)).sum(axis=-1),
        "pooled over columns": (a * g.mean(axis=1, keepdims=True)).sum(axis=-1),
        "max-pooled gradients": weighted_sum(g.max(axis=(0, 1)), a),
        "gradients times activations": (g * a).sum(axis=-1),
        "weights on the gradients": weighted_sum(alpha, g),
        "image gradients, mean over colours": dx.mean(axis=-1),
        "image gradients times the image": (dx * x).sum(axis=-1),
        "Grad-CAM of the image": weighted_sum(dx.mean(axis=(0, 1)), x),
        "image gradients, largest |value| over colours": np.abs(dx).max(axis=-1),
    }


# -- steps 4-6: the finish ----------------------------------------------------------
def rectify(grid, how: str) -> np.ndarray:
    return np.maximum(grid, 0.0) if how == "relu" else np.abs(grid) if how == "abs" else np.asarray(grid)


def reference_map(grid, size) -> np.ndarray:
    """The lecture's finish of a grid: ReLU, divide by the maximum (when positive), bilinear upsampling."""
    cam = rectify(grid, "relu")
    peak = cam.max()
    return resize(cam / peak if peak > 0 else cam, size)


def finishes(grid, size):
    """``(rectify, upsample, rectified grid, finished map)`` of each finish that applies to ``grid``.

    A grid already at the input's size (image gradients) is not changed by
    bilinear or nearest upsampling alike.
    """
    for how in RECTIFY:
        rectified = rectify(grid, how)
        for method in UPSAMPLE:
            target = tuple(size)[::-1] if method == "swapped" else tuple(size)
            yield how, method, rectified, resize(rectified, target, "nearest" if method == "nearest" else "bilinear")


def fit(cam, finished) -> tuple[float, float] | None:
    """``(a, b)`` with ``cam ≈ a * finished + b`` everywhere (misfit below :data:`FIT_TOLERANCE`), or None."""
    if cam.shape != finished.shape:
        return None
    top = np.abs(cam).max()
    spread = finished - finished.mean()
    variance = (spread ** 2).mean()
    if variance <= 1e-20 * np.abs(finished).max() ** 2:
        # a constant grid (a model whose gradients are the same everywhere): only a scale is seen
        a, b = cam.mean() / finished.mean(), 0.0
    else:
        a = ((cam - cam.mean()) * spread).mean() / variance
        b = cam.mean() - a * finished.mean()
    if np.abs(cam - (a * finished + b)).max() > FIT_TOLERANCE * max(top, ZERO):
        return None
    return float(a), float(b)


def _near(value, candidates) -> bool:
    return any(c != 0 and np.isfinite(c) and abs(value / c - 1) <= SCALE_TOLERANCE for c in candidates)


def normalisations(a: float, b: float, rectified, finished, top: float) -> set[str]:
    """Which :data:`NORMALISE` variants turn ``finished`` into ``a * finished + b``.

    Normalising before or after upsampling are both accepted (the maximum,
    minimum or sum of the grid or of the upsampled map). Dividing by a negative
    maximum (no ReLU) is dividing by the maximum too.
    """
    found = set()
    if abs(b) <= 0.01 * max(top, ZERO):
        peaks = [rectified.max(), finished.max()]
        if _near(a, [1 / p for p in peaks if p != 0]) or (max(peaks) <= 0 and _near(a, [1.0])):
            found.add("max")
        if _near(a, [1 / s for s in (rectified.sum(), finished.sum()) if s != 0]):
            found.add("sum")
        if _near(a, [1.0]):
            found.add("none")
    for values in (rectified, finished):
        span = values.max() - values.min()
        if span > 0 and _near(a, [1 / span]) and abs(b + a * values.min()) <= 0.01 * max(top, ZERO):
            found.add("min-max")
    return found


# -- properties that need no grid ------------------------------------------------
def negatives(cam) -> float:
    """The most negative value of a map relative to its largest |value| (0 when none)."""
    top = np.abs(cam).max()
    return float(min(cam.min(), 0.0) / top) if top > ZERO else 0.0


def is_zero(cam) -> bool:
    return bool(np.isfinite(cam).all() and np.abs(cam).max() <= ZERO)


def same_maps(first, second) -> bool:
    """Two maps equal up to float noise (both finite, same shape)."""
    if first.shape != second.shape or not (np.isfinite(first).all() and np.isfinite(second).all()):
        return False
    top = max(np.abs(first).max(), np.abs(second).max(), ZERO)
    return bool(np.abs(first - second).max() <= 1e-4 * top)


def grid_misfit(cam, grid_size, method: str = "bilinear") -> float:
    """How far ``cam`` is from every map upsampled from a grid of ``grid_size`` (relative to its range).

    The least-squares grid G of ``cam ≈ Uh @ G @ Uw.T`` is found with the
    pseudo-inverses of the interpolation matrices.
    """
    height, width = cam.shape
    uh = interpolation(grid_size[0], height, method)
    uw = interpolation(grid_size[1], width, method)
    grid = np.linalg.pinv(uh) @ cam @ np.linalg.pinv(uw).T
    span = cam.max() - cam.min()
    return float(np.abs(cam - uh @ grid @ uw.T).max() / span) if span > ZERO else 0.0


def finer_than_grid(cam, grid_sizes) -> float | None:
    """The smallest misfit of ``cam`` to any conv-sized grid, bilinear or nearest; None when untestable.

    Untestable: a grid as large as the map (nothing is upsampled) or a map of another shape.
    """
    sizes = [tuple(s) for s in grid_sizes if s[0] < cam.shape[0] and s[1] < cam.shape[1]]
    if not sizes or not np.isfinite(cam).all():
        return None
    return min(grid_misfit(cam, size, method) for size in sizes for method in ("bilinear", "nearest"))
