"""Generate the nbgrader source notebooks of the Grad-CAM assignment (Japanese and English).

    python -m assignments.gradcam.build_source          # writes assignments/source/*/gradcam.ipynb
    python -m assignments.gradcam.build_source --check  # exit 1 if the committed notebooks are stale

Both languages share the code cells (setup, answer, tests); only the prose
differs. The hidden test blocks carry ``graded_checks.py``'s code (``spec.hidden_block``),
the solution is ``solution_cell.py``.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from . import spec

HERE = Path(__file__).resolve().parent
SOURCE_ROOT = HERE.parent / "source"


def _nbgrader(cell, grade_id, *, grade=False, solution=False, locked=False, points=0, task=False):
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
            "solution": solution, "task": task}
    if grade:
        meta["points"] = points
    cell.metadata["nbgrader"] = meta
    if locked:
        cell.metadata["editable"] = False
        cell.metadata["deletable"] = False
    return cell


T = {
"title": {
"ja": """# 第3回 演習：Grad-CAM を自分で実装する

## 学習目標
- Grad-CAM の計算（勾配 → チャネル重み → 重み付き和 → ReLU → 正規化 → 拡大）を自分の手で実装する
- AI が画像の「どこを見て」判断しているかを可視化し、その医学的な妥当性と限界を考える

**操作方法**: `Shift + Enter` でセルを上から順に実行してください。セッションが切れたら上から再実行すれば復旧できます。

**採点について**: `compute_gradcam` は自動採点（10 点）、最後の考察 3 問は講師が採点します（各 2 点）。
テストのセル（🔒）は編集しないでください。自動採点では、あなたの `compute_gradcam` のセルだけを取り出し、
隠しテスト（別のモデル・別の層・別のクラス・正方形でない画像）で参照実装と比べます。
`compute_gradcam` のセルには、動くために必要な import と関数定義をすべて書いてください。""",
"en": """# Lecture 3 exercise: implement Grad-CAM yourself

## Learning goals
- Implement the Grad-CAM computation by hand (gradients → channel weights → weighted sum → ReLU → normalisation → upsampling)
- Visualise where the AI "looks" when it decides, and discuss whether that is medically plausible and where it stops being useful

**How to run**: press `Shift + Enter` on each cell from the top. If the session drops, run everything again from the top.

**Grading**: `compute_gradcam` is graded automatically (10 points); the three discussion questions at the end are graded by your instructor (2 points each).
Do not edit the test cells (🔒). The autograder takes only your `compute_gradcam` cell and compares it with the reference
implementation on hidden tests (other models, other layers, other classes, non-square images).
Put every import and definition your function needs into the `compute_gradcam` cell itself."""},
"kit": {
"ja": """## Step 0: 環境構築
JupyterHub や自分の PC で講師がキット（`exercise_logic`、この講義の補助ライブラリ）を入れてある場合は、そのまま次の 2 つのセルを実行します。
Google Colab などキットが無い場所では、次のセルの `KIT_SOURCE` に講師から指示されたインストール元（pip で入れられる git の URL や
wheel ファイル）を書いてから実行してください。セットアップのセルは、何をどこで見つけたかを 1 行で表示します。""",
"en": """## Step 0: setup
Where your instructor has installed the kit (`exercise_logic`, the lecture's helper library), on a JupyterHub or your own PC, just run
the next two cells. Where it is missing, e.g. on Google Colab, first put the install source your instructor gave you (a pip-installable
git URL or wheel file) into `KIT_SOURCE` in the next cell. The setup cell says in one line what it found, and how."""},
"data": {
"ja": """## Step 1: データの準備
ChestMNIST（胸部X線画像）が手元にあればそれを、なければオフラインで使える合成データ（synthetic）を使います。
どちらも **二値分類**（正常 0 / 異常 1）です。""",
"en": """## Step 1: load the data
ChestMNIST (chest X-rays) is used when it is available locally; otherwise the offline synthetic data set.
Both are **binary** (normal 0 / abnormal 1)."""},
"train": {
"ja": """## Step 2: 講義の CNN を学習（または読み込み）
講義と同じ CNN（Conv32 → MaxPool → Conv64 `last_conv_layer` → MaxPool → Flatten → Dense64 → Dropout → Dense(1, sigmoid)）です。
一度学習したモデルはキャッシュされ、2 回目からはすぐに読み込まれます。""",
"en": """## Step 2: train (or load) the lecture's CNN
The same CNN as in the lecture (Conv32 → MaxPool → Conv64 `last_conv_layer` → MaxPool → Flatten → Dense64 → Dropout → Dense(1, sigmoid)).
A trained model is cached, so the second run loads it at once."""},
"contract": {
"ja": r"""## Step 3: Grad-CAM を実装する

`compute_gradcam(model, img_array, last_conv_layer_name='last_conv_layer', class_index=None)` を完成させてください。

**入力**: `img_array` は形状 `(1, H, W, C)` の float 画像（バッチ 1 枚）。
**出力**: 形状 `(H, W)`（入力画像と同じ高さ・幅）の float 配列。値は `[0, 1]`。

**手順**（$A^k$ は層 `last_conv_layer_name` の出力の第 $k$ チャネル、大きさ $h \times w$）:
1. **スコア $y$**: 出力層の活性化関数（sigmoid / softmax）を通す **前** の値（ロジット）$z$ を使います。
   - 講義の二値モデル（出力 1 つ、sigmoid）: `class_index` が `1` または `None` なら「異常」を説明し $y = z$、`0` なら「正常」を説明し $y = -z$。
     （sigmoid の確率 $p$ や $1-p$ を微分しても、正規化後は同じマップになります。）
   - 多クラスモデル（softmax）: $y = z_c$。`class_index=None` なら予測クラス $c = \arg\max z$。
2. **勾配**: $G^k = \partial y / \partial A^k$（`tf.GradientTape`）。
3. **チャネル重み**: $\alpha_k = \frac{1}{h w}\sum_{i,j} G^k_{ij}$（**空間方向の平均**）。
4. **重み付き和と ReLU**: $L = \mathrm{ReLU}\left(\sum_k \alpha_k A^k\right)$（形状 $h \times w$）。
5. **正規化**: $L$ をその最大値で割る。全て 0 のマップは 0 のまま（0 で割らない）。
6. **拡大**: `tf.image.resize(..., (H, W), method="bilinear")` で入力の大きさ `(H, W)` に拡大する（高さが先）。

**ヒント**: 講義のモデルは sigmoid/softmax が最後の Dense 層に組み込まれています。conv 層の出力とロジットは次のように取り出せます。
```python
head = model.layers[-1]                      # 出力の Dense 層
features = img_array
for layer in model.layers[:-1]:              # 層を 1 つずつ実行する（GradientTape の中で）
    features = layer(features, training=False)
    if layer.name == last_conv_layer_name:
        conv_out = features                  # A: 指定した conv 層の出力
logits = features @ head.kernel + head.bias  # sigmoid/softmax の前の値
```
`exercise_logic.compute_gradcam` は参照実装です。**採点ではあなたの関数から呼び出すことはできません。**""",
"en": r"""## Step 3: implement Grad-CAM

Complete `compute_gradcam(model, img_array, last_conv_layer_name='last_conv_layer', class_index=None)`.

**Input**: `img_array`, a float image of shape `(1, H, W, C)` (a batch of one).
**Output**: a float array of shape `(H, W)` (the input's height and width) with values in `[0, 1]`.

**Steps** ($A^k$ is channel $k$ of the output of layer `last_conv_layer_name`, of size $h \times w$):
1. **Score $y$**: the value **before** the output activation (sigmoid / softmax), the logit $z$.
   - The lecture's binary model (one sigmoid output): `class_index` `1` or `None` explains "abnormal", $y = z$; `0` explains "normal", $y = -z$.
     (Differentiating the sigmoid probability $p$, or $1-p$, gives the same map after normalisation.)
   - A multi-class (softmax) model: $y = z_c$; `class_index=None` means the predicted class $c = \arg\max z$.
2. **Gradients**: $G^k = \partial y / \partial A^k$ (`tf.GradientTape`).
3. **Channel weights**: $\alpha_k = \frac{1}{h w}\sum_{i,j} G^k_{ij}$ (the **spatial mean**).
4. **Weighted sum and ReLU**: $L = \mathrm{ReLU}\left(\sum_k \alpha_k A^k\right)$ (shape $h \times w$).
5. **Normalise**: divide $L$ by its maximum. An all-zero map stays zero (never divide by 0).
6. **Upsample**: `tf.image.resize(..., (H, W), method="bilinear")` to the input size `(H, W)` (height first).

**Hint**: the lecture's model has the sigmoid/softmax fused into its last Dense layer. Get the conv output and the logits like this:
```python
head = model.layers[-1]                      # the output Dense layer
features = img_array
for layer in model.layers[:-1]:              # run the layers one by one (inside the GradientTape)
    features = layer(features, training=False)
    if layer.name == last_conv_layer_name:
        conv_out = features                  # A: the chosen conv layer's output
logits = features @ head.kernel + head.bias  # the value before sigmoid/softmax
```
(`keras.Model(model.inputs, [conv.output, ...])` works on a freshly built model but can give no gradients on a model loaded from a file.)
`exercise_logic.compute_gradcam` is the reference implementation. **Your function may not call it: the grader blocks that.**"""},
"self_check": {
"ja": """### 提出前の自己チェック
次のセルは、あなたの `compute_gradcam` を合成の胸部X線（病変つき）のいくつかのケース（講義の CNN、4 クラスの CNN、正方形でない画像、
最初の畳み込み層、あなたのモデル）で参照実装と比べます。違うときは、考えられる間違いと手順のヒントを示し、あなたのマップと参照マップを
X線の上に並べて描きます。1 秒ほどなので、編集するたびに実行できます。**採点には使われません**（点数は隠しテストで決まります）。""",
"en": """### Self-check before you submit
The next cell compares your `compute_gradcam` with the reference implementation on a few synthetic chest X-rays with a lesion
(the lecture's CNN, a 4-class CNN, a non-square image, the first conv layer, your model). Where they differ it names the likely
mistake with a hint to the step of the recipe, and draws your map beside the reference map over the X-ray. It takes about a
second, so run it after every edit. **It is not graded** (the hidden tests decide the grade)."""},
"tests": {
"ja": "### 🔒 テスト（編集しないでください）\n次のセルを実行すると、すぐに分かる間違いを確認できます。採点は隠しテストで行います。",
"en": "### 🔒 Tests (do not edit)\nRun the next cells for quick feedback on obvious mistakes. The grade comes from hidden tests."},
"use": {
"ja": """## Step 4: いくつかの画像に使ってみる
あなたの `compute_gradcam` で、テスト画像 8 枚のヒートマップを重ねて表示します（赤 = 強く注目、青 = あまり注目していない）。
下のセルでは参照実装（`exercise_logic.show_gradcam_comparison`）の結果と見比べられます。""",
"en": """## Step 4: use it on several images
Your `compute_gradcam` overlaid on 8 test images (red = strong focus, blue = little focus).
The cell after it shows the reference implementation (`exercise_logic.show_gradcam_comparison`) for comparison."""},
"discuss": {
"ja": "## Step 5: 考察課題\n各問に自分の言葉で答えてください（講師が採点します）。",
"en": "## Step 5: discussion\nAnswer each question in your own words (graded by your instructor)."},
"q1_where": {
"ja": "**問 1.** AI は画像のどの領域に注目していますか？ Step 4 のヒートマップから、具体的に述べてください。",
"en": "**Question 1.** Where does the model look? Describe it concretely from the heatmaps of Step 4."},
"q2_plausible": {
"ja": "**問 2.** その注目領域は医学的に妥当だと考えますか？ 妥当性をどう確かめるかも含めて述べてください。",
"en": "**Question 2.** Is that focus medically plausible? Include how you would check it."},
"q3_clinic": {
"ja": "**問 3.** Grad-CAM のような説明可能な AI（XAI）は臨床現場でどのように役立ちますか？ また、その限界は何ですか？",
"en": "**Question 3.** What is explainable AI such as Grad-CAM worth in a clinic, and what are its limits?"},
}

# The lecture's model answers: only in the source notebook (nbgrader replaces them in the release).
ANSWERS = {
"q1_where": {
"ja": """（回答例）胸部X線では、肺野・心陰影・横隔膜などの領域が注目されることが多い一方、背景や画像周辺に反応する場合もある。
病変がある場合は病変周囲が強調されるのが望ましいが、撮影条件・マーカー・周辺情報などに依存した「ショートカット特徴」を学習している可能性もある。""",
"en": """(Model answer) On chest X-rays the maps often highlight the lung fields, the cardiac silhouette or the diaphragm, but the model may also react to the background or the image border.
Ideally a lesion's surroundings light up; the model may, however, have learnt "shortcut" features such as acquisition conditions, markers or text."""},
"q2_plausible": {
"ja": """（回答例）解剖学的に意味のある領域（肺・心臓など）に注目しているかを確認する。画像の端・背景・文字情報が強く出る場合は不適切な特徴学習を疑う。
医師の注目領域との比較や、施設・機器を跨いだ外部検証で一貫性を確かめる。""",
"en": """(Model answer) Check whether the focus lies on anatomically meaningful regions (lungs, heart). Strong focus on the border, background or text suggests the model learnt the wrong features.
Compare with where clinicians look, and check consistency with external validation across sites and devices."""},
"q3_clinic": {
"ja": """（回答例）デバッグ・品質管理（不適切な領域への依存の発見）や教育（所見と領域の対応の議論）に役立つ。
ただし可視化は粗く、因果的な根拠を保証しないため、性能評価や外部検証とセットで解釈する。説明可能性は万能ではなく、
意図された使用とリスクに応じて透明性・評価・監視を総合的に整える必要がある。""",
"en": """(Model answer) Useful for debugging and quality control (finding reliance on the wrong regions) and for teaching (discussing which regions match which findings).
But the maps are coarse and do not prove a causal basis, so read them together with performance evaluation and external validation. Explainability is no universal requirement:
transparency, evaluation and monitoring must be matched to the intended use and its risks."""},
}

KIT_CELL = '''# インストール元（Colab などで exercise_logic が無い場合のみ、講師の指示どおりに書き換え）
# Install source (change it only if your instructor tells you to, e.g. on Colab)
KIT_SOURCE = ""'''

SETUP = '''# 🔒 環境セットアップ / setup (do not edit)
import importlib, importlib.util, os, site, subprocess, sys


def _found(how_ja, how_en):
    """Import exercise_logic and say in one line what was found, and how."""
    module = importlib.import_module("exercise_logic")
    where = os.path.dirname(module.__file__)
    print(f"✓ exercise_logic {module.__version__}: {how_ja} / {how_en} ({where})")
    return module


def _locate_exercise_logic():
    """Import exercise_logic: installed, in a kit checkout nearby, or pip-installed from KIT_SOURCE."""
    if importlib.util.find_spec("exercise_logic"):
        return _found("インストール済みのものを使います", "using the installed package")
    here = os.path.abspath(os.getcwd())
    for _ in range(4):                       # a kit checkout: this folder or one above it
        if os.path.isfile(os.path.join(here, "exercise_logic", "__init__.py")):
            sys.path.insert(0, here)
            return _found("キットのフォルダのものを使います", "using the kit folder")
        here = os.path.dirname(here)
    source = globals().get("KIT_SOURCE") or os.environ.get("EXERCISE_LOGIC_SOURCE", "")
    if source:
        print(f"exercise_logic をインストールします / installing exercise_logic from {source} ...")
        pip = subprocess.run([sys.executable, "-m", "pip", "install", "-q", source],
                             capture_output=True, text=True)
        if pip.returncode != 0:
            print(pip.stdout[-2000:] + pip.stderr[-3000:], file=sys.stderr)
            raise ImportError(
                f"KIT_SOURCE（{source}）からインストールできませんでした（pip の出力は上）。"
                "講師から指示されたインストール元と同じか確かめてください。\\n"
                f"Installing from KIT_SOURCE ({source}) failed (pip's output is above): "
                "check that it is the source your instructor gave you.")
        importlib.invalidate_caches()
        # Where site-packages is read-only (a JupyterHub), pip installs into the user's
        # site-packages, which is not on sys.path if it did not exist when Python started.
        user_site = site.getusersitepackages()
        if site.ENABLE_USER_SITE and os.path.isdir(user_site) and user_site not in sys.path:
            site.addsitedir(user_site)
        if importlib.util.find_spec("exercise_logic"):
            return _found("KIT_SOURCE からインストールしました", "installed from KIT_SOURCE")
    raise ImportError(
        "exercise_logic が見つかりません。次のどれかをしてください: (1) 講義キットのフォルダでこのノートブックを開く、"
        "(2) `pip install <キットのフォルダ or URL>` を実行する、(3) 上のセルの KIT_SOURCE に講師から指示された"
        "インストール元を書いて再実行する。\\n"
        "exercise_logic was not found. Either (1) open this notebook inside the kit's folder, "
        "(2) run `pip install <kit folder or URL>`, or (3) put the install source your instructor gave you "
        "into KIT_SOURCE in the cell above and run again.")


el = _locate_exercise_logic()
import logging
import warnings
import numpy as np
import tensorflow as tf
import keras
import matplotlib.pyplot as plt

# nbgrader counts any output on stderr (warnings, TensorFlow logs) in a test cell as a failure
warnings.filterwarnings("ignore")
logging.getLogger("tensorflow").setLevel(logging.ERROR)

el.initialize_environment(seed=0)
print("✓ セットアップが完了しました / setup complete")'''

DATA = '''DATASET = "chestmnist" if "chestmnist" in [name for name, _ in el.available_datasets()] else "synthetic"
data = el.load_dataset(DATASET)
x_test, y_test = data.test.images, data.test.labels
print(f"✓ {DATASET}: train {data.train.images.shape}, test {x_test.shape}, labels {data.class_names('ja')} / {data.class_names('en')}")'''

TRAIN = '''trained = el.train_or_load(DATASET, "simple", epochs=5, progress=False)
model = trained.model
model.summary()
print("test metrics:", trained.metrics)'''

USE = '''indices = list(range(8))
probs = model.predict(x_test[indices], verbose=0)[:, 0]
fig, axes = plt.subplots(2, 4, figsize=(12, 6))
for ax, i in zip(axes.ravel(), indices):
    heatmap = compute_gradcam(model, x_test[i:i + 1])
    ax.imshow(el.overlay(x_test[i], heatmap))
    ax.set_title(f"label {int(np.ravel(y_test[i])[0])}, p(abnormal)={probs[indices.index(i)]:.2f}")
    ax.axis("off")
plt.tight_layout()
plt.show()'''

USE_REFERENCE = '''el.show_gradcam_comparison(model, x_test[:8], cols=4)'''

USE_EXPLORE = '''# このモデルをブラウザで調べる（クラス・層・手法を変える、手法の比較、サニティチェック）
# Explore this model interactively: classes, layers, methods, method comparison, sanity check
try:
    el.explore(model, x_test[:16], y_test[:16])
except ImportError as error:  # Gradio is not installed here: the message says how to add it
    print(error)'''

SELF_CHECK = """# 提出前の自己チェック（採点には使われません） / self-check before you submit (not graded)
check = el.self_check(compute_gradcam, model, lang="{lang}")"""

QUIET = "warnings.simplefilter(\"ignore\")  # any stderr output would fail this test cell under nbgrader\n"

VISIBLE = {
"test_gradcam_basic": '''# Shape, range, no NaN on the lecture's binary CNN
keras.utils.set_random_seed(1)
_model = el.build_model((28, 28, 3), 1)
_img = np.random.default_rng(0).random((1, 28, 28, 3), dtype=np.float32)
_heatmap = np.asarray(compute_gradcam(_model, _img))
assert _heatmap.shape == (28, 28), f"形状 / shape {_heatmap.shape}: (H, W) = (28, 28) のはず / expected (28, 28)"
assert np.all(np.isfinite(_heatmap)), "NaN / inf があります / contains NaN or inf"
assert _heatmap.min() >= 0 and _heatmap.max() <= 1 + 1e-4, "値は [0, 1] / values must lie in [0, 1]"
assert _heatmap.max() == 0 or abs(_heatmap.max() - 1) < 0.1, "最大値で割りましたか？ / did you divide by the max?"
print("✓ OK")''',
"test_gradcam_known": '''# A known case: 1x1 conv of weight 1 and a Dense(1) of weights 1, so dz/dA = 1 everywhere:
# Grad-CAM of a positive image is the image divided by its max ("abnormal"), and zeros for "normal".
_known = keras.Sequential([
    keras.layers.Input(shape=(4, 6, 1)),
    keras.layers.Conv2D(1, 1, use_bias=False, kernel_initializer="ones", name="last_conv_layer"),
    keras.layers.Flatten(),
    keras.layers.Dense(1, activation="sigmoid", kernel_initializer="ones")])
_ramp = (np.arange(1, 25, dtype=np.float32) / 24.0).reshape(1, 4, 6, 1)
_abnormal = np.asarray(compute_gradcam(_known, _ramp, class_index=1))
assert _abnormal.shape == (4, 6), f"形状 / shape {_abnormal.shape}: (H, W) = (4, 6) のはず / expected (4, 6)"
assert np.max(np.abs(_abnormal - _ramp[0, :, :, 0] / _ramp.max())) < 1e-3, "異常クラスの既知の答えと違います / wrong answer for the known case"
_normal = np.asarray(compute_gradcam(_known, _ramp, class_index=0))
assert np.max(np.abs(_normal)) < 1e-6, "正常クラス（-z）では全て 0 のはず / the 'normal' map (-z) must be all zeros"
print("✓ OK")''',
"test_gradcam_classes": '''# Every class of a 4-class softmax model gives a valid map
keras.utils.set_random_seed(2)
_model = el.build_model((28, 28, 3), 4)
_img = np.random.default_rng(1).random((1, 28, 28, 3), dtype=np.float32)
for _c in [None, 0, 1, 2, 3]:
    _heatmap = np.asarray(compute_gradcam(_model, _img, class_index=_c))
    assert _heatmap.shape == (28, 28) and np.all(np.isfinite(_heatmap)), f"class_index={_c}"
    assert _heatmap.min() >= 0 and _heatmap.max() <= 1 + 1e-4, f"class_index={_c}: [0, 1]"
print("✓ OK")''',
"test_gradcam_layers": '''# Another conv layer, chosen by name
keras.utils.set_random_seed(3)
_model = el.build_model((28, 28, 3), 1)
_first = [layer.name for layer in _model.layers if isinstance(layer, keras.layers.Conv2D)][0]
_img = np.random.default_rng(2).random((1, 28, 28, 3), dtype=np.float32)
_heatmap = np.asarray(compute_gradcam(_model, _img, last_conv_layer_name=_first))
assert _heatmap.shape == (28, 28) and np.all(np.isfinite(_heatmap)), "first conv layer"
print("✓ OK")''',
"test_gradcam_shapes": '''# A non-square input: the map has the input's (height, width)
keras.utils.set_random_seed(4)
_model = el.build_model((24, 32, 3), 1)
_img = np.random.default_rng(3).random((1, 24, 32, 3), dtype=np.float32)
_heatmap = np.asarray(compute_gradcam(_model, _img))
assert _heatmap.shape == (24, 32), f"形状 / shape {_heatmap.shape}: (H, W) = (24, 32) のはず / expected (24, 32)"
print("✓ OK")''',
}


def build(lang: str):
    cells = [
        new_markdown_cell(T["title"][lang]),
        new_markdown_cell(T["kit"][lang]),
        new_code_cell(KIT_CELL),
        _nbgrader(new_code_cell(SETUP), spec.SETUP_CELL, locked=True),
        new_markdown_cell(T["data"][lang]),
        new_code_cell(DATA),
        new_markdown_cell(T["train"][lang]),
        new_code_cell(TRAIN),
        new_markdown_cell(T["contract"][lang]),
        _nbgrader(new_code_cell((HERE / "solution_cell.py").read_text().strip()), spec.SOLUTION_CELL,
                  solution=True),
        new_markdown_cell(T["self_check"][lang]),
        new_code_cell(SELF_CHECK.format(lang=lang)),
        new_markdown_cell(T["tests"][lang]),
    ]
    for grade_id, (points, _) in spec.TEST_CELLS.items():
        source = QUIET + VISIBLE[grade_id] + "\n\n" + spec.hidden_block(grade_id)
        cells.append(_nbgrader(new_code_cell(source), grade_id, grade=True, locked=True, points=points))
    cells += [new_markdown_cell(T["use"][lang]), new_code_cell(USE), new_code_cell(USE_REFERENCE),
              new_code_cell(USE_EXPLORE), new_markdown_cell(T["discuss"][lang])]
    for grade_id, points in spec.MANUAL_CELLS.items():
        cells.append(_nbgrader(new_markdown_cell(T[grade_id][lang]), grade_id + "_question", locked=True))
        answer = "### BEGIN SOLUTION\n" + ANSWERS[grade_id][lang] + "\n### END SOLUTION"
        cells.append(_nbgrader(new_markdown_cell(answer), grade_id, grade=True, solution=True, points=points))
    notebook = new_notebook(cells=cells)
    notebook.metadata.update({
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
        "gradcam_assignment": {"lang": lang, "assignment": spec.ASSIGNMENTS[lang]},
    })
    for index, cell in enumerate(notebook.cells):
        cell["id"] = f"{lang}-{index:02d}"
    return notebook


def target(lang: str) -> Path:
    return SOURCE_ROOT / spec.ASSIGNMENTS[lang] / f"{spec.NOTEBOOK}.ipynb"


def render(lang: str) -> str:
    return nbformat.writes(build(lang)) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check that the notebooks are up to date")
    args = parser.parse_args(argv)
    stale = []
    for lang in spec.ASSIGNMENTS:
        path, text = target(lang), render(lang)
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(str(path))
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}")
    if stale:
        print("stale (run python -m assignments.gradcam.build_source):", *stale, sep="\n  ")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
