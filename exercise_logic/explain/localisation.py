"""Does a map point at the lesion? Localisation scores against ground-truth masks.

All functions are batched over ``N`` maps and work on any method's maps
(Grad-CAM, Score-CAM, saliency...): non-negative arrays of shape (N, H, W),
such as those :func:`exercise_logic.gradcam` returns.

**Peak and ties.** The *peak* of a map is the set of its maximal pixels
(equal to the maximum within ``1e-6``), not ``argmax``'s first index: the
first index in raster order favours the top-left corner, which is exactly
where the synthetic set's marker sits. A map counts as pointing at a region
when *any* of its maximal pixels lies in it. A flat map (max == min, e.g. an
all-zero map) has no peak and points nowhere: a miss, never a hit.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage

TIE_TOLERANCE = 1e-6  # maximal pixels: value >= max - TIE_TOLERANCE
# Zhang et al. (2018) count a peak within 15 px of the object as a hit on
# 224 px images; the same fraction of the side is 2 px at 28 px.
POINTING_TOLERANCE_FRACTION = 15 / 224


def _as_maps(maps, name="maps") -> np.ndarray:
    array = np.asarray(maps, dtype=np.float64)
    if array.ndim == 2:
        array = array[np.newaxis]
    if array.ndim != 3:
        raise ValueError(f"{name} must have shape (N, H, W) or (H, W), got {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contain NaN or infinite values")
    if array.size and array.min() < 0:
        raise ValueError(f"{name} must be non-negative (explanation maps in [0, 1]); "
                         f"got a minimum of {array.min():.3g}")
    return array


def _as_masks(masks, shape, name="masks") -> np.ndarray:
    array = np.asarray(masks)
    if array.ndim == 2 and array.shape == tuple(shape[1:]):
        array = np.broadcast_to(array, shape)  # one mask for every map
    if array.shape != shape:
        raise ValueError(f"{name} must have the maps' shape {shape} (or one (H, W) mask for all), "
                         f"got {np.asarray(masks).shape}")
    if array.dtype != bool:
        if not np.all(np.isin(array, (0, 1))):
            raise ValueError(f"{name} must be boolean (or 0/1) pixel masks")
        array = array.astype(bool)
    return array


def peak_pixels(maps) -> np.ndarray:
    """The maximal pixels of each map.

    Parameters
    ----------
    maps : array-like of float, shape (N, H, W) or (H, W)
        Non-negative maps.

    Returns
    -------
    ndarray of bool, shape (N, H, W)
        True where a map reaches its maximum (within ``1e-6``); all False for
        a flat map (max == min), which has no peak.
    """
    maps = _as_maps(maps)
    if maps.size == 0:
        return np.zeros(maps.shape, bool)
    high = maps.max(axis=(1, 2), keepdims=True)
    low = maps.min(axis=(1, 2), keepdims=True)
    return (maps >= high - TIE_TOLERANCE) & (high - low > TIE_TOLERANCE)


def standard_tolerance(size: int) -> int:
    """The pointing game's tolerance for maps of side ``size``: Zhang et al.'s 15 px at 224 px.

    >>> standard_tolerance(28), standard_tolerance(64), standard_tolerance(224)
    (2, 4, 15)
    """
    return max(1, int(round(POINTING_TOLERANCE_FRACTION * size)))


def pointing_game(maps, masks, tolerance=None) -> np.ndarray:
    """Pointing game (Zhang et al., 2018): does each map's peak hit a lesion?

    Parameters
    ----------
    maps : array-like of float, shape (N, H, W) or (H, W)
        Non-negative explanation maps.
    masks : array-like of bool, shape (N, H, W) or (H, W)
        Lesion pixels, at the maps' resolution.
    tolerance : int, optional
        A peak within this many pixels (Chebyshev distance, i.e. a
        (2t+1) x (2t+1) square) of a lesion pixel is a hit. 0 = exact.
        Default :func:`standard_tolerance` of the maps' side (2 px at 28 px).

    Returns
    -------
    ndarray of float64, shape (N,)
        1.0 for a hit, 0.0 for a miss (a flat map is a miss), NaN where the
        mask is empty (nothing to point at; use ``np.nanmean`` for the score).
        Ties: a hit when any of the maximal pixels is near a lesion.
    """
    peaks = peak_pixels(maps)
    if tolerance is None:
        tolerance = standard_tolerance(max(peaks.shape[1:]))
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, np.integer)) or tolerance < 0:
        raise ValueError(f"tolerance must be a non-negative integer number of pixels, got {tolerance!r}")
    masks = _as_masks(masks, peaks.shape)
    near = masks
    if tolerance > 0 and masks.size:
        # Dilate each mask (not across images) by a square of side 2t+1.
        near = ndimage.maximum_filter(masks, size=(1, 2 * tolerance + 1, 2 * tolerance + 1),
                                      mode="constant", cval=False)
    hits = np.any(peaks & near, axis=(1, 2)).astype(np.float64)
    hits[~masks.any(axis=(1, 2))] = np.nan
    return hits


def energy_in_mask(maps, masks) -> np.ndarray:
    """The fraction of each map's mass that lies inside the lesions.

    Parameters
    ----------
    maps : array-like of float, shape (N, H, W) or (H, W)
        Non-negative explanation maps.
    masks : array-like of bool, shape (N, H, W) or (H, W)

    Returns
    -------
    ndarray of float64, shape (N,)
        ``sum(map * mask) / sum(map)`` in [0, 1]; NaN where the mask is empty
        or the map is all zero. A uniform map scores the lesion's area fraction.
    """
    maps = _as_maps(maps)
    masks = _as_masks(masks, maps.shape)
    total = maps.sum(axis=(1, 2))
    inside = (maps * masks).sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        energy = np.where(total > 0, inside / np.where(total > 0, total, 1.0), np.nan)
    energy[~masks.any(axis=(1, 2))] = np.nan
    return energy


def peak_in_region(maps, region) -> np.ndarray:
    """Whether each map's peak lies in a region, e.g. the marker corner.

    Parameters
    ----------
    maps : array-like of float, shape (N, H, W) or (H, W)
    region : array-like of bool, shape (H, W) or (N, H, W)
        One region for all maps (such as
        ``exercise_logic.data.synthetic.marker_region(28)``) or one per map.

    Returns
    -------
    ndarray of bool, shape (N,)
        True when any maximal pixel of the map is in the region; False for a
        flat map.
    """
    peaks = peak_pixels(maps)
    region = _as_masks(region, peaks.shape, name="region")
    return np.any(peaks & region, axis=(1, 2))


def otsu_segmentation(maps) -> np.ndarray:
    """Binarise maps as Saporta et al. (2022) do: min-max to 0..255, then Otsu's threshold.

    Each map is scaled to integers 0..255 (``uint8(255 * (m - min) / (max - min))``)
    and split at the threshold that maximises the between-class variance of
    its 256-bin histogram (Otsu, 1979); pixels above it are the segmentation,
    as ``cv2.threshold(..., cv2.THRESH_OTSU)`` gives in their code (CheXlocalize).

    Parameters
    ----------
    maps : array-like of float, shape (N, H, W) or (H, W)
        Non-negative explanation maps.

    Returns
    -------
    ndarray of bool, shape (N, H, W)
        The segmentation of each map; all False for a flat map.
    """
    maps = _as_maps(maps)
    count = len(maps)
    if maps.size == 0:
        return np.zeros(maps.shape, bool)
    low = maps.min(axis=(1, 2), keepdims=True)
    span = maps.max(axis=(1, 2), keepdims=True) - low
    levels = (255 * (maps - low) / np.where(span > 0, span, 1)).astype(np.uint8)  # truncates, as uint8() does
    flat_levels = levels.reshape(count, -1).astype(np.int64)
    histogram = np.zeros((count, 256))
    np.add.at(histogram, (np.arange(count)[:, np.newaxis], flat_levels), 1)
    probability = histogram / flat_levels.shape[1]
    weight_low = np.cumsum(probability, axis=1)             # class 0 = levels <= t
    mean_low = np.cumsum(probability * np.arange(256), axis=1)
    mean_all = mean_low[:, -1:]
    with np.errstate(invalid="ignore", divide="ignore"):
        between = (mean_all * weight_low - mean_low) ** 2 / (weight_low * (1 - weight_low))
    between[~np.isfinite(between)] = -1.0
    threshold = between.argmax(axis=1)                       # the first of equal maxima
    return (levels > threshold[:, np.newaxis, np.newaxis]) & (span > TIE_TOLERANCE)


def iou(segmentations, masks) -> np.ndarray:
    """Intersection over union of segmentations and ground-truth masks, per image.

    Parameters
    ----------
    segmentations, masks : array-like of bool, shape (N, H, W) or (H, W)

    Returns
    -------
    ndarray of float64, shape (N,)
        ``|S & M| / |S | M|`` in [0, 1]; NaN where the mask is empty (nothing to
        overlap; use ``np.nanmean`` for the mean IoU). An empty segmentation scores 0.
    """
    segmentations = np.asarray(segmentations)
    if segmentations.ndim == 2:
        segmentations = segmentations[np.newaxis]
    segmentations = _as_masks(segmentations, segmentations.shape, name="segmentations")
    masks = _as_masks(masks, segmentations.shape)
    union = (segmentations | masks).sum(axis=(1, 2))
    overlap = (segmentations & masks).sum(axis=(1, 2))
    scores = overlap / np.maximum(union, 1)
    scores[~masks.any(axis=(1, 2))] = np.nan
    return scores.astype(np.float64)
