"""Methods x metrics: one table that scores every explanation method on the synthetic set.

For a binary model and a split with lesion masks, each method explains the
*abnormal* class on the true positives (abnormal images the model calls
abnormal) and is scored by

- the pointing game and energy-in-mask (:mod:`.localisation`),
- deletion and insertion AUC and ROAD's mean MoRF / LeRF probability
  (:mod:`.faithfulness`),
- the Spearman / SSIM similarity of its maps after full cascading
  randomisation of the model (:mod:`.sanity`; lower = the method depends on
  the weights, as it should), the same Spearman for smooth MPRT (noise-averaged
  maps, bottom-up randomisation) and efficient MPRT's relative rise in map
  entropy (higher = better).

A last row, ``random``, scores uniform random maps on the same images: the
chance level that each method must beat.

The images are scored one batch at a time (each method's maps, their scores,
then the next batch), so a streamed split of any image size is scored in the
memory of one batch.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from ..data.datasets import ABNORMAL
from ..evaluation import predict_proba
from ..streaming import image_batches
from .faithfulness import deletion_insertion, road
from .localisation import energy_in_mask, pointing_game
from .api import METHODS, cam_engine, check_methods
from .sanity import efficient_mprt, sanity_check, smooth_mprt

RANDOM = "random"  # the reference row of uniform random maps
SCORE_BATCH = 256  # true positives scored together (for images up to 64 px; fewer for larger)
PER_IMAGE = ("pointing", "energy", "deletion_auc", "insertion_auc", "road_morf", "road_lerf")
COLUMNS = PER_IMAGE + ("sanity_spearman", "sanity_ssim", "smooth_mprt_spearman", "efficient_mprt_rise")
HEADERS = ("pointing game (TP)", "energy in mask", "deletion AUC (lower better)",
           "insertion AUC (higher better)", "ROAD MoRF (lower better)", "ROAD LeRF (higher better)",
           "Spearman at full rand.", "SSIM at full rand.", "smooth MPRT Spearman (lower better)",
           "eMPRT entropy rise (higher better)")


@dataclasses.dataclass
class Scorecard:
    """Per-method scores (means over images).

    Attributes
    ----------
    rows : list of dict
        One dict per method: ``method`` and the keys of :data:`COLUMNS`
        (floats; NaN where not computed).
    n_images : int
        True positives scored for localisation and faithfulness.
    n_sanity : int
        Images used for the sanity check and efficient MPRT (0 = skipped).
    n_smooth : int
        Images used for smooth MPRT (0 = skipped).
    """
    rows: list
    n_images: int
    n_sanity: int
    n_smooth: int = 0

    def row(self, method: str) -> dict:
        for row in self.rows:
            if row["method"] == method:
                return row
        raise KeyError(method)

    def to_markdown(self) -> str:
        lines = ["| method | " + " | ".join(HEADERS) + " |", "|---|" + "---:|" * len(HEADERS)]
        for row in self.rows:
            lines.append(f"| {row['method']} | " + " | ".join(
                "n/a" if np.isnan(row[key]) else f"{row[key]:.3f}" for key in COLUMNS) + " |")
        return "\n".join(lines)


def true_positives(model, split, threshold: float = 0.5) -> np.ndarray:
    """Indices of abnormal images of ``split`` that a single-sigmoid ``model`` calls abnormal."""
    if int(model.outputs[0].shape[-1]) != 1:
        raise ValueError("the scorecard needs a binary model with one sigmoid output "
                         "(normal / abnormal), such as those trained on the synthetic set")
    abnormal = predict_proba(model, split.images)[:, ABNORMAL]
    return np.flatnonzero((np.asarray(split.labels).ravel() == ABNORMAL) & (abnormal >= threshold))


def method_scorecard(model, split, methods=None, max_images=None, layer=None, steps: int = 16,
                     sanity_images: int = 64, tolerance=None, seed: int = 0,
                     include_random: bool = True, smooth_images: int = 16, smooth_samples: int = 16) -> Scorecard:
    """Score each method on the true positives of a split with lesion masks.

    Parameters
    ----------
    model : keras.Model
        Binary (one sigmoid output) classifier.
    split : exercise_logic.Split
        With ``masks`` (the synthetic set's test split); streamed or in memory.
    methods : sequence of str, optional
        Default every method of :data:`exercise_logic.METHODS`.
    max_images : int, optional
        Score at most this many true positives (the first ones).
    layer : str, optional
        Conv layer for the CAM methods (default the last).
    steps : int
        Deletion / insertion steps.
    sanity_images : int
        Images for the cascading randomisation and efficient MPRT (0 skips them).
    smooth_images, smooth_samples : int
        Smooth MPRT on the first ``smooth_images`` of them (0 skips it), each
        map averaged over ``smooth_samples`` noisy copies (Quantus uses 50).
    tolerance : int, optional
        Pointing-game tolerance in pixels (default the standard one, 2 px at 28 px).
    seed : int
        Seed of the randomisation and of the random maps.
    include_random : bool
        Add the ``'random'`` reference row (uniform random maps).

    Returns
    -------
    Scorecard
    """
    methods = list(METHODS) if methods is None else check_methods(methods)
    if split.masks is None:
        raise ValueError("the scorecard needs lesion masks: use the synthetic dataset's test split")
    chosen = true_positives(model, split)
    if max_images is not None:
        chosen = chosen[:max(0, int(max_images))]
    if len(chosen) == 0:
        raise ValueError("the model finds no true positive in this split: nothing to score")
    scored = split.take(chosen)
    final, smooth, rise = {}, {}, {}
    n_smooth = min(smooth_images, sanity_images, len(chosen)) if sanity_images > 0 else 0
    if sanity_images > 0:
        sanity_set = scored.images[:sanity_images]
        final = sanity_check(model, sanity_set, methods, target=ABNORMAL, layer=layer, seed=seed).final()
        rise = efficient_mprt(model, sanity_set, methods, target=ABNORMAL, layer=layer, seed=seed).final()
    if n_smooth > 0:
        smooth = smooth_mprt(model, scored.images[:n_smooth], methods, target=ABNORMAL, layer=layer, seed=seed,
                             samples=smooth_samples).final()

    engines = {name: cam_engine(model, layer, name) for name in methods}
    names = methods + [RANDOM] if include_random else methods
    per_image = {name: {key: [] for key in PER_IMAGE} for name in names}
    random = np.random.default_rng(seed)
    for part, images in image_batches(scored.images, SCORE_BATCH, scaled=True):
        masks = np.asarray(scored.masks[part])
        maps = {name: engine(images, ABNORMAL) for name, engine in engines.items()}
        if include_random:  # uniform random maps: the chance level
            maps[RANDOM] = random.random(masks.shape, dtype=np.float32)
        for name, batch_maps in maps.items():
            faithfulness = deletion_insertion(model, images, batch_maps, ABNORMAL, steps=steps)
            removal = road(model, images, batch_maps, ABNORMAL, seed=seed)
            scores = per_image[name]
            scores["pointing"].append(pointing_game(batch_maps, masks, tolerance))
            scores["energy"].append(energy_in_mask(batch_maps, masks))
            scores["deletion_auc"].append(faithfulness.deletion_auc)
            scores["insertion_auc"].append(faithfulness.insertion_auc)
            scores["road_morf"].append(removal.morf.mean(axis=1))
            scores["road_lerf"].append(removal.lerf.mean(axis=1))

    rows = []
    for name in names:
        # No sanity check for random maps: they do not depend on the model.
        spearman_final, ssim_final = final.get(name, (float("nan"), float("nan")))
        means = {key: float(np.nanmean(np.concatenate(values))) for key, values in per_image[name].items()}
        rows.append({"method": name, **means, "sanity_spearman": spearman_final, "sanity_ssim": ssim_final,
                     "smooth_mprt_spearman": smooth.get(name, (float("nan"),))[0],
                     "efficient_mprt_rise": rise.get(name, float("nan"))})
    return Scorecard(rows, len(chosen), min(sanity_images, len(chosen)) if sanity_images > 0 else 0, n_smooth)
