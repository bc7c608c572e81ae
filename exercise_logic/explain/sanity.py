"""Sanity check of explanations: cascading model randomisation (Adebayo et al., 2018).

A map that explains the *model* must change when the model's weights are
destroyed. Starting from the output layer, the weighted layers of a **copy**
of the model are re-initialised one by one, top down, and each method's maps
are compared with its maps for the trained model:

- Spearman rank correlation of the pixel values (1 = same ranking);
- SSIM (structural similarity; 1 = identical). The maps are only 28 x 28, so
  SSIM uses a Gaussian window of sigma 1.5 truncated to 7 x 7 (not the usual
  11 x 11, which would leave an 18 x 18 valid area) and averages over the
  positions where the window fits inside the map.

A method whose maps stay similar after full randomisation shows the image
(edges, bright structures), not what the model learned. The caller's model is
never modified.

Two repairs of this test from Quantus 0.6 (Hedström et al., 2023, "Sanity
checks revisited"), both randomising bottom up (input layer first, as they
recommend) by default:

- *smooth MPRT*: each map is the mean over noisy copies of the image (Gaussian
  noise of std 0.1 x the image's value range; the last copy noise-free), so
  that the shattered-gradient noise of a method does not pass for sensitivity
  to the weights; then Spearman / SSIM as above.
- *efficient MPRT*: no similarity at all. It compares the complexity (the
  discrete entropy of a 100-bin histogram of the map) of the fully randomised
  model's map with the trained model's: the relative rise
  (H_random - H_trained) / H_trained should be large (a random model's
  explanation is noise). Only two models are explained.
"""
from __future__ import annotations

import dataclasses

import keras
import numpy as np
from scipy import ndimage, stats

from .api import cam_engine, check_methods
from ..streaming import as_images

SSIM_SIGMA = 1.5
SSIM_RADIUS = 3  # 7 x 7 window
SSIM_C1 = 0.01 ** 2  # (K1 * L)^2 with the maps' data range L = 1
SSIM_C2 = 0.03 ** 2


def spearman(first, second) -> np.ndarray:
    """Spearman rank correlation of each pair of maps.

    Parameters
    ----------
    first, second : array-like of float, shape (N, H, W)

    Returns
    -------
    ndarray of float64, shape (N,)
        In [-1, 1]; ties get their mean rank. NaN where a map is constant
        (e.g. all zero), whose ranking is undefined.
    """
    first, second = _pair(first, second)
    a = stats.rankdata(first.reshape(len(first), -1), axis=1)
    b = stats.rankdata(second.reshape(len(second), -1), axis=1)
    a -= a.mean(axis=1, keepdims=True)
    b -= b.mean(axis=1, keepdims=True)
    denominator = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, (a * b).sum(axis=1) / np.where(denominator > 0, denominator, 1), np.nan)


def ssim(first, second) -> np.ndarray:
    """Structural similarity (Wang et al., 2004) of each pair of maps in [0, 1].

    Parameters
    ----------
    first, second : array-like of float, shape (N, H, W), values in [0, 1]
        H and W at least 7.

    Returns
    -------
    ndarray of float64, shape (N,)
        Mean SSIM over the window positions inside the map (Gaussian window,
        sigma 1.5, 7 x 7; data range 1). 1 for identical maps.
    """
    first, second = _pair(first, second)
    if min(first.shape[1:]) < 2 * SSIM_RADIUS + 1:
        raise ValueError(f"maps must be at least {2 * SSIM_RADIUS + 1} pixels on each side for SSIM, "
                         f"got {first.shape[1:]}")

    def local_mean(x):
        return ndimage.gaussian_filter(x, sigma=(0, SSIM_SIGMA, SSIM_SIGMA), truncate=SSIM_RADIUS / SSIM_SIGMA)

    mu_a, mu_b = local_mean(first), local_mean(second)
    var_a = local_mean(first * first) - mu_a ** 2
    var_b = local_mean(second * second) - mu_b ** 2
    covariance = local_mean(first * second) - mu_a * mu_b
    index = ((2 * mu_a * mu_b + SSIM_C1) * (2 * covariance + SSIM_C2)
             / ((mu_a ** 2 + mu_b ** 2 + SSIM_C1) * (var_a + var_b + SSIM_C2)))
    inner = index[:, SSIM_RADIUS:-SSIM_RADIUS, SSIM_RADIUS:-SSIM_RADIUS]
    return inner.mean(axis=(1, 2))


def _pair(first, second):
    first = np.asarray(first, np.float64)
    second = np.asarray(second, np.float64)
    if first.ndim != 3 or first.shape != second.shape:
        raise ValueError(f"maps must be two arrays of the same shape (N, H, W), got {first.shape} "
                         f"and {second.shape}")
    return first, second


def weighted_layers(model, prefix="") -> list[tuple[str, keras.layers.Layer]]:
    """(path, layer) of every layer that owns weights, input to output; nested models expanded."""
    found = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            found += weighted_layers(layer, prefix + layer.name + "/")
        elif layer.weights:
            found.append((prefix + layer.name, layer))
    return found


def copy_model(model):
    """An independent copy of a built model: same architecture, layer names and weights."""
    clone = keras.models.clone_model(model)
    if not clone.built:
        clone.build(model.inputs[0].shape)
    clone.set_weights(model.get_weights())
    return clone


def randomise_layer(layer, seed: int) -> None:
    """Re-initialise a layer's weights in place with its own initialisers.

    A variable without a matching initialiser (e.g. batch-norm statistics)
    gets Gaussian noise with the variable's own standard deviation.
    """
    rng = np.random.default_rng(seed)
    for number, variable in enumerate(layer.weights):
        short = variable.name.rsplit("/", 1)[-1]
        initializer = getattr(layer, f"{short}_initializer", None)
        if initializer is not None:
            config = initializer.get_config()
            if "seed" in config:
                config["seed"] = int(seed * 1000 + number)
            value = type(initializer).from_config(config)(variable.shape, dtype=variable.dtype)
        else:
            current = np.asarray(variable)
            value = rng.normal(0.0, float(current.std()) or 1.0, current.shape)
        variable.assign(np.asarray(value, dtype=variable.dtype))


@dataclasses.dataclass
class CascadingMaps:
    """Each method's maps as the layers are randomised, top down.

    Attributes
    ----------
    layers : list of str
        ``layers[s]`` is the layer randomised at step s (with all the layers
        above it); step 0 is the trained model (``'none'``).
    maps : dict of str to ndarray of float32, shape (steps + 1, N, H, W)
    targets : ndarray of int32, shape (N,)
        The class explained at every step: the trained model's choice.
    """
    layers: list
    maps: dict
    targets: np.ndarray


ORDERS = ("top_down", "bottom_up")
SMOOTH_NOISE = 0.1  # Quantus' noise_magnitude: std as a fraction of each image's value range
ENTROPY_BINS = 100  # Quantus' discrete_entropy default


def smoothed_maps(engine, images, targets, samples: int, noise: float = SMOOTH_NOISE, seed: int = 0):
    """Each image's map averaged over ``samples`` copies, all but the last with Gaussian noise.

    The noise std is ``noise`` times the image's value range (Quantus'
    SmoothMPRT). All copies are explained in one batched call; ndarray of
    float32, shape (N, H, W).
    """
    images = np.asarray(images, np.float32)
    spread = images.max(axis=(1, 2, 3), keepdims=True) - images.min(axis=(1, 2, 3), keepdims=True)
    noisy = np.repeat(images[:, np.newaxis], samples, axis=1)
    jitter = np.random.default_rng(seed).standard_normal(noisy[:, :-1].shape).astype(np.float32)
    noisy[:, :-1] += noise * spread[:, np.newaxis] * jitter
    maps = engine.explain(noisy.reshape((-1,) + images.shape[1:]), np.repeat(targets, samples))[0]
    return maps.reshape((len(images), samples) + maps.shape[1:]).mean(axis=1)


def cascading_randomisation_maps(model, images, methods=("gradcam",), target=None, layer=None,
                                 seed: int = 0, max_steps=None, order: str = "top_down",
                                 smooth_samples: int = 1) -> CascadingMaps:
    """Maps of each method for the trained model and after each randomisation step.

    Parameters
    ----------
    model : keras.Model
        Left untouched: the randomisation works on a copy.
    images : array-like of float, shape (N, H, W, C)
        Or streamed images; all of them are explained at every step, so use a
        few (they are converted to float32 at once).
    methods : sequence of str
        Keys of :data:`exercise_logic.METHODS`.
    target : None, int or sequence of int
        As for :func:`exercise_logic.gradcam`; None explains the trained
        model's predicted class, and the same class is explained at every step.
    layer : str, optional
        The conv layer of the CAM methods (default the last).
    seed : int
        Seed of the re-initialisation.
    max_steps : int, optional
        Randomise only the first ``max_steps`` weighted layers of the order.
    order : {'top_down', 'bottom_up'}
        Output layer first (Adebayo et al.'s cascade) or input layer first
        (Quantus 0.6's recommendation).
    smooth_samples : int
        1: plain maps. More: each map is the mean over this many noisy copies
        (:func:`smoothed_maps`; smooth MPRT).

    Returns
    -------
    CascadingMaps
    """
    methods = check_methods(methods)
    if order not in ORDERS:
        raise ValueError(f"order must be one of {ORDERS}, got {order!r}")
    if isinstance(smooth_samples, bool) or not isinstance(smooth_samples, (int, np.integer)) or smooth_samples < 1:
        raise ValueError(f"smooth_samples must be a positive integer, got {smooth_samples!r}")
    images = np.asarray(as_images(images))  # a few images, explained again at every step
    copy = copy_model(model)
    cascade = weighted_layers(copy)
    if order == "top_down":
        cascade = cascade[::-1]
    if max_steps is not None:
        cascade = cascade[:max(0, int(max_steps))]
    # The engines read the copy's variables, so each compiles once for all steps.
    engines = {name: cam_engine(copy, layer, name) for name in methods}
    targets = engines[methods[0]].explain(images, target)[2]

    def maps_of(engine, step):
        if smooth_samples == 1:
            return engine.explain(images, targets)[0]
        return smoothed_maps(engine, images, targets, smooth_samples, seed=seed * 7919 + step)

    maps = {name: [maps_of(engine, 0)] for name, engine in engines.items()}
    for step, (_, randomised) in enumerate(cascade, start=1):
        randomise_layer(randomised, seed * 7919 + step)
        for name, engine in engines.items():
            maps[name].append(maps_of(engine, step))
    return CascadingMaps(["none"] + [path for path, _ in cascade],
                         {name: np.stack(stack) for name, stack in maps.items()}, targets)


@dataclasses.dataclass
class SanityResult:
    """Similarity of each method's maps to its trained-model maps, step by step.

    Attributes
    ----------
    layers : list of str
        Layer randomised at each step (step 0: ``'none'``).
    spearman, ssim : dict of str to ndarray of float64, shape (steps + 1, N)
        Per method, step and image. Step 0 is 1 by construction.
    """
    layers: list
    spearman: dict
    ssim: dict

    @property
    def methods(self) -> list[str]:
        return list(self.spearman)

    def rows(self) -> list[dict]:
        """One row per (method, step): mean Spearman and SSIM over the images (NaN ignored)."""
        table = []
        for name in self.methods:
            for step, path in enumerate(self.layers):
                table.append({"method": name, "step": step, "layer": path,
                              "spearman": _nanmean(self.spearman[name][step]),
                              "ssim": _nanmean(self.ssim[name][step])})
        return table

    def final(self) -> dict:
        """Per method, (mean Spearman, mean SSIM) after full randomisation."""
        return {name: (_nanmean(self.spearman[name][-1]), _nanmean(self.ssim[name][-1]))
                for name in self.methods}

    def to_markdown(self) -> str:
        """Mean Spearman / SSIM, one row per method, one column per step."""
        header = "| method | " + " | ".join(f"{step}: {path}" for step, path in enumerate(self.layers)) + " |"
        lines = [header, "|" + "---|" * (len(self.layers) + 1)]
        for name in self.methods:
            cells = [f"{_nanmean(self.spearman[name][s]):.2f} / {_nanmean(self.ssim[name][s]):.2f}"
                     for s in range(len(self.layers))]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        return "\n".join(lines) + "\n\n(cells: Spearman / SSIM, mean over images)"


def _nanmean(values) -> float:
    values = np.asarray(values, np.float64)
    return float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")


def similarity_to_original(cascade: CascadingMaps) -> SanityResult:
    """Spearman and SSIM of every step's maps with step 0's, per method."""
    spearman_by_method, ssim_by_method = {}, {}
    for name, stack in cascade.maps.items():
        reference = np.broadcast_to(stack[0], stack.shape)
        flat_shape = (-1,) + stack.shape[2:]
        spearman_by_method[name] = spearman(reference.reshape(flat_shape),
                                            stack.reshape(flat_shape)).reshape(stack.shape[:2])
        ssim_by_method[name] = ssim(reference.reshape(flat_shape),
                                    stack.reshape(flat_shape)).reshape(stack.shape[:2])
    return SanityResult(list(cascade.layers), spearman_by_method, ssim_by_method)


def sanity_check(model, images, methods=("gradcam",), target=None, layer=None, seed: int = 0,
                 max_steps=None) -> SanityResult:
    """Cascading randomisation: how similar each method's maps stay, step by step.

    Parameters are those of :func:`cascading_randomisation_maps`.

    Returns
    -------
    SanityResult
        ``result.final()`` gives the similarity at full randomisation; a
        faithful method scores near 0 there.
    """
    return similarity_to_original(cascading_randomisation_maps(model, images, methods, target, layer,
                                                               seed, max_steps))


def smooth_mprt(model, images, methods=("gradcam",), target=None, layer=None, seed: int = 0,
                samples: int = 50, order: str = "bottom_up", max_steps=None) -> SanityResult:
    """Smooth MPRT (Hedström et al., 2023): the cascade on noise-averaged maps.

    Parameters are those of :func:`cascading_randomisation_maps`; ``samples``
    noisy copies per map (Quantus' default 50; the last one noise-free).

    Returns
    -------
    SanityResult
        Spearman / SSIM of the smoothed maps with the trained model's smoothed
        maps; near 0 at full randomisation for a method that depends on the weights.
    """
    return similarity_to_original(cascading_randomisation_maps(
        model, images, methods, target, layer, seed, max_steps, order, samples))


def discrete_entropy(maps, bins: int = ENTROPY_BINS) -> np.ndarray:
    """Entropy (nats) of a ``bins``-bin histogram of each map over its own range (Quantus').

    Parameters
    ----------
    maps : array-like of float, shape (N, H, W)

    Returns
    -------
    ndarray of float64, shape (N,)
        0 for a constant map (one bin); at most log(bins).
    """
    flat = np.asarray(maps, np.float64).reshape(len(maps), -1)
    low, high = flat.min(axis=1, keepdims=True), flat.max(axis=1, keepdims=True)
    span = np.where(high > low, high - low, 1.0)
    which = np.clip(((flat - low) / span * bins).astype(np.int64), 0, bins - 1)  # max -> last bin
    counts = np.zeros((len(flat), bins))
    np.add.at(counts, (np.arange(len(flat))[:, np.newaxis], which), 1)
    share = counts / flat.shape[1]
    with np.errstate(divide="ignore", invalid="ignore"):
        return -np.sum(np.where(share > 0, share * np.log(share), 0.0), axis=1)


@dataclasses.dataclass
class EfficientMPRT:
    """Complexity of each method's maps for the trained and the fully randomised model.

    Attributes
    ----------
    trained, randomised : dict of str to ndarray of float64, shape (N,)
        Discrete entropy of each map.
    layers : list of str
        The layers randomised (all weighted layers).
    """
    trained: dict
    randomised: dict
    layers: list

    def rise(self, method: str) -> np.ndarray:
        """(H_random - H_trained) / H_trained per image (higher = better); NaN where H_trained is 0."""
        trained, randomised = self.trained[method], self.randomised[method]
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(trained > 0, (randomised - trained) / np.where(trained > 0, trained, 1), np.nan)

    def final(self) -> dict:
        """Per method, the mean relative rise in complexity over the images (NaN ignored)."""
        return {name: _nanmean(self.rise(name)) for name in self.trained}


def efficient_mprt(model, images, methods=("gradcam",), target=None, layer=None, seed: int = 0,
                   bins: int = ENTROPY_BINS) -> EfficientMPRT:
    """Efficient MPRT (Hedström et al., 2023): the rise in map complexity under full randomisation.

    Parameters are those of :func:`cascading_randomisation_maps`; ``bins``
    histogram bins of :func:`discrete_entropy`.

    Returns
    -------
    EfficientMPRT
    """
    methods = check_methods(methods)
    images = np.asarray(as_images(images))
    copy = copy_model(model)
    engines = {name: cam_engine(copy, layer, name) for name in methods}
    targets = engines[methods[0]].explain(images, target)[2]
    trained = {name: discrete_entropy(engine.explain(images, targets)[0], bins) for name, engine in engines.items()}
    cascade = weighted_layers(copy)
    for step, (_, randomised) in enumerate(cascade, start=1):  # bottom up, every layer
        randomise_layer(randomised, seed * 7919 + step)
    randomised = {name: discrete_entropy(engine.explain(images, targets)[0], bins)
                  for name, engine in engines.items()}
    return EfficientMPRT(trained, randomised, [path for path, _ in cascade])
