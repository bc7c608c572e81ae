"""Generate the (ungraded) shortcut-learning lab notebooks, Japanese and English.

    python -m assignments.shortcut_lab.build_notebooks          # writes shortcut_lab_{ja,en}.ipynb
    python -m assignments.shortcut_lab.build_notebooks --check  # exit 1 if they are stale

Both languages share the code cells; only the prose (and printed language)
differs. The parameter cell reads ``SHORTCUT_LAB_EPOCHS`` so that the tests can
run the notebooks top to bottom in seconds.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent
LANGUAGES = ("ja", "en")

TITLE = {
"ja": """# ショートカット学習ラボ：AI は本当に病変を見ているか？

講義の Grad-CAM 演習では、3 つの問いを考えました。

1. AI は画像のどこに注目しているか？
2. その注目領域は医学的に妥当か？
3. Grad-CAM のような説明可能 AI の限界は何か？（粗い・因果的ではない・マーカーや文字などの「ショートカット特徴」にだまされる）

このラボでは 3 つ目の問いを**実験で確かめます**。合成胸部 X 線画像の左上の角には、撮影時の「L」マーカーのような小さな印を描けます。
学習データでこの印が「異常」ラベルとほぼ一致していたら、AI は病変ではなく印を覚えてしまうでしょうか？

**操作方法**: `Shift + Enter` でセルを上から順に実行してください。採点はありません。問いの下のセルに自分の考えを書きましょう。""",
"en": """# Shortcut-learning lab: does the AI really look at the lesion?

The lecture's Grad-CAM exercise asked three questions:

1. Where in the image does the AI look?
2. Is that region medically plausible?
3. What are the limits of explainable AI such as Grad-CAM? (coarse, not causal, fooled by "shortcut features" such as markers and text)

This lab **tests the third question by experiment**. The synthetic chest X-rays can carry a small "L" marker in the top-left corner, like a radiographer's lead marker.
If, in the training data, the marker almost always comes with the "abnormal" label, will the AI learn the marker instead of the lesions?

**How to run**: press `Shift + Enter` on each cell from the top. This lab is not graded; write your thoughts in the cells under the questions.""",
}

PARAMETERS = """\
# パラメータ / parameters
import os

MODEL_TYPE = "simple"   # 講義の CNN / the lecture's CNN ('deeper' も可 / also 'deeper')
STRENGTH = 0.95         # 学習データでマーカーがラベルに一致する強さ / marker-label correlation in training
EPOCHS = int(os.environ.get("SHORTCUT_LAB_EPOCHS", "5"))
SEED = 0"""

SETUP = """\
import numpy as np
import matplotlib.pyplot as plt
import exercise_logic as el
from exercise_logic.data.synthetic import marker_region

el.initialize_environment()
LANG = "{lang}\""""

STEP1 = {
"ja": """## Step 1: データを見る

学習データ（マーカーがラベルと相関）とテストデータ（マーカーはラベルと無関係）で、マーカーの出方を比べます。
白い破線の枠がマーカーの入る角、緑の線が病変（正解マスク）です。""",
"en": """## Step 1: look at the data

Compare how the marker appears in the training data (correlated with the label) and in the test data (independent of the label).
The dashed white box is the marker's corner; green outlines are the lesions (ground-truth masks).""",
}

STEP1_CODE = """\
data = el.load_dataset("synthetic", marker_strength=STRENGTH)
for name, split in (("train", data.train), ("test", data.test)):
    labels = split.labels.astype(int)
    for label in (0, 1):
        share = split.markers[labels == label].mean()
        print(f"{name:5s} label={label} ({'正常 normal' if label == 0 else '異常 abnormal'}): "
              f"marker on {share:.0%}")

(top, left), (bottom, right) = np.argwhere(marker_region(28)).min(0), np.argwhere(marker_region(28)).max(0) + 1
figure, axes = plt.subplots(2, 6, figsize=(12, 4.5))
for row, (name, split) in enumerate((("train", data.train), ("test", data.test))):
    for column, index in enumerate(range(6)):
        axis = axes[row, column]
        axis.imshow(split.images[index], extent=(0, 28, 28, 0))
        axis.add_patch(plt.Rectangle((left, top), right - left, bottom - top, fill=False, ec="white", ls="--"))
        if split.masks[index].any():
            axis.contour(np.arange(28) + 0.5, np.arange(28) + 0.5, split.masks[index].astype(float),
                         levels=[0.5], colors="lime", linewidths=0.8)
        axis.set_title(f"{name}: {'abnormal' if split.labels[index] else 'normal'}", fontsize=9)
        axis.axis("off")
plt.tight_layout()
plt.show()"""

Q_PREDICT = {
"ja": """### 問 1（予想）
学習データでは「マーカーあり ≒ 異常」です。このデータで学習した AI は、テストデータ（マーカーはラベルと無関係）でどのくらいの精度になると思いますか？
Grad-CAM の赤い領域はどこに出ると思いますか？ 実行する前に予想を書きましょう。""",
"en": """### Question 1 (predict)
In the training data, "marker present ≈ abnormal". How accurate do you expect a model trained on it to be on the test data, where the marker is independent of the label?
Where do you expect its Grad-CAM to be red? Write your prediction before running the next cells.""",
}

ANSWER = {"ja": "（ここに回答を書いてください）", "en": "(write your answer here)"}

STEP2 = {
"ja": """## Step 2: 2 つのモデルを学習して比べる

- **ショートカットモデル**: マーカーがラベルと相関したデータ（強さ `STRENGTH`）で学習
- **対照モデル**: マーカーはあるがラベルと無関係なデータで学習

学習済みモデルはキャッシュされるので、2 回目からはすぐに終わります。""",
"en": """## Step 2: train two models and compare them

- **Shortcut model**: trained with the marker correlated with the label (strength `STRENGTH`)
- **Control model**: trained with markers that are independent of the label

Trained models are cached, so a second run finishes at once.""",
}

STEP2_CODE = """\
result = el.run_shortcut_lab(MODEL_TYPE, STRENGTH, epochs=EPOCHS, seed=SEED)
print(result.summary(LANG))"""

STEP2_FIGURE = """\
figure = el.plot_shortcut_lab(result, examples=4)
plt.show()"""

Q_ACCURACY = {
"ja": """### 問 2（精度）
ショートカットモデルの検証精度とテスト精度はどれだけ違いましたか？ 対照モデルではどうでしたか？
「マーカーがラベルと矛盾する画像」での精度は何を意味しますか？ 検証データだけで評価していたら、何を見逃していたでしょうか？""",
"en": """### Question 2 (accuracy)
How different were the shortcut model's validation and test accuracies? And the control's?
What does the accuracy on "images whose marker contradicts the label" tell you? What would you have missed had you evaluated on the validation data only?""",
}

STEP3 = {
"ja": """## Step 3: 他の説明手法でもマーカーが見えるか

Grad-CAM 以外の手法でも、ショートカットモデルの「異常」の説明がマーカーの角に集まるかを数えます。
`marker peaks` はマーカーのあるテスト画像のうち、マップの最大点がマーカーの角にある割合、
`pointing game` は異常画像のうち、最大点が病変（±2 画素以内）に当たった割合です。""",
"en": """## Step 3: do other explanation methods see the marker too?

Count, for methods other than Grad-CAM, how often the shortcut model's abnormal-class explanation peaks in the marker corner.
`marker peaks` is the fraction of test images with a marker whose map peaks in the marker corner;
`pointing game` is the fraction of abnormal images whose map peaks on a lesion (within 2 pixels).""",
}

STEP3_CODE = """\
test = data.test
images = test.images[:500]  # the first 500 test images keep this step quick on a CPU
marked = np.flatnonzero(test.markers[:500])
abnormal = np.flatnonzero(test.labels[:500] == 1)
region = marker_region(28)
print(f"{'method':22s} {'model':9s} marker peaks  pointing game")
for method in ("gradcam", "layercam", "scorecam", "saliency", "integrated_gradients"):
    for name in ("shortcut", "control"):
        model = result.trained[name].model
        maps = el.gradcam(model, images, target=1, method=method)
        peaks = el.peak_in_region(maps[marked], region).mean()
        pointing = np.nanmean(el.pointing_game(maps[abnormal], test.masks[abnormal]))
        print(f"{method:22s} {name:9s} {peaks:12.0%} {pointing:14.0%}")"""

Q_METHODS = {
"ja": """### 問 3（手法の違い）
対照モデルはマーカーを判断に使っていないはずです（テスト精度が下がりませんでした）。それでも、手法によっては対照モデルのマップがマーカーの角で最大になりました。
なぜだと思いますか？ ショートカットを見つけるとき、1 つの説明手法だけを信じてよいでしょうか？""",
"en": """### Question 3 (methods differ)
The control model should not use the marker (its test accuracy did not drop). Yet with some methods its maps still peak in the marker corner.
Why do you think that is? When hunting for shortcuts, can you trust a single explanation method?""",
}

STEP4 = {
"ja": """## Step 4: その説明はモデルに忠実か（削除・挿入曲線）

マップが重要だと言う画素から順に、画像をぼかした画像で置き換えます（削除）。忠実なマップなら「異常」の確率はすぐに下がります（AUC が小さいほど良い）。
逆に、ぼかした画像に重要な画素から元の画素を戻していくと（挿入）、確率はすぐに上がるはずです（AUC が大きいほど良い）。""",
"en": """## Step 4: is the explanation faithful to the model? (deletion and insertion curves)

Replace pixels with a blurred copy of the image, most important first (deletion): with a faithful map the probability of "abnormal" falls quickly (lower AUC is better).
Reveal the original pixels on the blurred copy, most important first (insertion): the probability should rise quickly (higher AUC is better).""",
}

STEP4_CODE = """\
model = result.trained["shortcut"].model
chosen = np.flatnonzero(test.markers & (test.labels == 1))[:64]
curves = {}
for method in ("gradcam", "saliency"):
    maps = el.gradcam(model, test.images[chosen], target=1, method=method)
    curves[method] = el.deletion_insertion(model, test.images[chosen], maps, target=1)
random_maps = np.random.default_rng(0).random(maps.shape)
curves["random"] = el.deletion_insertion(model, test.images[chosen], random_maps, target=1)
el.plot_deletion_insertion(curves, title="shortcut model, abnormal images with a marker")
plt.show()"""

Q_DISCUSS = {
"ja": """### 問 4（考察）
1. ショートカットモデルの Grad-CAM は、講義の問い「AI はどこに注目しているか」にどう答えましたか？ その領域は医学的に妥当ですか？
2. 実際の病院のデータで、このラボの「マーカー」にあたるものには何がありそうですか？（例：撮影装置、施設、ポータブル撮影の文字、体位の表示…）
3. Grad-CAM で「病変に注目している」ように見えても、それだけではモデルを信頼できないのはなぜですか？ どんな評価を組み合わせるべきでしょうか？""",
"en": """### Question 4 (discussion)
1. How did the shortcut model's Grad-CAM answer the lecture's question "where does the AI look"? Is that region medically plausible?
2. In real hospital data, what could play the role of this lab's "marker"? (e.g. the scanner, the hospital, a "PORTABLE" text label, a laterality marker...)
3. Why is a Grad-CAM that seems to look at the lesion not enough on its own to trust a model? Which evaluations should go with it?""",
}

SUMMARY = {
"ja": """## まとめ

- 学習データに偶然の手がかり（ショートカット）があると、AI は病変ではなくそれを覚えることがある
- 検証データにも同じ手がかりがあれば、精度が高く見えて問題に気づけない。**手がかりが独立したデータ**（外部検証）で評価する
- Grad-CAM はショートカットを**見つける助け**になる。ただし粗く、因果を保証しないので、精度評価や忠実性の指標と組み合わせて解釈する""",
"en": """## Summary

- If the training data holds an accidental cue (a shortcut), an AI may learn the cue instead of the lesions
- If the validation data holds the same cue, the accuracy looks high and the problem stays hidden: evaluate on data where the cue is **independent** of the label (external validation)
- Grad-CAM **helps find** shortcuts, but it is coarse and not causal: interpret it together with accuracy on independent data and faithfulness metrics""",
}


def build(lang: str):
    """The notebook for one language."""
    cells = [
        new_markdown_cell(TITLE[lang]),
        new_code_cell(PARAMETERS, metadata={"tags": ["parameters"]}),
        new_code_cell(SETUP.format(lang=lang)),
        new_markdown_cell(STEP1[lang]),
        new_code_cell(STEP1_CODE),
        new_markdown_cell(Q_PREDICT[lang]),
        new_markdown_cell(ANSWER[lang]),
        new_markdown_cell(STEP2[lang]),
        new_code_cell(STEP2_CODE),
        new_code_cell(STEP2_FIGURE),
        new_markdown_cell(Q_ACCURACY[lang]),
        new_markdown_cell(ANSWER[lang]),
        new_markdown_cell(STEP3[lang]),
        new_code_cell(STEP3_CODE),
        new_markdown_cell(Q_METHODS[lang]),
        new_markdown_cell(ANSWER[lang]),
        new_markdown_cell(STEP4[lang]),
        new_code_cell(STEP4_CODE),
        new_markdown_cell(Q_DISCUSS[lang]),
        new_markdown_cell(ANSWER[lang]),
        new_markdown_cell(SUMMARY[lang]),
    ]
    notebook = new_notebook(cells=cells, metadata={
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"}})
    for number, cell in enumerate(notebook.cells):
        cell["id"] = f"shortcut-lab-{lang}-{number:02d}"  # stable ids: rebuilding changes nothing
    return notebook


def path_of(lang: str) -> Path:
    return HERE / f"shortcut_lab_{lang}.ipynb"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="exit 1 if a written notebook is stale")
    args = parser.parse_args(argv)
    stale = []
    for lang in LANGUAGES:
        text = nbformat.writes(build(lang)) + "\n"
        path = path_of(lang)
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(path)
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}")
    for path in stale:
        print(f"stale: {path} (run python -m assignments.shortcut_lab.build_notebooks)", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
