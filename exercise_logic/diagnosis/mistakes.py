"""The known Grad-CAM mistakes: what each is called, which step of the recipe it breaks, and a hint.

The lecture's recipe: gradients -> channel weights -> weighted sum -> ReLU ->
normalise -> upsample. Names, hints and evidence are Japanese first, English
second; hints point to a step and never give code. How each mistake changes a
map is said step by step in :mod:`.properties`.
"""
from __future__ import annotations

from dataclasses import dataclass

STEPS = {
    "gradients": ("手順 1「勾配」", "step 1, gradients"),
    "weights": ("手順 2「チャネル重み」", "step 2, channel weights"),
    "sum": ("手順 3「重み付き和」", "step 3, weighted sum"),
    "relu": ("手順 4「ReLU」", "step 4, ReLU"),
    "normalise": ("手順 5「正規化」", "step 5, normalise"),
    "upsample": ("手順 6「拡大」", "step 6, upsample"),
}


@dataclass(frozen=True)
class Mistake:
    """One known mistake: its names, its hint and the step of the recipe it breaks."""

    key: str
    step: str
    name_ja: str
    name_en: str
    hint_ja: str
    hint_en: str

    def name(self) -> str:
        return f"{self.name_ja} / {self.name_en}"

    def hint(self) -> str:
        step_ja, step_en = STEPS[self.step]
        return f"{step_ja}: {self.hint_ja} / {step_en}: {self.hint_en}"


MISTAKES = {m.key: m for m in (
    Mistake("no_relu", "relu", "ReLU がない", "ReLU missing",
            "重み付き和のあとで負の値を 0 にしていません（マップに負の値が残っています）。",
            "negative values are not set to 0 after the weighted sum (your map keeps them)."),
    Mistake("abs", "relu", "ReLU の代わりに絶対値 |·|", "|·| instead of ReLU",
            "負の値を正に反転させています。負の値はそのクラスに反する根拠なので、反転させずに 0 にします。",
            "negative values are flipped to positive; they are evidence against the class, so set them to 0."),
    Mistake("no_normalisation", "normalise", "正規化していない", "not normalised",
            "マップの最大値で割って、最大が 1 になるようにしていません。",
            "the map is not divided by its maximum, so its largest value is not 1."),
    Mistake("sum_normalisation", "normalise", "合計で正規化している", "normalised by the sum",
            "合計ではなく最大値で割ります（合計で割ると最大が 1 になりません）。",
            "divide by the maximum, not the sum (dividing by the sum does not make the largest value 1)."),
    Mistake("nan_on_zero", "normalise", "0 で割って NaN になる", "division by zero (NaN)",
            "全て 0 のマップを最大値 0 で割っています。最大値が 0 のときは割らずに、0 のまま返します。",
            "an all-zero map is divided by its maximum, 0. When the maximum is 0, return the zeros as they are."),
    Mistake("nearest", "upsample", "最近傍補間で拡大している", "nearest-neighbour upsampling",
            "拡大がブロック状です。双線形補間（bilinear）で入力画像の大きさに拡大します。",
            "the upsampled map is blocky: resize it to the input size with bilinear interpolation."),
    Mistake("height_width_swapped", "upsample", "高さと幅の取り違え", "height and width swapped",
            "拡大後の大きさが (幅, 高さ) になっています。大きさは (高さ, 幅) の順に指定します。",
            "the map is resized to (width, height); the size is given as (height, width)."),
    Mistake("class_index_ignored", "gradients", "class_index を無視している", "class_index ignored",
            "いつも同じクラス（予測クラス／二値なら異常）を説明しています。class_index で指定されたクラスのスコアを"
            "微分します（二値モデルの「正常」(0) はスコアの符号を反転）。",
            "your map always explains the same class (the predicted one, or 'abnormal'). Differentiate the score "
            "of the class given by class_index (for 'normal' (0) of a binary model, the negated score)."),
    Mistake("layer_ignored", "gradients", "last_conv_layer_name を無視している", "last_conv_layer_name ignored",
            "指定された層ではなく、いつも last_conv_layer を使っています。",
            "your map always uses last_conv_layer instead of the layer it is given."),
    Mistake("wrong_tensor", "gradients", "勾配をとるテンソルが違う", "gradients of the wrong tensor",
            "入力画像についての勾配を使っています。指定した畳み込み層の出力（活性化 A）についての勾配を使います。",
            "you use the gradients with respect to the input image; use those with respect to the chosen conv "
            "layer's output (the activations A)."),
    Mistake("wrong_pooling_axis", "weights", "平均する軸が違う", "pooling over the wrong axis",
            "チャネル重みは、各チャネルの勾配を高さと幅の両方向に平均した 1 つの数です。",
            "a channel weight is one number per channel: its gradients averaged over both height and width."),
    Mistake("max_pooled_gradients", "weights", "勾配の最大値を重みにしている", "gradients max-pooled",
            "チャネル重みは勾配の最大値ではなく、平均です。",
            "a channel weight is the mean of the channel's gradients, not their maximum."),
    Mistake("gradients_not_pooled", "weights", "勾配を平均していない", "gradients not averaged",
            "勾配をそのまま活性化に掛けています。先に各チャネルの勾配を平均して 1 つの重みにします。",
            "the gradients multiply the activations element by element; average each channel's gradients "
            "into one weight first."),
    Mistake("weights_on_gradients", "sum", "勾配に重みを掛けている", "weights applied to the gradients",
            "重みを掛けて足し合わせるのは勾配ではなく、活性化 A（畳み込み層の出力）です。",
            "the weighted sum must run over the activations A (the conv layer's output), not the gradients."),
    Mistake("all_zero", "gradients", "マップが全て 0", "an all-zero map",
            "どの場合もマップが全て 0 です。勾配・重み・重み付き和を順に表示して、どこで 0 になるか確かめましょう。",
            "your map is all zeros everywhere. Print the gradients, the weights and the weighted sum in turn "
            "to see where it becomes zero."),
)}
