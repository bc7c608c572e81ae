"""Is the map faithful to the model? Deletion and insertion curves (Petsiuk et al., 2018), and ROAD.

*Deletion*: pixels are replaced by a blurred copy of the image, most important
first (in the map's order); a faithful map makes the probability of the
explained class fall quickly, so a **low** deletion AUC is good.
*Insertion*: starting from the blurred copy, the original pixels are revealed
most important first; a faithful map makes the probability rise quickly, so a
**high** insertion AUC is good. A blurred (not black) baseline removes the
information in the pixels without adding sharp artificial edges.

The default blur is strong (sigma = a third of the image side). Measured on
the synthetic 28x28 set (bench/explanation_quality.py): with a light blur
(sigma 2.8 px) the lesion blobs survive and the blurred lungs look like an
opacity, so the lecture CNN calls 89% of blurred *normal* images abnormal and
every method's curves, a random map's included, stay flat (deletion AUC
0.92-0.96 for Grad-CAM, HiResCAM and saliency against 0.94 for random maps).
With sigma 10 px HiResCAM's deletion AUC was 0.65 against 0.92 for random
maps. No baseline is neutral (a fully blurred image still looks abnormal to
the model): compare a method with random maps (:func:`random_maps`) on the
same images.

*ROAD* (Rong et al., 2022, "remove and debias"): a fraction of the pixels is
removed, most relevant first (MoRF: a **low** probability is good) or least
relevant first (LeRF: a **high** probability is good), and *imputed* from
their neighbours by noisy linear imputation instead of a fixed baseline: each
removed pixel is the weighted mean of its 8 neighbours (weights 1/6 for the
4 direct, 1/12 for the 4 diagonal ones), solved as one sparse linear system,
plus Gaussian noise of std 0.01. The imputed values carry little information
about which pixels were removed, so the model cannot read the mask's shape
(the "class information leakage" that biases deletion curves).

Every step of a chunk of images goes through the model in one forward pass;
ROAD's imputations of a chunk are solved as one block-diagonal sparse system.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf
from scipy import ndimage, sparse
from scipy.sparse.linalg import spsolve

from ..evaluation import per_class, probabilities_from_logits
from ..streaming import as_images, image_batches, scaled_batch_size
from .base import class_indices
from .layers import output_kind

#: ROAD's neighbour weights (row offset, column offset, weight), from Rong et al.'s code.
ROAD_NEIGHBOURS = ((-1, -1, 1 / 12), (-1, 0, 1 / 6), (-1, 1, 1 / 12), (0, -1, 1 / 6), (0, 1, 1 / 6),
                   (1, -1, 1 / 12), (1, 0, 1 / 6), (1, 1, 1 / 12))
ROAD_FRACTIONS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
ROAD_NOISE = 0.01
MAX_BATCH = 2048  # perturbed images per forward pass, for images up to 64 px (fewer for larger)


@dataclasses.dataclass
class DeletionInsertion:
    """Deletion and insertion curves of N images and their areas.

    Attributes
    ----------
    fractions : ndarray of float64, shape (steps + 1,)
        Fraction of pixels removed (deletion) or revealed (insertion), 0 to 1.
    deletion, insertion : ndarray of float64, shape (N, steps + 1)
        The model's probability of the explained class at each fraction.
    deletion_auc, insertion_auc : ndarray of float64, shape (N,)
        Trapezoidal areas under the curves, in [0, 1]. Deletion: lower is
        better; insertion: higher is better.
    targets : ndarray of int32, shape (N,)
        The class whose probability was followed.
    """
    fractions: np.ndarray
    deletion: np.ndarray
    insertion: np.ndarray
    deletion_auc: np.ndarray
    insertion_auc: np.ndarray
    targets: np.ndarray

    def __len__(self) -> int:
        return len(self.targets)

    @property
    def mean_deletion_auc(self) -> float:
        return float(np.mean(self.deletion_auc)) if len(self) else float("nan")

    @property
    def mean_insertion_auc(self) -> float:
        return float(np.mean(self.insertion_auc)) if len(self) else float("nan")


def _forward(model):
    """A compiled forward pass, built once per model and kept with it."""
    forward = model.__dict__.get("_faithfulness_forward")
    if forward is None:
        spec = tf.TensorSpec((None,) + tuple(model.inputs[0].shape[1:]), tf.float32)
        forward = tf.function(lambda images: model(images, training=False), input_signature=[spec])
        object.__setattr__(model, "_faithfulness_forward", forward)  # bypass Keras tracking
    return forward


def class_probabilities(model, outputs: np.ndarray) -> np.ndarray:
    """Per-class probabilities from a model's outputs, shape (N, classes).

    A single sigmoid unit gives ``[1 - p, p]`` (normal, abnormal); a linear
    head gets a sigmoid (one unit or multi-label) or a softmax.
    """
    outputs = np.asarray(outputs, np.float64)
    if output_kind(model) == "linear":
        return probabilities_from_logits(outputs, "linear")
    return per_class(outputs)


def checked_maps(images, maps) -> np.ndarray:
    """``maps`` as float32 (N, H, W), one finite map per image, or a ValueError saying what is wrong."""
    maps = np.asarray(maps, np.float32)
    if maps.shape != images.shape[:3]:
        raise ValueError(f"maps must have shape {images.shape[:3]} (one (H, W) map per image), "
                         f"got {maps.shape}")
    if not np.all(np.isfinite(maps)):
        raise ValueError("maps contain NaN or infinite values")
    return maps


def blurred_baseline(images, sigma: float) -> np.ndarray:
    """Gaussian-blurred copies, each channel separately; shape and dtype of ``images``."""
    images = np.asarray(images, np.float32)
    return ndimage.gaussian_filter(images, sigma=(0, sigma, sigma, 0), mode="nearest").astype(np.float32)


def random_maps(shape, seed: int = 0) -> np.ndarray:
    """Uniform random maps, float32 of the given (N, H, W) shape: the chance level of every metric."""
    return np.random.default_rng(seed).random(shape, dtype=np.float32)


def pixel_ranks(maps) -> np.ndarray:
    """Rank of each pixel in its map, 0 = most important; shape (N, H * W), int64.

    Ties keep raster order (a stable sort), so the result is deterministic.
    """
    flat = np.asarray(maps, np.float64).reshape(len(maps), -1)
    order = np.argsort(-flat, axis=1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(flat.shape[1])[np.newaxis], axis=1)
    return ranks


def deletion_insertion(model, images, maps, target=None, steps: int = 16, blur_sigma=None,
                       baseline=None, batch_size=None) -> DeletionInsertion:
    """Deletion and insertion curves and AUCs for maps of any method.

    Parameters
    ----------
    model : keras.Model
        The classifier the maps explain (its own output is used, so a sigmoid
        model gives p for abnormal and 1 - p for normal).
    images : array-like of float, shape (N, H, W, C)
        Or a split's streamed images: they are read one chunk at a time.
    maps : array-like of float, shape (N, H, W)
        Explanation maps at the images' resolution; higher = more important.
    target : None, int or sequence of int
        The class to follow: None = the predicted class of each image; for a
        single-sigmoid model 1 = abnormal, 0 = normal. Use the ``explained
        target`` of :meth:`Explainer.explain` to follow the class the map explains.
    steps : int
        Number of equal steps from 0 to all pixels (curves have steps + 1 points).
    blur_sigma : float, optional
        Gaussian sigma in pixels of the blurred baseline; default a third of
        the image side (9.3 pixels at 28 x 28; see the module notes).
    baseline : array-like, optional
        Instead of the blur: a value or an array broadcastable to ``images``
        (e.g. 0.0 for a black baseline).
    batch_size : int, optional
        At most this many perturbed images per forward pass; default
        :data:`MAX_BATCH`, proportionally fewer for images over 64 px.

    Returns
    -------
    DeletionInsertion
    """
    images = as_images(images)
    maps = checked_maps(images, maps)
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    count, height, width = maps.shape
    if baseline is None:
        sigma = width / 3.0 if blur_sigma is None else float(blur_sigma)
        if not sigma > 0:
            raise ValueError(f"blur_sigma must be positive (pixels), got {blur_sigma!r}")

        def background(originals, part):
            return blurred_baseline(originals, sigma)
    else:
        try:
            fixed = np.broadcast_to(np.asarray(baseline, np.float32), images.shape)
        except ValueError:
            raise ValueError(f"baseline must broadcast to the images' shape {images.shape}, "
                             f"got {np.shape(baseline)}") from None

        def background(originals, part):
            return fixed[part]
    outputs = int(model.outputs[0].shape[-1])
    requested = class_indices(target, count, 2 if outputs == 1 else outputs)

    forward = _forward(model)
    fractions = np.linspace(0.0, 1.0, steps + 1)
    counts = np.round(fractions * height * width).astype(np.int64)
    deletion = np.zeros((count, steps + 1))
    insertion = np.zeros((count, steps + 1))
    targets = np.zeros(count, np.int32)
    # A chunk of images at a time: its (steps + 1) deleted and inserted copies
    # go through the model in one forward pass of at most batch_size images.
    if batch_size is None:
        batch_size = scaled_batch_size(MAX_BATCH, (height, width))
    per_chunk = max(1, int(batch_size) // (2 * (steps + 1)))
    for part, originals in image_batches(images, per_chunk):
        scores = class_probabilities(model, forward(tf.constant(originals)).numpy())
        targets[part] = scores.argmax(axis=1) if requested is None else requested[part]
        chosen = pixel_ranks(maps[part])[:, np.newaxis, :] < counts[np.newaxis, :, np.newaxis]
        chosen = chosen.reshape(-1, steps + 1, height, width, 1)  # (n, steps + 1, H, W, 1)
        original = originals[:, np.newaxis]
        blurred = background(originals, part)[:, np.newaxis]
        deleted = np.where(chosen, blurred, original)
        inserted = np.where(chosen, original, blurred)
        batch = np.concatenate([deleted, inserted]).reshape((-1,) + originals.shape[1:])
        probabilities = class_probabilities(model, forward(tf.constant(batch)).numpy())
        n = len(chosen)
        repeated = np.tile(np.repeat(targets[part], steps + 1), 2)
        followed = probabilities[np.arange(len(batch)), repeated].reshape(2, n, steps + 1)
        deletion[part], insertion[part] = followed
    return DeletionInsertion(fractions, deletion, insertion,
                             np.trapezoid(deletion, fractions, axis=1),
                             np.trapezoid(insertion, fractions, axis=1), targets)


def plot_deletion_insertion(results, index=None, title=None, figsize=(10, 4)):
    """Plot deletion and insertion curves, one line per method.

    Parameters
    ----------
    results : DeletionInsertion or dict of str to DeletionInsertion
        One result, or several keyed by method name (compared on one plot).
    index : int, optional
        Plot the curves of this image; default the mean over all images.
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        Two panels (deletion, insertion); the legend gives each AUC.
    """
    import matplotlib.pyplot as plt

    if isinstance(results, DeletionInsertion):
        results = {"map": results}
    if not results:
        raise ValueError("results is empty: give at least one DeletionInsertion")
    figure, axes = plt.subplots(1, 2, figsize=figsize, sharey=True)
    for name, result in results.items():
        if not isinstance(result, DeletionInsertion):
            raise ValueError(f"results[{name!r}] is not a DeletionInsertion")
        if index is not None and not -len(result) <= index < len(result):
            raise ValueError(f"index must be in 0..{len(result) - 1}, got {index}")
        for axis, curves, areas in ((axes[0], result.deletion, result.deletion_auc),
                                    (axes[1], result.insertion, result.insertion_auc)):
            curve = curves[index] if index is not None else curves.mean(axis=0)
            area = areas[index] if index is not None else areas.mean()
            axis.plot(result.fractions, curve, marker=".", label=f"{name} (AUC {area:.3f})")
    axes[0].set_title("Deletion (lower AUC = more faithful)")
    axes[1].set_title("Insertion (higher AUC = more faithful)")
    axes[0].set_xlabel("fraction of pixels removed")
    axes[1].set_xlabel("fraction of pixels revealed")
    axes[0].set_ylabel("probability of the explained class")
    for axis in axes:
        axis.set_xlim(0, 1)
        axis.set_ylim(0, 1.02)
        axis.grid(alpha=0.3)
        axis.legend(fontsize="small")
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return figure


@dataclasses.dataclass
class ROAD:
    """ROAD curves of N images: the model's probability after removing and imputing pixels.

    Attributes
    ----------
    fractions : ndarray of float64, shape (P,)
        Fraction of the pixels removed.
    morf, lerf : ndarray of float64, shape (N, P)
        Probability of the explained class with the most (MoRF) or least
        (LeRF) relevant pixels removed. MoRF: lower is better; LeRF: higher.
    targets : ndarray of int32, shape (N,)
    """
    fractions: np.ndarray
    morf: np.ndarray
    lerf: np.ndarray
    targets: np.ndarray

    def __len__(self) -> int:
        return len(self.targets)

    @property
    def mean_morf(self) -> float:
        """Mean MoRF probability over images and fractions (lower = more faithful)."""
        return float(np.mean(self.morf)) if len(self) else float("nan")

    @property
    def mean_lerf(self) -> float:
        """Mean LeRF probability over images and fractions (higher = more faithful)."""
        return float(np.mean(self.lerf)) if len(self) else float("nan")

    @property
    def combined(self) -> np.ndarray:
        """Per image (mean LeRF - mean MoRF) / 2, pytorch-grad-cam's ROADCombined (higher = better)."""
        return (self.lerf.mean(axis=1) - self.morf.mean(axis=1)) / 2


def noisy_linear_imputation(images, removed, noise: float = ROAD_NOISE, seed: int = 0) -> np.ndarray:
    """Fill the removed pixels from their neighbours (Rong et al., 2022).

    Every removed pixel equals the weighted mean of its in-image neighbours
    (:data:`ROAD_NEIGHBOURS`), removed or not, so the removed region is a
    discrete harmonic interpolation of its border; then Gaussian noise of std
    ``noise`` is added to the imputed pixels. All images are solved as one
    sparse linear system (block diagonal, one block per image).

    Parameters
    ----------
    images : array-like of float, shape (M, H, W, C)
    removed : array-like of bool, shape (M, H, W)
        True where a pixel is removed. An image may not lose every pixel.
    noise : float
        Standard deviation of the added noise (in the images' units).
    seed : int
        Seed of the noise.

    Returns
    -------
    ndarray of float32, shape (M, H, W, C)
    """
    images = np.asarray(images, np.float32)
    removed = np.asarray(removed, bool)
    if images.ndim != 4 or removed.shape != images.shape[:3]:
        raise ValueError(f"removed must have shape {images.shape[:3]} (one (H, W) mask per image), "
                         f"got {removed.shape}")
    count, height, width, channels = images.shape
    if removed.reshape(count, -1).all(axis=1).any():
        raise ValueError("an image has every pixel removed: nothing is left to impute from")
    flat_removed = removed.reshape(-1)
    values = images.reshape(-1, channels).astype(np.float64)
    unknown = np.flatnonzero(flat_removed)
    if len(unknown) == 0:
        return images.copy()
    number = np.full(flat_removed.size, -1)
    number[unknown] = np.arange(len(unknown))
    image, row, column = np.unravel_index(unknown, (count, height, width))
    # Equation of removed pixel p: sum_q w_q (x_q - x_p) = 0 over its in-image neighbours q.
    rows, columns, weights = [np.arange(len(unknown))], [np.arange(len(unknown))], []
    diagonal = np.zeros(len(unknown))
    known_side = np.zeros((len(unknown), channels))
    for d_row, d_column, weight in ROAD_NEIGHBOURS:
        r, c = row + d_row, column + d_column
        inside = np.flatnonzero((r >= 0) & (r < height) & (c >= 0) & (c < width))
        neighbour = np.ravel_multi_index((image[inside], r[inside], c[inside]), (count, height, width))
        diagonal[inside] -= weight
        also_removed = flat_removed[neighbour]
        rows.append(inside[also_removed])
        columns.append(number[neighbour[also_removed]])
        weights.append(np.full(int(also_removed.sum()), weight))
        np.subtract.at(known_side, inside[~also_removed], weight * values[neighbour[~also_removed]])
    system = sparse.csc_matrix((np.concatenate([diagonal] + weights),
                                (np.concatenate(rows), np.concatenate(columns))),
                               shape=(len(unknown), len(unknown)))
    solution = np.asarray(spsolve(system, known_side)).reshape(len(unknown), channels)
    solution += noise * np.random.default_rng(seed).standard_normal(solution.shape)
    values[unknown] = solution
    return values.reshape(images.shape).astype(np.float32)


def road(model, images, maps, target=None, fractions=ROAD_FRACTIONS, noise: float = ROAD_NOISE,
         seed: int = 0, batch_size=None) -> ROAD:
    """ROAD (Rong et al., 2022): remove pixels in both orders, impute them, follow the probability.

    Parameters
    ----------
    model : keras.Model
    images : array-like of float, shape (N, H, W, C)
        Or a split's streamed images, read one chunk at a time.
    maps : array-like of float, shape (N, H, W)
        Higher = more relevant. Ties are removed in raster order.
    target : None, int or sequence of int
        As for :func:`deletion_insertion`.
    fractions : sequence of float in (0, 1)
        Fractions of the pixels removed (default 10% to 90%, the paper's).
    noise : float
        Noise std of the imputation.
    seed : int
        Seed of the imputation noise.
    batch_size : int, optional
        At most this many imputed images per forward pass (default as for
        :func:`deletion_insertion`).

    Returns
    -------
    ROAD
    """
    images = as_images(images)
    maps = checked_maps(images, maps)
    fractions = np.asarray(fractions, np.float64).ravel()
    if fractions.size == 0 or not np.all((fractions > 0) & (fractions < 1)):
        raise ValueError(f"fractions must be a non-empty list of numbers strictly between 0 and 1, "
                         f"got {fractions.tolist()}")
    count, height, width = maps.shape
    outputs = int(model.outputs[0].shape[-1])
    requested = class_indices(target, count, 2 if outputs == 1 else outputs)
    forward = _forward(model)
    removed_counts = np.round(fractions * height * width).astype(np.int64)
    steps = len(fractions)
    morf = np.zeros((count, steps))
    lerf = np.zeros((count, steps))
    targets = np.zeros(count, np.int32)
    if batch_size is None:
        batch_size = scaled_batch_size(MAX_BATCH, (height, width))
    per_chunk = max(1, int(batch_size) // (2 * steps))
    for number, (part, originals) in enumerate(image_batches(images, per_chunk)):
        scores = class_probabilities(model, forward(tf.constant(originals)).numpy())
        targets[part] = scores.argmax(axis=1) if requested is None else requested[part]
        ranks = pixel_ranks(maps[part])[:, np.newaxis, :]  # 0 = most relevant
        most = ranks < removed_counts[np.newaxis, :, np.newaxis]
        least = ranks >= height * width - removed_counts[np.newaxis, :, np.newaxis]
        removed = np.concatenate([most, least]).reshape(-1, height, width)  # (2 n steps, H, W)
        repeated = np.tile(np.repeat(originals, steps, axis=0), (2, 1, 1, 1))
        imputed = noisy_linear_imputation(repeated, removed, noise, seed + number)
        probabilities = class_probabilities(model, forward(tf.constant(imputed)).numpy())
        followed = probabilities[np.arange(len(imputed)), np.tile(np.repeat(targets[part], steps), 2)]
        morf[part], lerf[part] = followed.reshape(2, len(originals), steps)
    return ROAD(fractions, morf, lerf, targets)
