"""The lecture notebook's own cells run unchanged in a real Jupyter kernel.

The ChestMNIST file is replaced by a small file in MedMNIST's exact format;
only the Colab set-up cell (git clone + pip) is replaced by a plain import.
"""
import shutil

import nbformat
import pytest
from nbclient import NotebookClient

SETUP = """\
import exercise_logic
exercise_logic.initialize_environment()
print("✓ セットアップが完了しました。")"""

LECTURE_CELLS = [
    """\
# 胸部画像データのロード（ChestMNIST）
(x_train, y_train), (x_test, y_test), info = exercise_logic.load_and_preprocess(
    'chestmnist', 
    binary_classification=True
)

print(f"✓ 訓練データ: {x_train.shape}")
print(f"ラベル一覧: {info['label']}")""",
    """\
# 二値分類モデルの構築と学習
model = exercise_logic.build_model(
    input_shape=(28, 28, 3), 
    num_classes=1  # Binary classification: 1 output unit with sigmoid
)

history = model.fit(x_train, y_train, epochs=5, validation_split=0.1, batch_size=128)""",
    """\
# 最初の症例へのGrad-CAMの可視化
exercise_logic.show_gradcam(
    model, 
    x_test[0], 
    title_original="Chest X-ray",
    title_gradcam="AI Focus Region"
)""",
    """\
# 複数の画像を比較する（最初の8症例）
exercise_logic.show_gradcam_comparison(
    model, 
    x_test[:8], 
    cols=4
)""",
    """\
# 例：10症例目の画像を試してみてください
exercise_logic.show_gradcam(model, x_test[10])""",
]
# The kit's addition to the lecture (needs the ``demo`` extra, i.e. Gradio).
EXPLORE_CELL = """\
# 自分のモデルをブラウザで調べる（エクスプローラー・手法の比較・サニティチェック）
demo = exercise_logic.explore(model, x_test[:16], y_test[:16])"""


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_lecture_cells_run_unchanged(isolated_folders, chest_npz, tmp_path):
    shutil.copy(chest_npz, isolated_folders / "chestmnist.npz")
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(source) for source in [SETUP] + LECTURE_CELLS + [EXPLORE_CELL]])
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    check_lecture_outputs(notebook)
    # The explorer opens inline, in the cell's output (the page itself: tests/demo/test_explore_notebook.py).
    assert any("<iframe" in o.get("data", {}).get("text/html", "") for o in notebook.cells[-1].outputs)


def check_lecture_outputs(notebook):
    """The set-up cell, then LECTURE_CELLS, ran without errors and showed what the lecture shows."""
    outputs = [cell.outputs for cell in notebook.cells]
    assert not [o for cell in outputs for o in cell if o.output_type == "error"]
    text = lambda cell: "".join(o.get("text", "") for o in cell)  # noqa: E731
    assert "✓ セットアップが完了しました。" in text(outputs[0])
    assert "✓ 訓練データ: (2000, 28, 28, 3)" in text(outputs[1])
    assert "{'0': 'normal', '1': 'abnormal'}" in text(outputs[1])
    assert "Epoch 5/5" in text(outputs[2])
    for figure_cell in outputs[3:1 + len(LECTURE_CELLS)]:  # the three Grad-CAM cells
        assert any("image/png" in o.get("data", {}) for o in figure_cell)
