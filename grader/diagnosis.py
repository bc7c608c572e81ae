"""Name a student's likely mistake by matching their maps against each known mistake's maps.

Runs only in the grader's trusted processes, never beside student code:

1. at release (:func:`signatures`, with TensorFlow): for every cross-check
   case, the reference's activations and gradients, and from them the map
   each known mistake (:mod:`grader.mistakes`) would give;
2. at grading (:func:`diagnose`, NumPy only): the student's maps (returned
   by the sandboxed cross-check child) against those maps.

A mistake is named only when every map the student returned matches that
mistake's map, and the student fails the graded comparison somewhere; a
correct answer is never given one. Several fitting mistakes are all named
("ambiguous"); none fitting is said as such, never guessed.
"""
from __future__ import annotations

import numpy as np

from .mistakes import MISTAKES, Parts, correct

SEPARATOR = "::"
ZERO = 1e-7            # a map whose largest |value| is below this is all zero
PATTERN_TOLERANCE = 0.02
# Normalising before or after upsampling scales a map by up to ~1.3 (a sharp peak
# loses height when upsampled); the scale tells only "by the maximum" (about 1),
# "by the sum" (about 1/pixels) and "not at all" (anything) apart.
SCALE_RATIO = 1.5


# -- 1. at release: every mistake's map on every case ----------------------------
def reference_parts(model, image, layer_name: str, class_index, library) -> Parts:
    """The reference's activations and gradients on one case (the lecture's recipe, step by step)."""
    import tensorflow as tf
    head = model.layers[-1]
    images = tf.convert_to_tensor(image, dtype=tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(images)
        features = images
        for layer in model.layers[:-1]:
            features = layer(features, training=False)
            if layer.name == layer_name:
                activations = features
        logits = tf.matmul(features, head.kernel) + head.bias
        if logits.shape[-1] == 1:
            score = -logits[:, 0] if class_index == 0 else logits[:, 0]
        else:
            index = int(tf.argmax(logits[0])) if class_index is None else int(class_index)
            score = logits[:, index]
    gradients, image_gradients = tape.gradient(score, [activations, images])

    def resize(cam, size, method):
        return tf.image.resize(cam[..., None], size, method=method)[..., 0].numpy().astype(np.float64)

    def as_array(tensor):
        return np.asarray(tensor, dtype=np.float64)[0]

    return Parts(activations=as_array(activations), gradients=as_array(gradients),
                 image=as_array(images), image_gradients=as_array(image_gradients),
                 default_class_map=np.asarray(library.compute_gradcam(model, image, layer_name, None),
                                              np.float64),
                 last_layer_map=np.asarray(library.compute_gradcam(model, image, "last_conv_layer",
                                                                   class_index), np.float64),
                 resize=resize)


def case_signatures(parts: Parts) -> dict:
    """``{"mistake::variant": map}`` of every known mistake, plus ``"correct"``."""
    maps = {"correct": correct(parts)}
    for key, mistake in MISTAKES.items():
        for variant, cam in mistake.maps(parts).items():
            maps[f"{key}{SEPARATOR}{variant}"] = np.asarray(cam, np.float64)
    return maps


def signatures(models: dict, inputs: dict, cases: list[dict], layer_names: dict, library) -> dict:
    """``{"signature::case key": map}`` over all cases: what :func:`diagnose` reads."""
    out = {}
    for case in cases:
        key = case["key"]
        parts = reference_parts(models[case["model"]], inputs[key], layer_names[key], case["class_index"],
                                library)
        for name, cam in case_signatures(parts).items():
            out[f"{name}{SEPARATOR}{key}"] = cam
    return out


# -- 2. at grading: the student's maps against them ------------------------------
def matches(got, expected) -> bool:
    """Same shape, same pattern (each divided by its largest |value|) and the same scale."""
    got, expected = np.asarray(got, np.float64), np.asarray(expected, np.float64)
    if got.shape != expected.shape:
        return False
    if not np.isfinite(expected).all():
        return not np.isfinite(got).all()
    if not np.isfinite(got).all():
        return False
    top_got, top_expected = np.abs(got).max(), np.abs(expected).max()
    if top_expected <= ZERO or top_got <= ZERO:
        return top_expected <= ZERO and top_got <= ZERO
    if not 1 / SCALE_RATIO <= top_got / top_expected <= SCALE_RATIO:
        return False
    return np.abs(got / top_got - expected / top_expected).max() <= PATTERN_TOLERANCE


def diagnose(maps: dict, signature_maps: dict, fails) -> dict:
    """The likely mistake behind a student's maps.

    Parameters
    ----------
    maps : dict of str to ndarray
        The student's map per case key (cases where their function raised are absent).
    signature_maps : dict of str to ndarray
        :func:`signatures`' output.
    fails : callable
        ``fails(key, map) -> bool``: whether the graded comparison rejects a map.

    Returns
    -------
    dict
        ``status``: "matched" (one mistake), "ambiguous" (several), "unknown"
        (none fits), "correct" (no case fails) or "no-maps"; ``mistakes``:
        their keys; ``cases``: how many maps were compared.
    """
    keys = sorted(key for key in maps if f"correct{SEPARATOR}{key}" in signature_maps)
    if not keys:
        return {"status": "no-maps", "mistakes": [], "cases": 0}
    if not any(fails(key, maps[key]) for key in keys):
        return {"status": "correct", "mistakes": [], "cases": len(keys)}
    found = []
    variants = {name.rsplit(SEPARATOR, 1)[0] for name in signature_maps}
    for variant in sorted(variants - {"correct"}):
        mistake = variant.split(SEPARATOR)[0]
        if mistake in found:
            continue
        if all(matches(maps[key], signature_maps[f"{variant}{SEPARATOR}{key}"]) for key in keys):
            found.append(mistake)
    found = [key for key in MISTAKES if key in found]          # catalogue order
    status = "matched" if len(found) == 1 else "ambiguous" if found else "unknown"
    return {"status": status, "mistakes": found, "cases": len(keys)}
