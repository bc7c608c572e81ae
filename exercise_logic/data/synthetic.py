"""Procedurally generated synthetic chest radiographs (normal vs. abnormal).

This module is the kit's offline default dataset.  It draws PA-view
chest-X-ray-like grayscale images with

* a dark air background and a bright soft-tissue body outline with a neck,
* two dark lung fields separated by the mediastinum (trachea and spine),
* a bright heart shadow overlapping the lower part of the image-right lung
  (the patient's left lung in a PA view),
* domed hemidiaphragms with deep costophrenic angles,
* curved posterior and fainter anterior rib shadows (their crossings make
  small bright spots), clavicles, vessel markings radiating from the hila,
  mottled parenchymal texture and occasional bilateral nipple shadows,
* patient variation (shift, scale, rotation, anatomy proportions) and
  acquisition variation (exposure, contrast, gamma, blur and sensor noise).

Abnormal images carry one to three soft-edged opacities (nodules or
consolidation-like patches) inside the lung fields.  Their pixel mask is
returned as ground truth for judging where an explanation heatmap points.
Many lesions are deliberately small and faint, some lie behind the heart or
on rib crossings, and the normal anatomy contains lesion mimics, so the task
is not trivially separable.

Optionally a small bright "L" lead marker is drawn in the top-left corner
(:data:`MARKER_CORNER`, :func:`marker_region`).  Its presence can be made
spuriously correlated with the label (``marker_strength``) to demonstrate
shortcut learning ("Clever Hans") with Grad-CAM.

Everything is vectorised over images with NumPy; images are rendered in
memory-bounded chunks.  Output is bit-identical for identical arguments.

Examples
--------
>>> data = generate_chest_xrays(16, size=28, seed=0)
>>> data.images.shape, data.images.dtype
((16, 28, 28), dtype('uint8'))
>>> splits = generate_splits(size=28, seed=0, n_train=80, n_val=10, n_test=20,
...                          marker_strength=0.95)
>>> sorted(splits)
['test', 'train', 'val']
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
from scipy import ndimage

__all__ = [
    "MARKER_CORNER",
    "SYNTHETIC_SIZES",
    "SyntheticXrays",
    "generate_chest_xrays",
    "generate_splits",
    "marker_region",
]

#: Image side lengths (pixels) the generator supports.
# Bump whenever the images change for the same arguments: trained models cached
# for an older generator are then retrained instead of silently reused.
GENERATOR_VERSION = 1
SYNTHETIC_SIZES = (28, 64, 128)

#: Where the lead marker lives: ``((row_start, row_stop), (col_start, col_stop))``
#: as fractions of the image side, i.e. the top-left corner box.  The marker
#: glyph is drawn strictly inside this box; :func:`marker_region` converts it
#: to a pixel mask for a given image size.
MARKER_CORNER = ((0.0, 0.2), (0.0, 0.2))

# Images rendered per chunk are chosen so that one float32 (chunk, S, S) array
# holds about this many pixels (~4 MiB); a few dozen such temporaries exist at
# a time, which bounds peak memory to a few hundred MiB for any ``n``.
_CHUNK_PIXELS = 1 << 20

# ----------------------------------------------------------------------------
# Difficulty knobs (tuned empirically, see bench/synthetic_difficulty.py).
# Intensities are on the linear "attenuation" scale before the exposure curve:
# air ~0.04, soft tissue ~0.5-0.6, aerated lung ~0.15-0.25.  Lesion amplitudes
# are filled fractions of the local air column (see ``_draw_lesions``).
# Measured with the lecture CNN (28x28, 5 epochs, seeds 0-4): test ROC-AUC
# 0.89-0.92; most of the misses are the subtle nodules.
# ----------------------------------------------------------------------------
_LESION_COUNT_P = (0.6, 0.28, 0.12)        # P(1, 2, 3 opacities)
_SUBTLE_P = 0.18                           # share of subtle (small, faint) nodules
_SUBTLE_SIGMA = (0.045, 0.09)              # Gaussian sigma, normalised units (1 = half side)
_SUBTLE_AMP = (0.12, 0.45)                 # log-uniform filled air fraction
_CONSOLIDATION_P = 0.3                     # share of consolidations among the others
_NODULE_SIGMA = (0.08, 0.18)
_NODULE_AMP = (0.6, 3.0)
_CONSOLIDATION_SIGMA = (0.1, 0.24)         # per axis
_CONSOLIDATION_AMP = (0.5, 2.5)
_MASK_LEVEL = 0.5                          # mask = opacity >= this fraction of its visible peak
_LUNG_DEPTH = (0.32, 0.42)                 # darkening of fully aerated lung
_VESSEL_AMP = (0.04, 0.09)                 # hilar vessel markings
_TEXTURE_AMP = (0.008, 0.02)               # mottled parenchymal texture (std)
_RIB_AMP = (0.04, 0.09)                    # rib shadows
_NOISE = (0.012, 0.035)                    # sensor noise std (output scale)


@dataclass(frozen=True)
class SyntheticXrays:
    """A batch of synthetic chest radiographs with labels and ground truth.

    Parameters
    ----------
    images : numpy.ndarray
        ``(N, S, S)`` ``uint8`` grayscale radiographs (0 = black air,
        255 = white bone / dense tissue).
    labels : numpy.ndarray
        ``(N,)`` ``uint8``; 0 = normal, 1 = abnormal.
    masks : numpy.ndarray
        ``(N, S, S)`` ``bool`` lesion pixels (the opacities clipped to the lung
        fields).  All ``False`` for normal images, never empty for abnormal
        ones.
    markers : numpy.ndarray
        ``(N,)`` ``bool``; whether the corner lead marker is drawn.
    """

    images: np.ndarray
    labels: np.ndarray
    masks: np.ndarray
    markers: np.ndarray

    def __len__(self) -> int:
        return int(self.labels.shape[0])


# ----------------------------------------------------------------------------
# Argument validation
# ----------------------------------------------------------------------------
def _check_size(size) -> int:
    if isinstance(size, bool) or not isinstance(size, Integral) or int(size) not in SYNTHETIC_SIZES:
        raise ValueError(f"size must be one of {SYNTHETIC_SIZES}, got {size!r}")
    return int(size)


def _check_count(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral) or int(value) < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    return int(value)


def _check_seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, Integral) or int(seed) < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def _check_unit(name: str, value, allow_none: bool = False):
    if value is None and allow_none:
        return None
    allowed = "None or a float in [0, 1]" if allow_none else "a float in [0, 1]"
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ValueError(f"{name} must be {allowed}, got {value!r}")
    value = float(value)
    if not 0.0 <= value <= 1.0:  # also rejects NaN
        raise ValueError(f"{name} must be {allowed}, got {value!r}")
    return value


# ----------------------------------------------------------------------------
# Marker geometry
# ----------------------------------------------------------------------------
def _marker_box(size: int) -> tuple[int, int, int, int]:
    """Pixel box ``(r0, r1, c0, c1)`` (half-open) of :data:`MARKER_CORNER`."""
    (fr0, fr1), (fc0, fc1) = MARKER_CORNER
    return (
        int(np.floor(fr0 * size)),
        int(np.ceil(fr1 * size)),
        int(np.floor(fc0 * size)),
        int(np.ceil(fc1 * size)),
    )


def marker_region(size: int) -> np.ndarray:
    """Pixel mask of the corner box that contains the lead marker.

    Parameters
    ----------
    size : int
        Image side length, one of :data:`SYNTHETIC_SIZES`.

    Returns
    -------
    numpy.ndarray
        ``(size, size)`` ``bool`` mask, ``True`` inside the marker box (the
        top-left corner, see :data:`MARKER_CORNER`).  The box lies outside the
        lung fields, so a heatmap peaking inside it points at the marker, not
        at pathology.

    Raises
    ------
    ValueError
        If ``size`` is not in :data:`SYNTHETIC_SIZES`.
    """
    size = _check_size(size)
    r0, r1, c0, c1 = _marker_box(size)
    region = np.zeros((size, size), dtype=bool)
    region[r0:r1, c0:c1] = True
    return region


def _marker_glyph(size: int) -> np.ndarray:
    """``(size, size)`` float32 glyph of an "L" lead marker inside the box."""
    r0, r1, c0, c1 = _marker_box(size)
    margin = max(1, int(round(size / 28)))        # keeps the blurred glyph in the box
    thick = max(1, int(round(size / 40)))
    gr0, gr1, gc0, gc1 = r0 + margin, r1 - margin, c0 + margin, c1 - margin
    glyph = np.zeros((size, size), dtype=np.float32)
    glyph[gr0:gr1, gc0:gc0 + thick] = 1.0          # vertical stroke
    glyph[gr1 - thick:gr1, gc0:gc1] = 1.0          # horizontal foot
    return glyph


# ----------------------------------------------------------------------------
# Random parameters
# ----------------------------------------------------------------------------
def _uniform(rng: np.random.Generator, lo: float, hi: float, n: int) -> np.ndarray:
    return rng.uniform(lo, hi, n).astype(np.float32)


def _draw_anatomy(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Per-image patient and acquisition parameters, each ``(n,)`` float32."""
    p = {
        # patient position / habitus
        "dx": np.clip(rng.normal(0.0, 0.035, n), -0.08, 0.08).astype(np.float32),
        "dy": np.clip(rng.normal(0.0, 0.035, n), -0.08, 0.08).astype(np.float32),
        "scale": _uniform(rng, 0.86, 1.0, n),
        "rot": np.deg2rad(np.clip(rng.normal(0.0, 3.0, n), -7.0, 7.0)).astype(np.float32),
        "lung_w": _uniform(rng, 0.9, 1.1, n),
        "lung_h": _uniform(rng, 0.92, 1.08, n),
        "heart_s": _uniform(rng, 0.85, 1.2, n),
        "heart_x": _uniform(rng, -0.04, 0.05, n),
        "dome_r": _uniform(rng, 0.36, 0.48, n),      # image-left hemidiaphragm
        "dome_l": _uniform(rng, 0.42, 0.54, n),      # image-right, lower
        # densities
        "tissue": _uniform(rng, 0.48, 0.6, n),
        "lung_depth": _uniform(rng, *_LUNG_DEPTH, n),
        "rib_amp": _uniform(rng, *_RIB_AMP, n),
        "rib_period": _uniform(rng, 0.17, 0.21, n),
        "rib_phase": _uniform(rng, 0.0, 1.0, n),
        "arib_phase": _uniform(rng, 0.0, 1.0, n),
        "vessel_amp": _uniform(rng, *_VESSEL_AMP, n),
        "texture_amp": _uniform(rng, *_TEXTURE_AMP, n),
        "nipple_amp": (rng.random(n) < 0.3) * rng.uniform(0.03, 0.09, n),
        "clav_tilt": _uniform(rng, -0.2, -0.05, n),
        # acquisition
        "contrast": _uniform(rng, 0.8, 1.2, n),
        "brightness": _uniform(rng, -0.07, 0.07, n),
        "gamma": _uniform(rng, 0.8, 1.25, n),
        "noise": _uniform(rng, *_NOISE, n),
        "marker_amp": _uniform(rng, 1.0, 1.3, n),       # > 1: survives the blur
    }
    p["nipple_amp"] = p["nipple_amp"].astype(np.float32)
    return p


def _log_uniform(rng: np.random.Generator, lo_hi, shape) -> np.ndarray:
    lo, hi = np.log(lo_hi[0]), np.log(lo_hi[1])
    return np.exp(rng.uniform(lo, hi, shape))


def _draw_lesions(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Per-image lesion parameters, each ``(n, 3)`` float32 (amp 0 = absent).

    Every lesion is one of three kinds: *subtle* (small, faint nodule that the
    lecture CNN mostly misses at 28x28), *nodule* or *consolidation* (larger,
    elongated, flat-topped patch).  ``amp`` is the filled fraction of the local
    air column at the lesion centre; values above 1 give a solid core.
    """
    k = 3
    count = rng.choice(3, size=n, p=_LESION_COUNT_P) + 1
    present = np.arange(k)[None, :] < count[:, None]
    kind = rng.random((n, k))
    subtle = kind < _SUBTLE_P
    consol = ~subtle & (kind < _SUBTLE_P + (1.0 - _SUBTLE_P) * _CONSOLIDATION_P)
    amp = np.where(subtle, _log_uniform(rng, _SUBTLE_AMP, (n, k)),
                   np.where(consol, _log_uniform(rng, _CONSOLIDATION_AMP, (n, k)),
                            _log_uniform(rng, _NODULE_AMP, (n, k))))
    s_round = np.where(subtle, rng.uniform(*_SUBTLE_SIGMA, (n, k)),
                       rng.uniform(*_NODULE_SIGMA, (n, k)))
    s_a = np.where(consol, rng.uniform(*_CONSOLIDATION_SIGMA, (n, k)), s_round)
    s_b = np.where(consol, rng.uniform(*_CONSOLIDATION_SIGMA, (n, k)), s_round)
    return {
        "amp": (amp * present).astype(np.float32),
        "sigma_a": s_a.astype(np.float32),
        "sigma_b": s_b.astype(np.float32),
        "theta": rng.uniform(0.0, np.pi, (n, k)).astype(np.float32),
        "power": np.where(consol, 2.0, 1.0).astype(np.float32),   # flat-topped patches
        "jitter": rng.uniform(-0.5, 0.5, (n, k, 2)).astype(np.float32),
    }


# ----------------------------------------------------------------------------
# Rendering
# ----------------------------------------------------------------------------
def _soft(x: np.ndarray, width: float) -> np.ndarray:
    """Linear ramp 0 -> 1 as ``x`` goes from ``-width/2`` to ``+width/2``."""
    return np.clip(x * (1.0 / width) + 0.5, 0.0, 1.0)


def _render_chunk(p, les, markers, labels, size, rng_tex, rng_les):
    """Render one chunk.

    Parameters
    ----------
    p, les : dict of numpy.ndarray
        Anatomy ``(c,)`` and lesion ``(c, 3)`` parameters of this chunk.
    markers, labels : numpy.ndarray
        ``(c,)`` bool marker flags and uint8 labels.
    size : int
        Image side ``S``.
    rng_tex, rng_les : numpy.random.Generator
        Streams for textures/noise and for lesion placement.

    Returns
    -------
    images : numpy.ndarray
        ``(c, S, S)`` uint8.
    masks : numpy.ndarray
        ``(c, S, S)`` bool lesion masks.
    lungs : numpy.ndarray
        ``(c, S, S)`` bool lung-field masks.
    """
    f32 = np.float32
    c = labels.shape[0]
    S = size
    px = f32(2.0 / S)                                    # pixel pitch, normalised units
    grid = ((np.arange(S, dtype=f32) + f32(0.5)) * px - f32(1.0))
    xg = grid[None, None, :]
    yg = grid[:, None][None]

    def col(name):
        return p[name][:, None, None]

    # Canonical (patient) coordinates: inverse of shift / rotation / scale.
    cos, sin, inv_s = np.cos(col("rot")), np.sin(col("rot")), 1.0 / col("scale")
    xs, ys = xg - col("dx"), yg - col("dy")
    X = (cos * xs + sin * ys) * inv_s
    Y = (cos * ys - sin * xs) * inv_s
    del xs, ys
    ax = np.abs(X)
    left = X > 0                                          # image-right = patient-left

    # Body outline (superellipse torso) and neck.
    body = _soft(1.0 - (np.abs(X * f32(1 / 0.84)) ** 3 + np.abs((Y - f32(0.45)) * f32(1 / 1.32)) ** 3), 0.3)
    neck = _soft(f32(0.21) - ax, 0.06) * _soft(f32(-0.45) - Y, 0.12)
    body = np.maximum(body, neck)

    # Lung fields: ellipses cut by domed hemidiaphragms.
    lx = (ax - f32(0.37)) / (f32(0.26) * col("lung_w"))
    ly = (Y - f32(0.12)) / (f32(0.76) * col("lung_h"))
    ell = lx * lx + ly * ly
    dome = np.where(left, col("dome_l"), col("dome_r"))
    dia = dome + f32(0.55) * ((ax - f32(0.36)) * f32(1 / 0.3)) ** 2
    lung = _soft(f32(1.0) - ell, 0.22) * _soft(dia - Y, 0.06)
    del lx, ly, ell, dia, dome

    # Heart (patient-left, image-right), reduces lung aeration where it overlaps.
    hx = (X - f32(0.12) - col("heart_x")) / (f32(0.3) * col("heart_s"))
    hy = (Y - f32(0.37)) / (f32(0.22) * col("heart_s"))
    heart = _soft(f32(1.0) - (hx * hx + hy * hy), 0.3)
    del hx, hy

    # ``air`` is the aerated fraction of the chest thickness: 1 in open lung,
    # reduced where the heart lies in front of / behind the lung.  The visible
    # lung field (lesion placement, mask clipping) is where most air remains.
    air = lung * (f32(1.0) - f32(0.8) * heart)
    lungs = (lung > 0.5) & (heart < 0.5)
    lungs &= ~marker_region(S)[None]   # guarantee (rarely needed): lungs never reach the marker
    raw = f32(0.04) + col("tissue") * body
    raw -= col("lung_depth") * air
    raw += f32(0.05) * heart * body

    # Trachea (dark) and spine (bright) in the mediastinum.
    raw -= f32(0.1) * _soft(f32(0.035) - ax, 0.03) * _soft(f32(-0.2) - Y, 0.1) * body
    raw += f32(0.05) * _soft(f32(0.06) - ax, 0.03) * body

    # Ribs: posterior arcs and fainter anterior ribs sloping the other way.
    period = col("rib_period")
    phi = (Y + f32(0.3) * ax - f32(1.0) * ax * ax) / period + col("rib_phase")
    ribs = (f32(0.5) + f32(0.5) * np.cos(f32(2 * np.pi) * phi)) ** 4
    phi = (Y - f32(0.5) * ax) / (period * f32(1.15)) + col("arib_phase")
    ribs += f32(0.45) * (f32(0.5) + f32(0.5) * np.cos(f32(2 * np.pi) * phi)) ** 4
    chest = _soft(f32(0.7) - ax, 0.1) * _soft(Y + f32(0.7), 0.1) * body
    raw += col("rib_amp") * ribs * (f32(0.3) + f32(0.7) * lung) * chest
    del phi, ribs

    # Clavicles.
    cy = f32(-0.62) + col("clav_tilt") * (ax - f32(0.1)) * f32(1 / 0.5)
    clav = np.exp(-((Y - cy) * f32(1 / 0.035)) ** 2) * _soft(f32(0.64) - ax, 0.06) * _soft(ax - f32(0.06), 0.06)
    raw += f32(0.12) * clav * body
    del cy, clav

    # Vessel markings radiating from the hila: a random angular profile per side,
    # fading with distance from the hilum.
    n_ang = 96
    prof = rng_tex.standard_normal((c, 2, n_ang), dtype=f32)
    prof = ndimage.gaussian_filter1d(prof, 0.7, axis=2, mode="wrap").reshape(c, 2 * n_ang)
    prof = (np.maximum(prof - f32(0.3), 0.0) * f32(2.0)) ** 2
    hx = ax - f32(0.18)
    hy = Y - f32(0.05)
    r = np.sqrt(hx * hx + hy * hy)
    ang = np.arctan2(hy, hx)
    idx = ((ang + f32(np.pi)) * f32(n_ang / (2 * np.pi))).astype(np.intp)
    np.minimum(idx, n_ang - 1, out=idx)
    idx += left * n_ang
    vess = np.take_along_axis(prof, idx.reshape(c, -1), axis=1).reshape(c, S, S)
    raw += col("vessel_amp") * vess * np.exp(-r * f32(1 / 0.28)) * air
    del hx, hy, r, ang, idx, vess

    # Mottled parenchymal texture (correlated noise, ~lesion-sized blobs).
    tex = rng_tex.standard_normal((c, S, S), dtype=f32)
    sig = 0.055 / float(px)
    tex = ndimage.gaussian_filter(tex, (0, sig, sig), mode="reflect", truncate=3.0)
    tex *= f32(1.0) / max(float(np.sqrt(1.0 / (4 * np.pi * sig * sig))), 1e-6)
    raw += col("texture_amp") * tex * air
    del tex

    # Bilateral nipple shadows (a classic nodule mimic) in some patients.
    nx = ax - f32(0.52)
    ny = Y - f32(0.5)
    raw += col("nipple_amp") * np.exp((nx * nx + ny * ny) * f32(-1 / (2 * 0.045 ** 2)))
    del nx, ny

    # Lesions (abnormal images only), drawn in pixel space inside the lung fields.
    masks = np.zeros((c, S, S), dtype=bool)
    ab = np.flatnonzero(labels == 1)
    if ab.size:
        lung_ab = lungs[ab].reshape(ab.size, -1)
        air_ab = air[ab]
        scale_ab = p["scale"][ab][:, None, None]
        add = np.zeros((ab.size, S, S), dtype=f32)
        for k in range(les["amp"].shape[1]):
            amp = les["amp"][ab, k]
            # Random lung pixel as the centre (every image has lung pixels).
            score = rng_les.random(lung_ab.shape, dtype=f32) + lung_ab
            flat = np.argmax(score, axis=1)
            ci, cj = np.divmod(flat, S)
            cx = (cj.astype(f32) + f32(0.5) + les["jitter"][ab, k, 0]) * px - f32(1.0)
            cy = (ci.astype(f32) + f32(0.5) + les["jitter"][ab, k, 1]) * px - f32(1.0)
            th = les["theta"][ab, k][:, None, None]
            u = xg - cx[:, None, None]
            v = yg - cy[:, None, None]
            a = (np.cos(th) * u + np.sin(th) * v) / (les["sigma_a"][ab, k][:, None, None] * scale_ab)
            b = (np.cos(th) * v - np.sin(th) * u) / (les["sigma_b"][ab, k][:, None, None] * scale_ab)
            q = f32(0.5) * (a * a + b * b)
            prof_k = np.exp(-(q ** les["power"][ab, k][:, None, None]))
            add += amp[:, None, None] * prof_k
            # Mask: the visible half-maximum contour (dense lesions saturate
            # at ``amp = 1``, so their visible core is wider than ``prof >= 0.5``).
            level = (_MASK_LEVEL * np.minimum(amp, 1.0) / np.maximum(amp, 1e-6))[:, None, None]
            hit = (prof_k >= level) & (amp > 0)[:, None, None]
            present = np.flatnonzero(amp > 0)
            hit[present, ci[present], cj[present]] = True
            masks[ab] |= hit
        # An opacity replaces air by soft tissue: ``amp`` is the filled
        # fraction of the local air column, saturating where lesions overlap.
        np.minimum(add, 1.0, out=add)
        raw[ab] += (col("lung_depth")[ab] * air_ab) * add
        masks[ab] &= lungs[ab]

    # Acquisition: exposure curve, lead marker, detector blur and sensor noise.
    img = (raw - f32(0.35)) * col("contrast") + f32(0.35) + col("brightness")
    np.clip(img, 0.0, 1.0, out=img)
    img **= col("gamma")
    if markers.any():
        # Lead blocks the beam: the glyph is (near) white whatever the
        # exposure.  It lies on the detector, so the patient pose does not move it.
        glyph = _marker_glyph(S)[None]
        mk = np.flatnonzero(markers)
        img[mk] = np.maximum(img[mk], glyph * p["marker_amp"][mk][:, None, None])
    blur = 0.45 * (S / 28) ** 0.7                        # pixels
    img = ndimage.gaussian_filter(img, (0, blur, blur), mode="nearest", truncate=3.0)
    img += col("noise") * rng_tex.standard_normal((c, S, S), dtype=f32)
    img = np.clip(img * f32(255.0) + f32(0.5), 0.0, 255.0).astype(np.uint8)
    return img, masks, lungs


def _generate(n, size, seedseq, abnormal_fraction, marker_strength, with_lungs=False):
    """Core generator on a :class:`numpy.random.SeedSequence`."""
    s_labels, s_anat, s_les, s_mark, s_tex = seedseq.spawn(5)
    rng_labels = np.random.default_rng(s_labels)
    n_abn = int(round(n * abnormal_fraction))
    labels = np.zeros(n, dtype=np.uint8)
    labels[rng_labels.permutation(n)[:n_abn]] = 1

    rng_mark = np.random.default_rng(s_mark)
    if marker_strength is None:
        markers = np.zeros(n, dtype=bool)
    else:
        agree = rng_mark.random(n) < marker_strength
        coin = rng_mark.random(n) < 0.5
        markers = np.where(agree, labels == 1, coin)

    anat = _draw_anatomy(np.random.default_rng(s_anat), n)
    rng_les = np.random.default_rng(s_les)
    les = _draw_lesions(rng_les, n)
    rng_tex = np.random.default_rng(s_tex)

    images = np.empty((n, size, size), dtype=np.uint8)
    masks = np.empty((n, size, size), dtype=bool)
    lungs = np.empty((n, size, size), dtype=bool) if with_lungs else None
    chunk = max(1, _CHUNK_PIXELS // (size * size))
    for start in range(0, n, chunk):
        sl = slice(start, min(n, start + chunk))
        img, msk, lng = _render_chunk(
            {k: v[sl] for k, v in anat.items()},
            {k: v[sl] for k, v in les.items()},
            markers[sl], labels[sl], size, rng_tex, rng_les,
        )
        images[sl] = img
        masks[sl] = msk
        if with_lungs:
            lungs[sl] = lng
    data = SyntheticXrays(images=images, labels=labels, masks=masks, markers=markers)
    return (data, lungs) if with_lungs else data


# ----------------------------------------------------------------------------
# Public API
# ----------------------------------------------------------------------------
def generate_chest_xrays(n, size=28, seed=0, abnormal_fraction=0.45, marker_strength=None) -> SyntheticXrays:
    """Generate ``n`` synthetic PA chest radiographs.

    Parameters
    ----------
    n : int
        Number of images (``>= 0``).
    size : int, default 28
        Image side ``S`` in pixels, one of :data:`SYNTHETIC_SIZES`.
    seed : int, default 0
        Non-negative seed; identical arguments give bit-identical output.
    abnormal_fraction : float, default 0.45
        Fraction of abnormal images in ``[0, 1]``; exactly
        ``round(n * abnormal_fraction)`` images are abnormal, in random order.
    marker_strength : float or None, default None
        ``None``: no lead marker is drawn.  A float ``s`` in ``[0, 1]``: each
        image's marker presence equals its label with probability ``s`` and is
        a fair coin otherwise, so ``P(marker == label) = (1 + s) / 2``
        (``s = 0``: independent of the label, ``s = 1``: identical to it).
        The random streams for anatomy and lesions do not depend on this
        argument, so changing it only adds or removes markers.

    Returns
    -------
    SyntheticXrays
        ``images`` ``(n, S, S)`` uint8, ``labels`` ``(n,)`` uint8,
        ``masks`` ``(n, S, S)`` bool, ``markers`` ``(n,)`` bool.

    Raises
    ------
    ValueError
        If an argument is outside its allowed values.
    """
    n = _check_count("n", n)
    size = _check_size(size)
    seed = _check_seed(seed)
    abnormal_fraction = _check_unit("abnormal_fraction", abnormal_fraction)
    marker_strength = _check_unit("marker_strength", marker_strength, allow_none=True)
    return _generate(n, size, np.random.SeedSequence(seed), abnormal_fraction, marker_strength)


def generate_splits(size=28, seed=0, n_train=8000, n_val=1000, n_test=2000,
                    marker_strength=None) -> dict[str, SyntheticXrays]:
    """Generate independent train / validation / test splits.

    Parameters
    ----------
    size : int, default 28
        Image side ``S`` in pixels, one of :data:`SYNTHETIC_SIZES`.
    seed : int, default 0
        Non-negative seed.  The three splits use independent random streams
        spawned from ``numpy.random.SeedSequence(seed)``.
    n_train, n_val, n_test : int
        Number of images per split (``>= 0``).
    marker_strength : float or None, default None
        Marker/label correlation for the ``'train'`` and ``'val'`` splits (see
        :func:`generate_chest_xrays`).  The ``'test'`` split always uses
        strength 0 when markers are enabled (markers on about half of the
        images, independent of the label), so a model that learned the marker
        shortcut fails on it.  ``None`` disables markers everywhere.

    Returns
    -------
    dict of str to SyntheticXrays
        Keys ``'train'``, ``'val'``, ``'test'``; every split has abnormal
        fraction 0.45.

    Raises
    ------
    ValueError
        If an argument is outside its allowed values.
    """
    size = _check_size(size)
    seed = _check_seed(seed)
    counts = {"train": _check_count("n_train", n_train), "val": _check_count("n_val", n_val),
              "test": _check_count("n_test", n_test)}
    marker_strength = _check_unit("marker_strength", marker_strength, allow_none=True)
    streams = np.random.SeedSequence(seed).spawn(3)
    out = {}
    for (name, count), ss in zip(counts.items(), streams):
        strength = marker_strength
        if name == "test" and marker_strength is not None:
            strength = 0.0
        out[name] = _generate(count, size, ss, 0.45, strength)
    return out
