"""Generate the (ungraded) shortcut-learning lab notebooks, Japanese and English.

    python -m assignments.shortcut_lab.build_notebooks          # writes shortcut_lab_{ja,en}.ipynb
    python -m assignments.shortcut_lab.build_notebooks --check  # exit 1 if they are stale

Both languages share the code cells; only the prose (and printed language)
differs, read from the message catalogue (``shortcut_lab_notebook.*`` in
``exercise_logic/messages/``). The parameter cell reads ``SHORTCUT_LAB_EPOCHS`` so that the tests can
run the notebooks top to bottom in seconds.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from exercise_logic.messages import LANGUAGES, message

HERE = Path(__file__).resolve().parent

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

STEP2_CODE = """\
result = el.run_shortcut_lab(MODEL_TYPE, STRENGTH, epochs=EPOCHS, seed=SEED)
print(result.summary(LANG))"""

STEP2_FIGURE = """\
figure = el.plot_shortcut_lab(result, examples=4)
plt.show()"""

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


def build(lang: str):
    """The notebook for one language."""
    cells = [
        new_markdown_cell(message("shortcut_lab_notebook.title", lang)),
        new_code_cell(PARAMETERS, metadata={"tags": ["parameters"]}),
        new_code_cell(SETUP.format(lang=lang)),
        new_markdown_cell(message("shortcut_lab_notebook.step1", lang)),
        new_code_cell(STEP1_CODE),
        new_markdown_cell(message("shortcut_lab_notebook.q_predict", lang)),
        new_markdown_cell(message("shortcut_lab_notebook.answer", lang)),
        new_markdown_cell(message("shortcut_lab_notebook.step2", lang)),
        new_code_cell(STEP2_CODE),
        new_code_cell(STEP2_FIGURE),
        new_markdown_cell(message("shortcut_lab_notebook.q_accuracy", lang)),
        new_markdown_cell(message("shortcut_lab_notebook.answer", lang)),
        new_markdown_cell(message("shortcut_lab_notebook.step3", lang)),
        new_code_cell(STEP3_CODE),
        new_markdown_cell(message("shortcut_lab_notebook.q_methods", lang)),
        new_markdown_cell(message("shortcut_lab_notebook.answer", lang)),
        new_markdown_cell(message("shortcut_lab_notebook.step4", lang)),
        new_code_cell(STEP4_CODE),
        new_markdown_cell(message("shortcut_lab_notebook.q_discuss", lang)),
        new_markdown_cell(message("shortcut_lab_notebook.answer", lang)),
        new_markdown_cell(message("shortcut_lab_notebook.summary", lang)),
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
