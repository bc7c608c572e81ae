"""Methods x metrics: one table that scores every explanation method on the synthetic set.

For a binary model and a split with lesion masks, each method explains the
*abnormal* class on the true positives (abnormal images the model calls
abnormal) and is scored by

- the pointing game and energy-in-mask (:mod:`.localisation`),
- deletion and insertion AUC (:mod:`.faithfulness`),
- the Spearman / SSIM similarity of its maps after full cascading
  randomisation of the model (:mod:`.sanity`; lower = the method depends on
  the weights, as it should).

A last row, ``random``, scores uniform random maps on the same images: the
chance level that each method must beat.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from ..data.datasets import ABNORMAL
from .faithfulness import deletion_insertion, random_maps
from .localisation import energy_in_mask, pointing_game
from .api import METHODS, cam_engine, check_methods
from .sanity import sanity_check

RANDOM = "random"  # the reference row of uniform random maps
COLUMNS = ("pointing", "energy", "deletion_auc", "insertion_auc", "sanity_spearman", "sanity_ssim")
HEADERS = ("pointing game (TP)", "energy in mask", "deletion AUC (lower better)",
           "insertion AUC (higher better)", "Spearman at full rand.", "SSIM at full rand.")


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
        Images used for the sanity check (0 = skipped).
    """
    rows: list
    n_images: int
    n_sanity: int

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
    outputs = np.asarray(model.predict(split.images, batch_size=512, verbose=0))[:, 0]
    return np.flatnonzero((np.asarray(split.labels).ravel() == ABNORMAL) & (outputs >= threshold))


def method_scorecard(model, split, methods=None, max_images=None, layer=None, steps: int = 16,
                     sanity_images: int = 64, tolerance=None, seed: int = 0,
                     include_random: bool = True) -> Scorecard:
    """Score each method on the true positives of a split with lesion masks.

    Parameters
    ----------
    model : keras.Model
        Binary (one sigmoid output) classifier.
    split : exercise_logic.Split
        With ``masks`` (the synthetic set's test split).
    methods : sequence of str, optional
        Default every method of :data:`exercise_logic.METHODS`.
    max_images : int, optional
        Score at most this many true positives (the first ones).
    layer : str, optional
        Conv layer for the CAM methods (default the last).
    steps : int
        Deletion / insertion steps.
    sanity_images : int
        Images for the cascading randomisation (0 skips it).
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
    images, masks = split.images[chosen], split.masks[chosen]
    final = {}
    if sanity_images > 0:
        final = sanity_check(model, images[:sanity_images], methods, target=ABNORMAL, layer=layer,
                             seed=seed).final()
    def score(name, maps):
        faithfulness = deletion_insertion(model, images, maps, ABNORMAL, steps=steps)
        spearman_final, ssim_final = final.get(name, (float("nan"), float("nan")))
        return {"method": name,
                "pointing": float(np.nanmean(pointing_game(maps, masks, tolerance))),
                "energy": float(np.nanmean(energy_in_mask(maps, masks))),
                "deletion_auc": faithfulness.mean_deletion_auc,
                "insertion_auc": faithfulness.mean_insertion_auc,
                "sanity_spearman": spearman_final, "sanity_ssim": ssim_final}

    rows = [score(name, cam_engine(model, layer, name)(images, ABNORMAL)) for name in methods]
    if include_random:  # no sanity check: random maps do not depend on the model
        rows.append(score(RANDOM, random_maps(masks.shape, seed)))
    return Scorecard(rows, len(chosen), min(sanity_images, len(chosen)) if sanity_images > 0 else 0)
