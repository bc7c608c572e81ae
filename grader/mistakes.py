"""The known Grad-CAM mistakes: what each is called, which step of the recipe it breaks, and its map.

The lecture's recipe: gradients -> channel weights -> weighted sum -> ReLU ->
normalise -> upsample. Each mistake says only how it changes one step (like
the CAM methods of pytorch-grad-cam say only how they weight channels); the
maps are made from the reference's own activations and gradients on a case
(:class:`Parts`), so a student's map can be matched against every mistake's
map of the same case (:mod:`grader.diagnosis`). Names and hints are Japanese
first, English second; hints point to a step and never give code.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

STEPS = {
    "gradients": ("手順 1「勾配」", "step 1, gradients"),
    "weights": ("手順 2「チャネル重み」", "step 2, channel weights"),
    "sum": ("手順 3「重み付き和」", "step 3, weighted sum"),
    "relu": ("手順 4「ReLU」", "step 4, ReLU"),
    "normalise": ("手順 5「正規化」", "step 5, normalise"),
    "upsample": ("手順 6「拡大」", "step 6, upsample"),
}


@dataclass(frozen=True)
class Parts:
    """The reference's intermediate results on one case: the raw material of every mistake's map.

    Attributes
    ----------
    activations : ndarray of float64, shape (h, w, K)
        A, the chosen conv layer's output.
    gradients : ndarray of float64, shape (h, w, K)
        dy/dA for the score y of the requested class.
    image : ndarray of float64, shape (H, W, C)
    image_gradients : ndarray of float64, shape (H, W, C)
        dy/dx, the gradients of the same score with respect to the input image.
    default_class_map : ndarray of float64, shape (H, W)
        The reference map with ``class_index=None``.
    last_layer_map : ndarray of float64, shape (H, W)
        The reference map of the layer called ``last_conv_layer``.
    resize : callable
        ``resize(map, (height, width), method)`` with ``method`` "bilinear" or
        "nearest", exactly as ``tf.image.resize``.
    """

    activations: np.ndarray
    gradients: np.ndarray
    image: np.ndarray
    image_gradients: np.ndarray
    default_class_map: np.ndarray
    last_layer_map: np.ndarray
    resize: Callable

    @property
    def size(self) -> tuple[int, int]:
        return tuple(self.image.shape[:2])

    def weighted_sum(self, weights=None, maps=None) -> np.ndarray:
        """sum_k weights_k * maps_k (default: the lecture's alpha and A), shape (h, w)."""
        weights = self.gradients.mean(axis=(0, 1)) if weights is None else weights
        maps = self.activations if maps is None else maps
        return (maps * weights).sum(axis=-1)


def relu(cam):
    return np.maximum(cam, 0.0)


def by_max(cam):
    peak = cam.max()
    return cam / peak if peak > 0 else cam


def by_sum(cam):
    total = cam.sum()
    return cam / total if total > 0 else cam


def by_range(cam):
    span = cam.max() - cam.min()
    return (cam - cam.min()) / span if span > 0 else cam * 0


def finish(parts: Parts, cam, *, rectify=relu, normalise=by_max, method="bilinear", size=None,
           resize_first=False):
    """Steps 4-6 (ReLU, normalise, upsample) of a low-resolution map, each replaceable."""
    size = parts.size if size is None else size
    cam = rectify(cam) if rectify else cam

    def upsample(c):
        return c if c.shape == tuple(size) else parts.resize(c, size, method)

    if resize_first:
        return normalise(upsample(cam)) if normalise else upsample(cam)
    return upsample(normalise(cam) if normalise else cam)


def correct(parts: Parts) -> np.ndarray:
    """The lecture's Grad-CAM, from the parts (equals the reference; the tests check it)."""
    return finish(parts, parts.weighted_sum())


@dataclass(frozen=True)
class Mistake:
    """One known mistake: its names, its hint, the step it breaks and how its map is made.

    ``maps(parts)`` returns ``{variant: map}``: the ways a student commonly
    writes that one mistake (each judged on its own across all cases).
    """

    key: str
    step: str
    name_ja: str
    name_en: str
    hint_ja: str
    hint_en: str
    maps: Callable[[Parts], dict]

    def name(self) -> str:
        return f"{self.name_ja} / {self.name_en}"

    def hint(self) -> str:
        step_ja, step_en = STEPS[self.step]
        return f"{step_ja}: {self.hint_ja} / {step_en}: {self.hint_en}"


def _nan_when_zero(parts: Parts) -> dict:
    cam = relu(parts.weighted_sum())
    if cam.max() > 0:
        return {"": correct(parts)}
    return {"": np.full(parts.size, np.nan)}


def _pooled_over(parts: Parts) -> dict:
    grads, acts = parts.gradients, parts.activations
    return {
        "channels": finish(parts, grads.mean(axis=-1) * acts.sum(axis=-1)),
        "rows": finish(parts, (acts * grads.mean(axis=0, keepdims=True)).sum(axis=-1)),
        "columns": finish(parts, (acts * grads.mean(axis=1, keepdims=True)).sum(axis=-1)),
    }


def _image_gradients(parts: Parts) -> dict:
    grads = parts.image_gradients
    return {
        "mean over colours": finish(parts, grads.mean(axis=-1)),
        "Grad-CAM of the image": finish(parts, parts.weighted_sum(grads.mean(axis=(0, 1)), parts.image)),
    }


MISTAKES = {m.key: m for m in (
    Mistake("no_relu", "relu", "ReLU がない", "ReLU missing",
            "重み付き和のあとで負の値を 0 にしていません（マップに負の値が残っています）。",
            "negative values are not set to 0 after the weighted sum (your map keeps them).",
            # without ReLU the maximum can be tiny, so where the map is divided by it matters
            lambda p: {"": finish(p, p.weighted_sum(), rectify=None),
                       "after upsampling": finish(p, p.weighted_sum(), rectify=None, resize_first=True),
                       "min-max": finish(p, p.weighted_sum(), rectify=None, normalise=by_range)}),
    Mistake("abs", "relu", "ReLU の代わりに絶対値 |·|", "|·| instead of ReLU",
            "負の値を正に反転させています。負の値はそのクラスに反する根拠なので、反転させずに 0 にします。",
            "negative values are flipped to positive; they are evidence against the class, so set them to 0.",
            lambda p: {"": finish(p, p.weighted_sum(), rectify=np.abs)}),
    Mistake("no_normalisation", "normalise", "正規化していない", "not normalised",
            "マップの最大値で割って、最大が 1 になるようにしていません。",
            "the map is not divided by its maximum, so its largest value is not 1.",
            lambda p: {"": finish(p, p.weighted_sum(), normalise=None)}),
    Mistake("sum_normalisation", "normalise", "合計で正規化している", "normalised by the sum",
            "合計ではなく最大値で割ります（合計で割ると最大が 1 になりません）。",
            "divide by the maximum, not the sum (dividing by the sum does not make the largest value 1).",
            lambda p: {"": finish(p, p.weighted_sum(), normalise=by_sum),
                       "after upsampling": finish(p, p.weighted_sum(), normalise=by_sum, resize_first=True)}),
    Mistake("nan_on_zero", "normalise", "0 で割って NaN になる", "division by zero (NaN)",
            "全て 0 のマップを最大値 0 で割っています。最大値が 0 のときは割らずに、0 のまま返します。",
            "an all-zero map is divided by its maximum, 0. When the maximum is 0, return the zeros as they are.",
            _nan_when_zero),
    Mistake("nearest", "upsample", "最近傍補間で拡大している", "nearest-neighbour upsampling",
            "拡大がブロック状です。双線形補間（bilinear）で入力画像の大きさに拡大します。",
            "the upsampled map is blocky: resize it to the input size with bilinear interpolation.",
            lambda p: {"": finish(p, p.weighted_sum(), method="nearest")}),
    Mistake("height_width_swapped", "upsample", "高さと幅の取り違え", "height and width swapped",
            "拡大後の大きさが (幅, 高さ) になっています。大きさは (高さ, 幅) の順に指定します。",
            "the map is resized to (width, height); the size is given as (height, width).",
            lambda p: {"": finish(p, p.weighted_sum(), size=p.size[::-1])}),
    Mistake("class_index_ignored", "gradients", "class_index を無視している", "class_index ignored",
            "いつも同じクラス（予測クラス／二値なら異常）を説明しています。class_index で指定されたクラスのスコアを"
            "微分します（二値モデルの「正常」(0) はスコアの符号を反転）。",
            "your map always explains the same class (the predicted one, or 'abnormal'). Differentiate the score "
            "of the class given by class_index (for 'normal' (0) of a binary model, the negated score).",
            lambda p: {"": p.default_class_map}),
    Mistake("layer_ignored", "gradients", "last_conv_layer_name を無視している", "last_conv_layer_name ignored",
            "指定された層ではなく、いつも last_conv_layer を使っています。",
            "your map always uses last_conv_layer instead of the layer it is given.",
            lambda p: {"": p.last_layer_map}),
    Mistake("wrong_tensor", "gradients", "勾配をとるテンソルが違う", "gradients of the wrong tensor",
            "入力画像についての勾配を使っています。指定した畳み込み層の出力（活性化 A）についての勾配を使います。",
            "you use the gradients with respect to the input image; use those with respect to the chosen conv "
            "layer's output (the activations A).",
            _image_gradients),
    Mistake("wrong_pooling_axis", "weights", "平均する軸が違う", "pooling over the wrong axis",
            "チャネル重みは、各チャネルの勾配を高さと幅の両方向に平均した 1 つの数です。",
            "a channel weight is one number per channel: its gradients averaged over both height and width.",
            _pooled_over),
    Mistake("max_pooled_gradients", "weights", "勾配の最大値を重みにしている", "gradients max-pooled",
            "チャネル重みは勾配の最大値ではなく、平均です。",
            "a channel weight is the mean of the channel's gradients, not their maximum.",
            lambda p: {"": finish(p, p.weighted_sum(p.gradients.max(axis=(0, 1))))}),
    Mistake("gradients_not_pooled", "weights", "勾配を平均していない", "gradients not averaged",
            "勾配をそのまま活性化に掛けています。先に各チャネルの勾配を平均して 1 つの重みにします。",
            "the gradients multiply the activations element by element; average each channel's gradients "
            "into one weight first.",
            lambda p: {"": finish(p, (p.gradients * p.activations).sum(axis=-1))}),
    Mistake("weights_on_gradients", "sum", "勾配に重みを掛けている", "weights applied to the gradients",
            "重みを掛けて足し合わせるのは勾配ではなく、活性化 A（畳み込み層の出力）です。",
            "the weighted sum must run over the activations A (the conv layer's output), not the gradients.",
            lambda p: {"": finish(p, p.weighted_sum(maps=p.gradients))}),
    Mistake("all_zero", "gradients", "マップが全て 0", "an all-zero map",
            "どの場合もマップが全て 0 です。勾配・重み・重み付き和を順に表示して、どこで 0 になるか確かめましょう。",
            "your map is all zeros everywhere. Print the gradients, the weights and the weighted sum in turn "
            "to see where it becomes zero.",
            lambda p: {"": np.zeros(p.size)}),
)}
