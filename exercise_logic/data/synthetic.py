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
    "lesion_xray",
    "marker_region",
]

# Bump whenever the images change for the same arguments: trained models cached
# for an older generator are then retrained instead of silently reused.
# (Adding 224 px left the images of the other sizes unchanged.)
GENERATOR_VERSION = 1
#: Image side lengths (pixels) the generator supports: MedMNIST+'s sizes.
SYNTHETIC_SIZES = (28, 64, 128, 224)

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
# Rendering: one painter per structure
# ----------------------------------------------------------------------------
# Coordinates are normalised (1 = half the image side, y grows downwards); the
# patient frame undoes each image's shift, rotation and scale, so anatomy is
# drawn in canonical patient coordinates while lesions, the marker and the
# detector live in image coordinates. Each painter returns its contribution on
# the linear attenuation scale, with the float32 operations in the order that
# GENERATOR_VERSION 1 fixed (changing that order changes the images' bits).
f32 = np.float32


@dataclass(frozen=True)
class _Frame:
    """The pixel grid of one chunk of ``c`` images of side ``S``.

    Attributes
    ----------
    pitch : numpy.float32
        Pixel pitch in normalised units (``2 / S``).
    x_image, y_image : numpy.ndarray
        ``(1, 1, S)`` and ``(1, S, 1)`` float32 pixel centres in image coordinates.
    x, y : numpy.ndarray
        ``(c, S, S)`` float32 patient coordinates of every pixel.
    lateral : numpy.ndarray
        ``(c, S, S)`` float32 distance from the midline, ``|x|``.
    patient_left : numpy.ndarray
        ``(c, S, S)`` bool, the image-right half (the patient's left in a PA view).
    """
    pitch: np.float32
    x_image: np.ndarray
    y_image: np.ndarray
    x: np.ndarray
    y: np.ndarray
    lateral: np.ndarray
    patient_left: np.ndarray

    @property
    def size(self) -> int:
        return self.x.shape[-1]


def _patient_frame(size: int, dx, dy, rotation, scale) -> _Frame:
    """Image and patient coordinates for per-image shift, rotation and scale ``(c, 1, 1)``."""
    pitch = f32(2.0 / size)
    grid = ((np.arange(size, dtype=f32) + f32(0.5)) * pitch - f32(1.0))
    x_image = grid[None, None, :]
    y_image = grid[:, None][None]
    cos, sin, inverse_scale = np.cos(rotation), np.sin(rotation), 1.0 / scale
    shifted_x, shifted_y = x_image - dx, y_image - dy
    x = (cos * shifted_x + sin * shifted_y) * inverse_scale
    y = (cos * shifted_y - sin * shifted_x) * inverse_scale
    return _Frame(pitch, x_image, y_image, x, y, np.abs(x), x > 0)


def _soft(x: np.ndarray, width: float) -> np.ndarray:
    """Linear ramp 0 -> 1 as ``x`` goes from ``-width/2`` to ``+width/2``."""
    return np.clip(x * (1.0 / width) + 0.5, 0.0, 1.0)


def _body(frame: _Frame, half_width=0.84, half_height=1.32, centre_y=0.45, edge=0.3,
          neck_half_width=0.21, neck_edge=0.06, neck_base=-0.45, neck_fade=0.12) -> np.ndarray:
    """Soft-tissue body in [0, 1]: a superellipse torso and the neck above it."""
    torso = _soft(1.0 - (np.abs(frame.x * f32(1 / half_width)) ** 3
                         + np.abs((frame.y - f32(centre_y)) * f32(1 / half_height)) ** 3), edge)
    neck = _soft(f32(neck_half_width) - frame.lateral, neck_edge) * _soft(f32(neck_base) - frame.y, neck_fade)
    return np.maximum(torso, neck)


def _lung_ellipses(frame: _Frame, width, height, centre_x=0.37, centre_y=0.12, half_width=0.26,
                   half_height=0.76, edge=0.22) -> np.ndarray:
    """Two elliptic lung fields in [0, 1], scaled per image by ``width`` and ``height``."""
    across = (frame.lateral - f32(centre_x)) / (f32(half_width) * width)
    along = (frame.y - f32(centre_y)) / (f32(half_height) * height)
    return _soft(f32(1.0) - (across * across + along * along), edge)


def _diaphragm(frame: _Frame, dome_left, dome_right, curvature=0.55, apex_x=0.36, span=0.3,
               edge=0.06) -> np.ndarray:
    """1 above the domed hemidiaphragms (their apex height per side), 0 below: cuts the lungs."""
    dome = np.where(frame.patient_left, dome_left, dome_right)
    outline = dome + f32(curvature) * ((frame.lateral - f32(apex_x)) * f32(1 / span)) ** 2
    return _soft(outline - frame.y, edge)


def _heart(frame: _Frame, shift_x, heart_scale, centre_x=0.12, centre_y=0.37, half_width=0.3,
           half_height=0.22, edge=0.3) -> np.ndarray:
    """Heart shadow in [0, 1], on the patient's left (image right)."""
    across = (frame.x - f32(centre_x) - shift_x) / (f32(half_width) * heart_scale)
    along = (frame.y - f32(centre_y)) / (f32(half_height) * heart_scale)
    return _soft(f32(1.0) - (across * across + along * along), edge)


def _trachea(frame: _Frame, body, darkening=0.1, half_width=0.035, edge=0.03, bottom=-0.2,
             fade=0.1) -> np.ndarray:
    """Darkening by the air column of the trachea, above the carina."""
    return (f32(darkening) * _soft(f32(half_width) - frame.lateral, edge)
            * _soft(f32(bottom) - frame.y, fade) * body)


def _spine(frame: _Frame, body, density=0.05, half_width=0.06, edge=0.03) -> np.ndarray:
    """The spine, a bright band behind the mediastinum."""
    return f32(density) * _soft(f32(half_width) - frame.lateral, edge) * body


def _ribs(frame: _Frame, amplitude, period, phase, anterior_phase, lung, body, slope=0.3,
          arch=1.0, sharpness=4, anterior_slope=0.5, anterior_stretch=1.15, anterior_weight=0.45,
          outside_lung=0.3, chest_half_width=0.7, chest_top=-0.7, edge=0.1) -> np.ndarray:
    """Curved posterior rib shadows and fainter anterior ribs sloping the other way.

    Ribs are fainter outside the lung fields (``outside_lung``) and end at the
    chest wall; their crossings make small bright spots.
    """
    lateral, y = frame.lateral, frame.y
    turns = (y + f32(slope) * lateral - f32(arch) * lateral * lateral) / period + phase
    ribs = (f32(0.5) + f32(0.5) * np.cos(f32(2 * np.pi) * turns)) ** sharpness
    turns = (y - f32(anterior_slope) * lateral) / (period * f32(anterior_stretch)) + anterior_phase
    ribs += f32(anterior_weight) * (f32(0.5) + f32(0.5) * np.cos(f32(2 * np.pi) * turns)) ** sharpness
    chest = _soft(f32(chest_half_width) - lateral, edge) * _soft(y - f32(chest_top), edge) * body
    return amplitude * ribs * (f32(outside_lung) + f32(1 - outside_lung) * lung) * chest


def _clavicles(frame: _Frame, tilt, body, density=0.12, height=-0.62, inner_x=0.1, tilt_span=0.5,
               thickness=0.035, outer_end=0.64, inner_end=0.06, edge=0.06) -> np.ndarray:
    """Two clavicles, tilted per image, across the top of the chest."""
    lateral = frame.lateral
    centre = f32(height) + tilt * (lateral - f32(inner_x)) * f32(1 / tilt_span)
    bone = (np.exp(-((frame.y - centre) * f32(1 / thickness)) ** 2)
            * _soft(f32(outer_end) - lateral, edge) * _soft(lateral - f32(inner_end), edge))
    return f32(density) * bone * body


def _vessels(frame: _Frame, amplitude, air, rng, angles=96, smoothing=0.7, threshold=0.3, gain=2.0,
             hilum_x=0.18, hilum_y=0.05, reach=0.28) -> np.ndarray:
    """Vessel markings radiating from the hila: a random angular profile per side,
    fading with the distance from the hilum, only in aerated lung."""
    count, size = frame.x.shape[0], frame.size
    profile = rng.standard_normal((count, 2, angles), dtype=f32)
    profile = ndimage.gaussian_filter1d(profile, smoothing, axis=2, mode="wrap").reshape(count, 2 * angles)
    profile = (np.maximum(profile - f32(threshold), 0.0) * f32(gain)) ** 2
    from_hilum_x = frame.lateral - f32(hilum_x)
    from_hilum_y = frame.y - f32(hilum_y)
    radius = np.sqrt(from_hilum_x * from_hilum_x + from_hilum_y * from_hilum_y)
    angle = np.arctan2(from_hilum_y, from_hilum_x)
    bin_index = ((angle + f32(np.pi)) * f32(angles / (2 * np.pi))).astype(np.intp)
    np.minimum(bin_index, angles - 1, out=bin_index)
    bin_index += frame.patient_left * angles
    vessels = np.take_along_axis(profile, bin_index.reshape(count, -1), axis=1).reshape(count, size, size)
    return amplitude * vessels * np.exp(-radius * f32(1 / reach)) * air


def _texture(frame: _Frame, amplitude, air, rng, blob=0.055) -> np.ndarray:
    """Mottled parenchymal texture: unit-variance correlated noise with blobs of
    about a lesion's size (``blob``), only in aerated lung."""
    count, size = frame.x.shape[0], frame.size
    texture = rng.standard_normal((count, size, size), dtype=f32)
    sigma = blob / float(frame.pitch)
    texture = ndimage.gaussian_filter(texture, (0, sigma, sigma), mode="reflect", truncate=3.0)
    texture *= f32(1.0) / max(float(np.sqrt(1.0 / (4 * np.pi * sigma * sigma))), 1e-6)
    return amplitude * texture * air


def _nipples(frame: _Frame, amplitude, lateral_offset=0.52, height=0.5, radius=0.045) -> np.ndarray:
    """Bilateral nipple shadows (a classic nodule mimic); amplitude 0 in most patients."""
    across = frame.lateral - f32(lateral_offset)
    along = frame.y - f32(height)
    return amplitude * np.exp((across * across + along * along) * f32(-1 / (2 * radius ** 2)))


def _lesions(frame: _Frame, lesions, scale, visible_lungs, rng):
    """Opacities of abnormal images and their masks, in image coordinates.

    Parameters
    ----------
    lesions : dict of numpy.ndarray
        Lesion parameters ``(a, 3)`` (``amp`` 0 = absent; ``jitter`` ``(a, 3, 2)``).
    scale : numpy.ndarray
        ``(a, 1, 1)`` patient scale: lesions shrink with the patient.
    visible_lungs : numpy.ndarray
        ``(a, S, S)`` bool; every lesion is centred on a random visible lung pixel.

    Returns
    -------
    filled : numpy.ndarray
        ``(a, S, S)`` float32 filled fraction of the local air column in [0, 1]
        (overlapping lesions saturate at 1).
    masks : numpy.ndarray
        ``(a, S, S)`` bool: each lesion's visible half-maximum contour and its
        centre pixel (not yet clipped to the lungs).
    """
    count, size = visible_lungs.shape[0], frame.size
    lung_pixels = visible_lungs.reshape(count, -1)
    filled = np.zeros((count, size, size), dtype=f32)
    masks = np.zeros((count, size, size), dtype=bool)
    pitch = frame.pitch
    for slot in range(lesions["amp"].shape[1]):
        amp = lesions["amp"][:, slot]
        # A random lung pixel as the centre (every image has lung pixels).
        score = rng.random(lung_pixels.shape, dtype=f32) + lung_pixels
        row, column = np.divmod(np.argmax(score, axis=1), size)
        centre_x = (column.astype(f32) + f32(0.5) + lesions["jitter"][:, slot, 0]) * pitch - f32(1.0)
        centre_y = (row.astype(f32) + f32(0.5) + lesions["jitter"][:, slot, 1]) * pitch - f32(1.0)
        theta = lesions["theta"][:, slot][:, None, None]
        u = frame.x_image - centre_x[:, None, None]
        v = frame.y_image - centre_y[:, None, None]
        a = (np.cos(theta) * u + np.sin(theta) * v) / (lesions["sigma_a"][:, slot][:, None, None] * scale)
        b = (np.cos(theta) * v - np.sin(theta) * u) / (lesions["sigma_b"][:, slot][:, None, None] * scale)
        profile = np.exp(-((f32(0.5) * (a * a + b * b)) ** lesions["power"][:, slot][:, None, None]))
        filled += amp[:, None, None] * profile
        # Mask: the visible half-maximum contour (dense lesions saturate at
        # ``amp = 1``, so their visible core is wider than ``profile >= 0.5``).
        level = (_MASK_LEVEL * np.minimum(amp, 1.0) / np.maximum(amp, 1e-6))[:, None, None]
        hit = (profile >= level) & (amp > 0)[:, None, None]
        present = np.flatnonzero(amp > 0)
        hit[present, row[present], column[present]] = True
        masks |= hit
    np.minimum(filled, 1.0, out=filled)
    return filled, masks


def _exposure(attenuation, contrast, brightness, gamma, pivot=0.35) -> np.ndarray:
    """The film response: contrast around ``pivot``, brightness, clipping to [0, 1], gamma."""
    image = (attenuation - f32(pivot)) * contrast + f32(pivot) + brightness
    np.clip(image, 0.0, 1.0, out=image)
    image **= gamma
    return image


def _draw_marker(image, markers, amplitude) -> None:
    """The lead "L" marker, in place: lead blocks the beam, so the glyph is
    (near) white whatever the exposure; it lies on the detector, so the
    patient pose does not move it."""
    if markers.any():
        glyph = _marker_glyph(image.shape[-1])[None]
        marked = np.flatnonzero(markers)
        image[marked] = np.maximum(image[marked], glyph * amplitude[marked][:, None, None])


def _detector(image, noise, rng, blur_at_28=0.45, blur_growth=0.7) -> np.ndarray:
    """Detector blur (wider in pixels at larger sizes), sensor noise and 8-bit quantisation."""
    count, size = image.shape[0], image.shape[-1]
    blur = blur_at_28 * (size / 28) ** blur_growth  # pixels
    image = ndimage.gaussian_filter(image, (0, blur, blur), mode="nearest", truncate=3.0)
    image += noise * rng.standard_normal((count, size, size), dtype=f32)
    return np.clip(image * f32(255.0) + f32(0.5), 0.0, 255.0).astype(np.uint8)


def _render_chunk(anatomy, lesions, markers, labels, size, rng_texture, rng_lesions):
    """Render one chunk of ``c`` images.

    Parameters
    ----------
    anatomy, lesions : dict of numpy.ndarray
        Anatomy ``(c,)`` and lesion ``(c, 3)`` parameters of this chunk.
    markers, labels : numpy.ndarray
        ``(c,)`` bool marker flags and uint8 labels.
    size : int
        Image side ``S``.
    rng_texture, rng_lesions : numpy.random.Generator
        Streams for vessels, texture and noise, and for lesion placement.

    Returns
    -------
    images : numpy.ndarray
        ``(c, S, S)`` uint8.
    masks : numpy.ndarray
        ``(c, S, S)`` bool lesion masks.
    lungs : numpy.ndarray
        ``(c, S, S)`` bool visible lung fields.
    """
    p = {name: values[:, None, None] for name, values in anatomy.items()}
    frame = _patient_frame(size, p["dx"], p["dy"], p["rot"], p["scale"])
    body = _body(frame)
    lung = _lung_ellipses(frame, p["lung_w"], p["lung_h"]) * _diaphragm(frame, p["dome_l"], p["dome_r"])
    heart = _heart(frame, p["heart_x"], p["heart_s"])

    # ``air`` is the aerated fraction of the chest thickness: 1 in open lung,
    # reduced where the heart lies in front of / behind the lung. The visible
    # lung field (lesion placement, mask clipping) is where most air remains;
    # it never reaches the marker's corner (rarely needed, but guaranteed).
    air = lung * (f32(1.0) - f32(0.8) * heart)
    lungs = (lung > 0.5) & (heart < 0.5)
    lungs &= ~marker_region(size)[None]

    attenuation = f32(0.04) + p["tissue"] * body   # air outside the patient, soft tissue
    attenuation -= p["lung_depth"] * air
    attenuation += f32(0.05) * heart * body
    attenuation -= _trachea(frame, body)
    attenuation += _spine(frame, body)
    attenuation += _ribs(frame, p["rib_amp"], p["rib_period"], p["rib_phase"], p["arib_phase"], lung, body)
    attenuation += _clavicles(frame, p["clav_tilt"], body)
    attenuation += _vessels(frame, p["vessel_amp"], air, rng_texture)
    attenuation += _texture(frame, p["texture_amp"], air, rng_texture)
    attenuation += _nipples(frame, p["nipple_amp"])

    masks = np.zeros(lungs.shape, dtype=bool)
    abnormal = np.flatnonzero(labels == 1)
    if abnormal.size:
        filled, lesion_masks = _lesions(frame, {name: values[abnormal] for name, values in lesions.items()},
                                        p["scale"][abnormal], lungs[abnormal], rng_lesions)
        # An opacity replaces air by soft tissue in the filled fraction of the air column.
        attenuation[abnormal] += (p["lung_depth"][abnormal] * air[abnormal]) * filled
        masks[abnormal] = lesion_masks & lungs[abnormal]

    image = _exposure(attenuation, p["contrast"], p["brightness"], p["gamma"])
    _draw_marker(image, markers, anatomy["marker_amp"])
    return _detector(image, p["noise"], rng_texture), masks, lungs


def _generate(n, size, seedseq, abnormal_fraction, marker_strength, with_lungs=False,
              packed_masks=False):
    """Core generator on a :class:`numpy.random.SeedSequence`.

    ``packed_masks`` stores the masks with :func:`numpy.packbits` along the last
    axis, chunk by chunk, so the full boolean masks never exist at once.
    """
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
    masks = np.empty((n, size, (size + 7) // 8), np.uint8) if packed_masks else np.empty((n, size, size), bool)
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
        masks[sl] = np.packbits(msk, axis=-1) if packed_masks else msk
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
                    marker_strength=None, packed_masks=False) -> dict[str, SyntheticXrays]:
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
    packed_masks : bool, default False
        Store each split's masks bit-packed, ``numpy.packbits(masks, axis=-1)``
        of shape ``(N, S, ceil(S / 8))`` uint8 (an eighth of the memory; the
        loader's :class:`~exercise_logic.data.lazy_arrays.PackedMasks` unpacks
        them on access).

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
        out[name] = _generate(count, size, ss, 0.45, strength, packed_masks=packed_masks)
    return out


def lesion_xray(height, width, seed=0) -> tuple[np.ndarray, np.ndarray]:
    """One abnormal radiograph shaped like a model's input, with its lesion mask: a picture for feedback.

    Drawn at 64 px and resized (bilinear; the mask by nearest neighbour), so
    any input size, square or not, gets a recognisable chest X-ray.

    Parameters
    ----------
    height, width : int
        The model's input size (>= 4).
    seed : int, default 0

    Returns
    -------
    image : ndarray of float32, shape (1, height, width, 3)
        Values in [0, 1], the grey image repeated in three channels (a model input).
    mask : ndarray of bool, shape (height, width)
        The lesion pixels; never empty.
    """
    height, width = int(height), int(width)
    if min(height, width) < 4:
        raise ValueError(f"height and width must be at least 4, got {(height, width)}")
    from PIL import Image
    data = generate_chest_xrays(1, size=64, seed=_check_seed(seed), abnormal_fraction=1.0)
    grey = Image.fromarray(data.images[0]).resize((width, height), Image.Resampling.BILINEAR)
    mask = Image.fromarray(data.masks[0]).resize((width, height), Image.Resampling.NEAREST)
    mask = np.asarray(mask, bool)
    if not mask.any():   # a tiny lesion can vanish when shrunk: keep its centre
        rows, cols = np.nonzero(data.masks[0])
        mask[int(rows.mean() * height / 64), int(cols.mean() * width / 64)] = True
    image = np.asarray(grey, np.float32) / 255.0
    return np.repeat(image[np.newaxis, ..., np.newaxis], 3, axis=-1), mask
