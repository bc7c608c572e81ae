"""Name the likely mistakes behind a student's Grad-CAM maps, from their properties over several cases.

Two halves, so that the grader never needs TensorFlow beside a student's code:

1. :func:`case_facts` (TensorFlow, trusted code): the reference's activations
   and gradients on one case, turned into the grids of :mod:`.properties`
   (a :class:`Case`); :func:`save_cases` / :func:`load_cases` keep them;
2. :func:`diagnose` (NumPy only): the student's maps against those cases.

The reasoning: a set of step choices (a grid of steps 1-3, a ReLU, an
upsampling and a normalisation) *explains* the maps when every map is that
finish of that grid; the explanation with the fewest mistakes is named, so
two mistakes at once are two names. When no explanation fits, properties that
need no grid still name a mistake: negative values (ReLU missing), the same
map for two classes whose reference maps differ (class_index ignored), detail
finer than the conv layer's grid (gradients of the wrong tensor). When nothing
fits, that is said ("unknown"); an answer no case rejects is "correct" and is
never given a mistake.
"""
from __future__ import annotations

import io
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import product

import numpy as np

from . import properties as props
from .mistakes import MISTAKES

SEPARATOR = "::"
RESEMBLANCE = 0.6      # mean correlation of unexplained maps with some step choice's maps, to reason from them


@dataclass(frozen=True)
class Case:
    """What the diagnosis knows about one case: the reference map and every grid of :data:`.properties.EARLY`.

    Attributes
    ----------
    key : str
        The name of the case (the key of the student's map).
    group : str
        Cases of one group differ only in ``class_index`` (same model, image and layer).
    binary : bool
        One sigmoid output.
    class_index : int or None
    reference : ndarray of float64, shape (H, W)
    grids : dict of str to ndarray of float64
        Shape (h, w) (the conv layer's grid) or (H, W) (image gradients).
    last_grid_size : tuple of int
        (h', w') of the layer called ``last_conv_layer``.
    """

    key: str
    group: str
    binary: bool
    class_index: int | None
    reference: np.ndarray
    grids: dict
    last_grid_size: tuple

    @property
    def size(self) -> tuple:
        return tuple(self.reference.shape)

    @property
    def grid_size(self) -> tuple:
        return tuple(self.grids["correct"].shape)


@dataclass(frozen=True)
class Finding:
    """One named mistake, with what in the student's maps shows it (Japanese, English)."""

    key: str
    evidence_ja: str
    evidence_en: str

    @property
    def mistake(self):
        return MISTAKES[self.key]

    def evidence(self) -> str:
        return f"{self.evidence_ja} / {self.evidence_en}"


@dataclass(frozen=True)
class Diagnosis:
    """The result of :func:`diagnose`.

    ``status``: "matched" (every mistake in ``mistakes`` is there: one, or two
    at once), "ambiguous" (the maps fit each alternative equally), "unknown"
    (no known mistake fits), "correct" (no case is rejected) or "no-maps".
    ``complete`` is False when only grid-free properties named the mistakes
    (some maps stay unexplained).
    """

    status: str
    mistakes: tuple = ()
    cases: int = 0
    findings: tuple = ()
    complete: bool = True

    def to_dict(self) -> dict:
        """JSON-ready: ``status``, ``mistakes``, ``cases``, ``complete`` and ``evidence`` {key: [ja, en]}."""
        return {"status": self.status, "mistakes": list(self.mistakes), "cases": self.cases,
                "complete": self.complete,
                "evidence": {f.key: [f.evidence_ja, f.evidence_en] for f in self.findings}}

    @classmethod
    def from_dict(cls, data: Mapping) -> "Diagnosis":
        evidence = data.get("evidence") or {}
        return cls(status=data.get("status", "unknown"), mistakes=tuple(data.get("mistakes", ())),
                   cases=int(data.get("cases", 0)), complete=bool(data.get("complete", True)),
                   findings=tuple(Finding(k, *evidence[k]) for k in data.get("mistakes", ()) if k in evidence))


# -- 1. the cases (TensorFlow) -------------------------------------------------------
def case_facts(model, image, layer_name: str, class_index, key: str, group: str | None = None) -> Case:
    """The reference's grids on one case (the lecture's recipe, step by step, with TensorFlow).

    Parameters
    ----------
    model : keras.Model
        A CNN whose last layer is the Dense head (``build_model``'s models, the hidden tests' ones).
    image : ndarray of float32, shape (1, H, W, C)
    layer_name : str
    class_index : int or None
        As ``compute_gradcam`` takes it (0 of a one-output model: "normal", the negated score).
    key, group : str
        The case's name, and the name shared by cases that differ only in ``class_index``.
    """
    import tensorflow as tf
    head = model.layers[-1]
    images = tf.convert_to_tensor(image, dtype=tf.float32)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(images)
        features = images
        for layer in model.layers[:-1]:
            features = layer(features, training=False)
            if layer.name == layer_name:
                activations = features
            if layer.name == "last_conv_layer":
                last_activations = features
        logits = tf.matmul(features, head.kernel) + head.bias
        binary = logits.shape[-1] == 1
        default_index = 0 if binary else int(tf.argmax(logits[0]))
        default = logits[:, default_index]
        if binary:
            score = -logits[:, 0] if class_index == 0 else logits[:, 0]
        else:
            score = logits[:, default_index if class_index is None else int(class_index)]
    gradients, last_gradients, image_gradients = tape.gradient(score, [activations, last_activations, images])
    default_gradients = tape.gradient(default, activations)
    del tape

    def first(tensor):
        return np.asarray(tensor, dtype=np.float64)[0]

    grids = props.early_grids(first(activations), first(gradients), first(default_gradients),
                              first(last_activations), first(last_gradients), first(images),
                              first(image_gradients), binary)
    size = tuple(int(d) for d in images.shape[1:3])
    return Case(key=key, group=key if group is None else group, binary=bool(binary),
                class_index=None if class_index is None else int(class_index),
                reference=props.reference_map(grids["correct"], size), grids=grids,
                last_grid_size=tuple(int(d) for d in last_activations.shape[1:3]))


def save_cases(cases: Sequence[Case]) -> bytes:
    """The cases as one ``.npz`` file's bytes (no pickles)."""
    arrays = {"meta": np.array(json.dumps([
        {"key": c.key, "group": c.group, "binary": c.binary, "class_index": c.class_index,
         "last_grid_size": list(c.last_grid_size), "grids": list(c.grids)} for c in cases]))}
    for c in cases:
        arrays[f"{c.key}{SEPARATOR}reference"] = c.reference
        for name, grid in c.grids.items():
            arrays[f"{c.key}{SEPARATOR}{name}"] = grid
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def load_cases(path) -> list[Case]:
    """The cases :func:`save_cases` wrote (a path or a file object)."""
    with np.load(path, allow_pickle=False) as data:
        return [Case(key=m["key"], group=m["group"], binary=m["binary"], class_index=m["class_index"],
                     reference=data[f"{m['key']}{SEPARATOR}reference"],
                     grids={name: data[f"{m['key']}{SEPARATOR}{name}"] for name in m["grids"]},
                     last_grid_size=tuple(m["last_grid_size"]))
                for m in json.loads(str(data["meta"]))]


# -- 2. the diagnosis (NumPy) --------------------------------------------------------
def differs(cam, reference, tolerance: float = 2e-3) -> bool:
    """Whether a map is rejected: another shape, NaN, outside [0, 1], another maximum or pattern.

    The same judgement as the assignment's graded comparison, for callers
    without one (a notebook's self-check).
    """
    cam = np.asarray(cam, np.float64)
    reference = np.asarray(reference, np.float64)
    if cam.shape != reference.shape or not np.isfinite(cam).all():
        return True
    if cam.min() < -1e-6 or cam.max() > 1 + 1e-4:
        return True
    if reference.max() <= 1e-6:
        return cam.max() > 1e-6
    if cam.max() < reference.max() - 2e-3:
        return True

    def scaled(values):
        span = values.max() - values.min()
        return (values - values.min()) / span if span > 1e-12 else values * 0
    return bool(np.abs(scaled(cam) - scaled(reference)).max() > tolerance)


def _as_map(cam) -> np.ndarray | None:
    try:
        cam = np.squeeze(np.asarray(cam, np.float64))
    except (TypeError, ValueError):
        return None
    return cam if cam.ndim == 2 and cam.size else None


def _choices(case: Case, cam) -> set:
    """Every ``(grid, rectify, upsample, normalise)`` that makes this map on this case.

    ``normalise`` is "*" when the finished grid and the map are both all zero
    (any normalisation would do) and "nan" when the map is NaN there instead.
    """
    found = set()
    top = float(np.abs(cam[np.isfinite(cam)]).max()) if np.isfinite(cam).any() else 0.0
    all_nan = not np.isfinite(cam).any()
    for name, grid in case.grids.items():
        for how, method, rectified, finished in props.finishes(grid, case.size):
            if finished.shape != cam.shape:
                continue
            if np.abs(finished).max() <= props.GRID_ZERO:
                if props.is_zero(cam):
                    found.add((name, how, method, "*"))
                elif all_nan:
                    found.add((name, how, method, "nan"))
                continue
            if not np.isfinite(cam).all():
                continue
            coefficients = props.fit(cam, finished)
            if coefficients is not None:
                for norm in props.normalisations(*coefficients, rectified, finished, top):
                    found.add((name, how, method, norm))
    return found


def explanations(cases: Sequence[Case], maps: Mapping) -> list[tuple[frozenset, tuple]]:
    """The step choices that explain every map, with the fewest mistakes: ``[(mistakes, choice)]``."""
    per_case = [_choices(case, maps[case.key]) for case in cases]
    best, found = None, []
    for choice in product(props.EARLY, props.RECTIFY, props.UPSAMPLE, props.NORMALISE):
        nan = False
        for choices in per_case:
            if choice in choices:
                continue
            if choice[:3] + ("*",) in choices:
                continue
            if choice[:3] + ("nan",) in choices:
                nan = True
                continue
            break
        else:
            mistakes = {props.EARLY[choice[0]], props.RECTIFY[choice[1]], props.UPSAMPLE[choice[2]],
                        props.NORMALISE[choice[3]], "nan_on_zero" if nan else None} - {None}
            if best is None or len(mistakes) < best:
                best, found = len(mistakes), []
            if len(mistakes) == best and all(m != frozenset(mistakes) for m, _ in found):
                found.append((frozenset(mistakes), choice))
    return found


def _class_pairs(cases: Sequence[Case], maps: Mapping) -> list[tuple[Case, Case]]:
    """Pairs of cases of one group (only class_index differs) with the same map but different references."""
    pairs = []
    for i, first in enumerate(cases):
        for second in cases[i + 1:]:
            if (first.group == second.group and first.class_index != second.class_index
                    and same_map(maps[first.key], maps[second.key])
                    and not same_map(first.reference, second.reference)):
                pairs.append((first, second))
    return pairs


same_map = props.same_maps


def _finest_detail(cases: Sequence[Case], maps: Mapping) -> tuple[float, Case] | None:
    """The map with the most detail finer than every conv grid of its model, and that misfit."""
    best = None
    for case in cases:
        if maps[case.key].shape != case.size:
            continue
        misfit = props.finer_than_grid(maps[case.key], [case.grid_size, case.last_grid_size])
        if misfit is not None and (best is None or misfit > best[0]):
            best = (misfit, case)
    return best


def resemblance(case: Case, cam) -> float:
    """The largest correlation of a map with any finish of any grid of its case (1: one of them, 0: noise)."""
    best = 0.0
    if not np.isfinite(cam).all() or cam.std() <= props.ZERO:
        return best
    for grid in case.grids.values():
        for _, _, _, finished in props.finishes(grid, case.size):
            if finished.shape == cam.shape and finished.std() > 0:
                best = max(best, float(np.corrcoef(cam.ravel(), finished.ravel())[0, 1]))
    return best


def observations(cases: Sequence[Case], maps: Mapping) -> dict:
    """Mistakes shown by properties that need no grid: ``{mistake: (evidence_ja, evidence_en)}``.

    Only for maps that still resemble a Grad-CAM of their case (some map of
    some step choice, by correlation): properties of noise prove nothing.
    """
    if np.mean([resemblance(case, maps[case.key]) for case in cases]) < RESEMBLANCE:
        return {}
    found = {}
    for key in ("no_relu", "class_index_ignored", "wrong_tensor", "nan_on_zero", "height_width_swapped"):
        text = EVIDENCE[key](cases, maps, strict=True)
        if text:
            found[key] = text
    return found


# -- evidence: what in the maps shows each mistake ------------------------------------
def _zero_region(case: Case, cam):
    return case.reference <= 1e-6 if cam.shape == case.size else None


def _no_relu(cases, maps, strict=False):
    low = min(((maps[c.key].min(), c) for c in cases if np.isfinite(maps[c.key]).all()), default=None,
              key=lambda item: item[0])
    if low is not None and low[0] < -1e-3:
        return (f"参照が 0 の所で、あなたのマップは負の値（最小 {low[0]:.2f}）になっています",
                f"your map has negative values (down to {low[0]:.2f}) where the reference is 0")
    for c in cases:
        cam = maps[c.key]
        if (cam.shape == c.size and np.isfinite(cam).all() and c.reference.max() <= 1e-6
                and cam.min() >= 1 - 1e-3 and cam.max() > 1 + 1e-3):
            return (f"参照が全て 0 の所で、あなたのマップは 1〜{cam.max():.3g} です（負の値だけのマップを負の最大値で"
                    "割ると正に反転します）",
                    f"where the reference is all 0 your map goes from 1 to {cam.max():.3g} (a map of only negative "
                    "values divided by its negative maximum flips to positive)")
    if strict:
        return None
    return _positive_where_zero(cases, maps, "の値が重み付き和とともに変わります", "still follows the weighted sum")


def _positive_where_zero(cases, maps, ja, en):
    top = 0.0
    for c in cases:
        zero = _zero_region(c, maps[c.key])
        if zero is not None and zero.any() and np.isfinite(maps[c.key]).all():
            top = max(top, float(maps[c.key][zero].max()))
    return (f"参照が 0 の所で、あなたのマップ{ja}（最大 {top:.2f}）",
            f"where the reference is 0, your map {en} (up to {top:.2f})")


def _abs(cases, maps, strict=False):
    return _positive_where_zero(cases, maps, "は正の値です", "is positive")


def _class_ignored(cases, maps, strict=False):
    pairs = _class_pairs(cases, maps)
    if pairs:
        first, second = pairs[0]
        kind_ja, kind_en = ("二値", "binary") if first.binary else ("多クラス", "multi-class")
        return (f"{kind_ja}モデルの同じ画像で、class_index={first.class_index} と {second.class_index} のマップが"
                "同じです（参照マップは違います）",
                f"on the same image of a {kind_en} model your maps for class_index={first.class_index} and "
                f"{second.class_index} are the same (the reference maps differ)")
    if strict:
        return None
    return ("あなたのマップは class_index ではなく、既定のクラスを説明しています",
            "your maps explain the default class, not the one class_index asks for")


def _wrong_tensor(cases, maps, strict=False):
    detail = _finest_detail(cases, maps)
    if detail is None or (strict and detail[0] <= props.DETAIL):
        return None if strict else ("あなたのマップは入力画像の勾配の形をしています",
                                    "your maps follow the input image's gradients")
    misfit, case = detail
    (h, w), (height, width) = case.grid_size, case.size
    return (f"あなたのマップには入力画像の解像度（{height}×{width}）の細かさがあります。Grad-CAM は畳み込み層の"
            f" {h}×{w} の格子を拡大したものです（ずれ {misfit:.2f}）",
            f"your map has detail at the input's resolution ({height}×{width}) where the conv layer's "
            f"{h}×{w} grid, upsampled, is expected (misfit {misfit:.2f})")


def _nan(cases, maps, strict=False):
    for c in cases:
        if c.reference.max() <= 1e-6 and not np.isfinite(maps[c.key]).any():
            return ("参照が全て 0 のケースで、あなたのマップは NaN です",
                    "where the reference is all 0, your map is NaN")
    return None


def _swapped(cases, maps, strict=False):
    for c in cases:
        if c.size[0] != c.size[1] and maps[c.key].shape == c.size[::-1]:
            return (f"あなたのマップの形は {maps[c.key].shape} で、入力は {c.size} です",
                    f"your map's shape is {maps[c.key].shape}; the input's is {c.size}")
    return None


def _largest(cases, maps, ja, en):
    values = [float(maps[c.key].max()) for c in cases
              if c.reference.max() > 1e-6 and np.isfinite(maps[c.key]).all()]
    far = max(values, key=lambda v: abs(np.log(max(v, 1e-12))), default=float("nan"))
    return f"あなたのマップの最大値は {far:.3g} です{ja}", f"your map's largest value is {far:.3g}{en}"


def _grid_words(ja, en):
    return lambda cases, maps, strict=False: (f"どのケースでも、あなたのマップは{ja}で作ったマップと同じ形です",
                                              f"on every case your map has the pattern made {en}")


EVIDENCE: dict[str, Callable] = {
    "no_relu": _no_relu,
    "abs": _abs,
    "no_normalisation": lambda cases, maps, strict=False: _largest(cases, maps, "（1 ではありません）", ", not 1"),
    "sum_normalisation": lambda cases, maps, strict=False: _largest(cases, maps, "（合計がほぼ 1 です）",
                                                                    " (its values add up to about 1)"),
    "nan_on_zero": _nan,
    "nearest": lambda cases, maps, strict=False: ("あなたのマップはブロック状です（最近傍補間で拡大）",
                                                 "your map is made of flat blocks (nearest-neighbour upsampling)"),
    "height_width_swapped": _swapped,
    "class_index_ignored": _class_ignored,
    "layer_ignored": lambda cases, maps, strict=False: (
        "最初の畳み込み層を指定したケースでも、あなたのマップは last_conv_layer のマップです",
        "where the first conv layer is asked for, your map is the last_conv_layer's map"),
    "wrong_tensor": _wrong_tensor,
    "wrong_pooling_axis": _grid_words("、勾配を別の軸で平均した重み", "with gradients averaged over another axis"),
    "max_pooled_gradients": _grid_words("、勾配の最大値を重みにして", "with the gradients' maximum as weights"),
    "gradients_not_pooled": _grid_words("、勾配をそのまま活性化に掛けて", "with the gradients times the activations"),
    "weights_on_gradients": _grid_words("、重みを勾配に掛けて", "with the weights applied to the gradients"),
    "all_zero": lambda cases, maps, strict=False: (f"{len(cases)} 個のマップがすべて全て 0 です",
                                                  f"all {len(cases)} of your maps are all 0"),
}


def diagnose(maps: Mapping, cases: Sequence[Case],
             rejects: Callable[[str, np.ndarray], bool] | None = None) -> Diagnosis:
    """The likely mistakes behind a student's maps.

    Parameters
    ----------
    maps : mapping of str to array-like
        The student's map per case key (cases where their function raised are absent).
    cases : sequence of Case
        :func:`case_facts` of every case (more cases, more properties to reason from).
    rejects : callable, optional
        ``rejects(key, map) -> bool``: whether the graded comparison rejects a
        map (default :func:`differs` against the case's reference).

    Returns
    -------
    Diagnosis
    """
    cases = [case for case in cases if case.key in maps and _as_map(maps[case.key]) is not None]
    if not cases:
        return Diagnosis("no-maps")
    if rejects is None:
        references = {case.key: case.reference for case in cases}

        def rejects(key, cam):
            return differs(cam, references[key])
    if not any(rejects(case.key, maps[case.key]) for case in cases):
        return Diagnosis("correct", cases=len(cases))
    student = {case.key: _as_map(maps[case.key]) for case in cases}
    complete = True
    if all(props.is_zero(cam) for cam in student.values()):
        alternatives = [frozenset({"all_zero"})]
    else:
        alternatives = [mistakes for mistakes, _ in explanations(cases, student)]
        if alternatives == [frozenset()]:       # a correct recipe fits, yet a case is rejected
            alternatives = []
        if not alternatives:
            seen = observations(cases, student)
            alternatives, complete = ([frozenset(seen)] if seen else []), False
    if not alternatives:
        return Diagnosis("unknown", cases=len(cases))
    named = [key for key in MISTAKES if any(key in a for a in alternatives)]     # catalogue order
    findings = tuple(Finding(key, *(EVIDENCE[key](cases, student) or ("", ""))) for key in named)
    status = "matched" if len(alternatives) == 1 else "ambiguous"
    return Diagnosis(status, tuple(named), len(cases), findings, complete)
