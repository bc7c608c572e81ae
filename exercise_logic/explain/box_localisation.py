"""Does a map point at the radiologist's box? Localisation per finding on real X-rays.

The protocol is Saporta et al. (2022, "Benchmarking saliency methods for
chest X-ray interpretation", Nature Machine Intelligence; their CheXlocalize
code), applied to NIH ChestX-ray14's boxes on ChestMNIST:

- **hit rate**: the pointing game with no tolerance, a hit when the map's
  peak lies in the box (:func:`~.localisation.pointing_game`, ``tolerance=0``);
- **mIoU**: each map min-max normalised and binarised with Otsu's threshold
  (:func:`~.localisation.otsu_segmentation`), its IoU with the box mask,
  averaged over the images of a finding;

both over every image with a box of that finding, whatever the model
predicts. Next to them: the pointing game at the kit's standard tolerance
(Zhang et al.'s 15 px at 224 px) and the chance level of the hit rate (the
mean fraction of the image that the boxes cover: where a uniformly random
peak would land). Differences from Saporta et al.: the boxes are NIH's
rectangles, not CheXpert's traced outlines; the maps explain the kit's
binary "abnormal" output, not one output per pathology; everything is
measured at the ChestMNIST size, not the original 1024 px.
"""
from __future__ import annotations

import numpy as np

from ..data.nih_boxes import BOX_FINDINGS, ChestBoxes
from .api import cam_engine
from .localisation import iou, otsu_segmentation, pointing_game

SCORES = ("hit_rate", "pointing", "miou", "chance")


def localisation_by_finding(model, boxes: ChestBoxes, splits: dict, target: int = 1, method: str = "gradcam",
                            layer=None) -> list[dict]:
    """Score one method's maps against the boxes, finding by finding.

    Parameters
    ----------
    model : keras.Model
    boxes : ChestBoxes
        From :func:`exercise_logic.data.nih_boxes.load_chest_boxes`.
    splits : dict of str to Split
        ChestMNIST's splits at one size (``{'train': ..., 'val': ..., 'test': ...}``);
        every boxed image of each split given is explained.
    target : int
        The class explained (1: "abnormal" for the kit's binary models).
    method, layer : str, optional
        As for :func:`exercise_logic.cam_engine`.

    Returns
    -------
    list of dict
        One row per finding with boxes, then ``'all'``: ``finding``, ``count``
        (images with a box of that finding; (image, finding) pairs for ``'all'``)
        and the means of :data:`SCORES`.
    """
    scores = {finding: {key: [] for key in SCORES} for finding in BOX_FINDINGS}
    engine = cam_engine(model, layer, method)
    for split_name, split in splits.items():
        indices = boxes.indices(split_name)
        if not indices.size:
            continue
        size = int(split.images.shape[1])
        by_finding = {finding: boxes.masks(split_name, len(split), size, finding).take(indices)
                      for finding in BOX_FINDINGS}
        for part, maps, _, _ in engine.explain_batches(split.images.take(indices), target):
            for finding, masks in by_finding.items():
                lesions = masks[part]
                present = lesions.any(axis=(1, 2))
                if not present.any():
                    continue
                found, shown = maps[present], lesions[present]
                found_scores = scores[finding]
                found_scores["hit_rate"].append(pointing_game(found, shown, tolerance=0))
                found_scores["pointing"].append(pointing_game(found, shown))
                found_scores["miou"].append(iou(otsu_segmentation(found), shown))
                found_scores["chance"].append(shown.mean(axis=(1, 2)))
    rows = []
    for finding in BOX_FINDINGS + ("all",):
        chosen = list(scores.values()) if finding == "all" else [scores[finding]]
        values = {key: np.concatenate([part for found in chosen for part in found[key]] or [np.empty(0)])
                  for key in SCORES}
        count = len(values["miou"])
        if count:
            rows.append({"finding": finding, "count": count,
                         **{key: float(np.nanmean(value)) for key, value in values.items()}})
    return rows


def markdown_table(rows: list[dict]) -> str:
    """The rows of :func:`localisation_by_finding` as a markdown table."""
    lines = ["| finding | images | hit rate (peak in box) | pointing game (standard tolerance) "
             "| mIoU (Otsu) | chance (box area) |", "|---|---:|---:|---:|---:|---:|"]
    for row in rows:
        name = "**all**" if row["finding"] == "all" else row["finding"]
        lines.append(f"| {name} | {row['count']} | {row['hit_rate']:.3f} | {row['pointing']:.3f} | "
                     f"{row['miou']:.3f} | {row['chance']:.3f} |")
    return "\n".join(lines)
