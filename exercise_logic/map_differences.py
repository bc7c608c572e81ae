"""What differs between a student's Grad-CAM map and the reference map, in one line (Japanese, English).

The feedback page and the notebook's self-check put one such line under each
pair of pictures, e.g. "your map has negative values (blue) where the
reference is 0". The colours are those of
:func:`exercise_logic.rendering.draw_map_over_image` (yellow to red positive, blue
negative, grey NaN).
"""
from __future__ import annotations

import numpy as np

ZERO = 0.01          # reference values below this (of its max 1) count as "0"
HIGH = 0.3           # ... and above this as "high"


def as_map(cam):
    """A map as a 2-D float64 array (NaN kept), or None when it is not one."""
    if cam is None:
        return None
    try:
        cam = np.squeeze(np.asarray(cam, np.float64))
    except (TypeError, ValueError):
        return None
    return cam if cam.ndim == 2 and cam.size else None


def _min_max(cam):
    span = cam.max() - cam.min()
    return (cam - cam.min()) / span if span > 1e-12 else cam * 0


def describe(cam, reference) -> tuple[str, str]:
    """The most telling difference between ``cam`` and ``reference`` as ``(japanese, english)``.

    Parameters
    ----------
    cam : array-like
        What the student's function returned.
    reference : ndarray of float, shape (H, W)
        The reference map, in [0, 1].
    """
    reference = np.asarray(reference, np.float64)
    got = as_map(cam)
    if got is None:
        shape = tuple(np.shape(cam)) if cam is not None else None
        return (f"マップとして描けません（形 {shape}）", f"it cannot be drawn as a map (shape {shape})")
    if got.shape != reference.shape:
        return (f"あなたのマップの形は {got.shape}、参照は {reference.shape} です（高さ, 幅の順）",
                f"your map's shape is {got.shape}, the reference's {reference.shape} (height, width)")
    from .diagnosis import differs
    if not differs(got, reference):
        return ("参照と一致します", "it matches the reference")
    finite = np.isfinite(got)
    if not finite.all():
        share = 100 * (~finite).mean()
        return (f"NaN か inf の値（灰色）が {share:.0f}% あります", f"{share:.0f}% of your map is NaN or inf (grey)")
    zero, high = reference <= ZERO * max(reference.max(), 1e-12), reference >= HIGH * reference.max()
    if got.min() < -1e-6:
        low = got.min()
        if reference.max() > 1e-6 and (got[zero] < -1e-6).any():
            return (f"あなたのマップには参照が 0 の場所に負の値（青、最小 {low:.2g}）があります",
                    f"your map has negative values (blue, down to {low:.2g}) where the reference is 0")
        return (f"あなたのマップには負の値（青、最小 {low:.2g}）があります",
                f"your map has negative values (blue, down to {low:.2g})")
    if got.max() > 1 + 1e-4:
        return (f"あなたのマップの最大値は {got.max():.3g} です（参照の最大値は 1）",
                f"your map goes up to {got.max():.3g} (the reference's maximum is 1)")
    if reference.max() <= 1e-6:
        return ("参照は全て 0 ですが、あなたのマップには値があります（赤）",
                "the reference is all 0, your map is not (red)")
    if got.max() <= 1e-6:
        return ("あなたのマップは全て 0 です（参照には赤い場所があります）",
                "your map is all 0 where the reference has red places")
    if got.max() < reference.max() - 2e-3:
        return (f"あなたのマップの最大値は {got.max():.3g} です（参照は 1）",
                f"your map's maximum is {got.max():.3g} (the reference's is 1)")
    scaled = _min_max(got)
    extra, missing = (scaled >= HIGH) & zero, (scaled <= ZERO) & high
    if extra.any():
        return (f"あなたのマップは参照が 0 の場所（{100 * extra.mean():.0f}%）で高い値（赤）です",
                f"your map is high (red) where the reference is 0 ({100 * extra.mean():.0f}% of the pixels)")
    if missing.any():
        return (f"参照が高い場所（{100 * missing.mean():.0f}%）で、あなたのマップは 0 です",
                f"your map is 0 where the reference is high ({100 * missing.mean():.0f}% of the pixels)")
    error = float(np.abs(scaled - _min_max(reference)).max())
    return (f"形は似ていますが、参照との差が最大 {error:.2f} あります",
            f"the pattern is similar, but differs from the reference by up to {error:.2f}")
