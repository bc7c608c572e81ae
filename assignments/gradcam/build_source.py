"""Generate the nbgrader source notebooks of the Grad-CAM assignment (Japanese and English).

    python -m assignments.gradcam.build_source          # writes assignments/source/*/gradcam.ipynb
    python -m assignments.gradcam.build_source --check  # exit 1 if the committed notebooks are stale

Both languages share the code cells (setup, answer, tests); only the prose
differs, read from the message catalogue (``gradcam_notebook.*`` in
``exercise_logic/messages/``). The hidden test blocks carry ``graded_checks.py``'s code
(``spec.hidden_block``), the solution is ``solution_cell.py``.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from exercise_logic.messages import message

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


# The lecture's model answers: only in the source notebook (nbgrader replaces them in the release).
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
        new_markdown_cell(message("gradcam_notebook.title", lang)),
        new_markdown_cell(message("gradcam_notebook.kit", lang)),
        new_code_cell(KIT_CELL),
        _nbgrader(new_code_cell(SETUP), spec.SETUP_CELL, locked=True),
        new_markdown_cell(message("gradcam_notebook.data", lang)),
        new_code_cell(DATA),
        new_markdown_cell(message("gradcam_notebook.train", lang)),
        new_code_cell(TRAIN),
        new_markdown_cell(message("gradcam_notebook.contract", lang)),
        _nbgrader(new_code_cell((HERE / "solution_cell.py").read_text().strip()), spec.SOLUTION_CELL,
                  solution=True),
        new_markdown_cell(message("gradcam_notebook.self_check", lang)),
        new_code_cell(SELF_CHECK.format(lang=lang)),
        new_markdown_cell(message("gradcam_notebook.tests", lang)),
    ]
    for grade_id, (points, _) in spec.TEST_CELLS.items():
        source = QUIET + VISIBLE[grade_id] + "\n\n" + spec.hidden_block(grade_id)
        cells.append(_nbgrader(new_code_cell(source), grade_id, grade=True, locked=True, points=points))
    cells += [new_markdown_cell(message("gradcam_notebook.use", lang)), new_code_cell(USE),
              new_code_cell(USE_REFERENCE), new_code_cell(USE_EXPLORE),
              new_markdown_cell(message("gradcam_notebook.discuss", lang))]
    for grade_id, points in spec.MANUAL_CELLS.items():
        question = new_markdown_cell(message(f"gradcam_notebook.{grade_id}", lang))
        cells.append(_nbgrader(question, grade_id + "_question", locked=True))
        answer = "### BEGIN SOLUTION\n" + message(f"gradcam_notebook.answer.{grade_id}", lang) + "\n### END SOLUTION"
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
