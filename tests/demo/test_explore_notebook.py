"""``exercise_logic.explore`` from a real Jupyter kernel, checked in Chromium against the model itself.

nbclient runs a notebook that trains the lecture CNN for one epoch and calls
``explore(model, x_test[:16], y_test[:16], port=...)``; while the kernel is
alive, Playwright opens the page and selects an image. The shown probabilities
must equal ``model.predict`` on that image (2 decimals) and the heatmap must be
``exercise_logic.gradcam`` of the default target ("abnormal"), drawn.
"""
from __future__ import annotations

import io
import shutil

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient
from PIL import Image

CELLS = [
    """\
import numpy as np
import exercise_logic
exercise_logic.initialize_environment(seed=0)
(x_train, y_train), (x_test, y_test), info = exercise_logic.load_and_preprocess(
    'chestmnist', binary_classification=True)""",
    """\
model = exercise_logic.build_model(input_shape=(28, 28, 3), num_classes=1)
history = model.fit(x_train, y_train, epochs=1, validation_split=0.1, batch_size=128, verbose=0)""",
    """\
demo = exercise_logic.explore(model, x_test[:16], y_test[:16], port={port})""",
    """\
np.savez({reference!r}, probabilities=model.predict(x_test[:16], verbose=0)[:, 0],
         maps=np.concatenate([exercise_logic.gradcam(model, x_test[i:i + 1], target=1) for i in range(16)]),
         images=x_test[:16])""",
]


def _pixels(page, selector: str) -> np.ndarray:
    body = page.request.get(page.get_attribute(selector, "src")).body()
    with Image.open(io.BytesIO(body)) as image:
        return np.asarray(image.convert("RGB"))


def _shown_percent(page, name: str) -> int:
    """The whole percent the prediction panel shows for a class (its row's meter and text)."""
    row = page.locator(f'#prediction [data-testid="{name}-confidence-set"]')
    value = int(row.locator("meter").get_attribute("aria-valuenow"))
    assert f"{value}%" in row.inner_text()
    return value


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_explore_from_a_notebook_shows_the_models_own_answers(isolated_folders, chest_npz, tmp_path, browser):
    from demo.server_process import free_port

    from exercise_logic.explorer.handlers import render
    shutil.copy(chest_npz, isolated_folders / "chestmnist.npz")
    port, reference = free_port(), tmp_path / "reference.npz"
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell(source.format(port=port, reference=str(reference))) for source in CELLS])
    client = NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})
    with client.setup_kernel():
        for index, cell in enumerate(notebook.cells):
            client.execute_cell(cell, index)
        errors = [output for cell in notebook.cells for output in cell.outputs if output.output_type == "error"]
        assert errors == [], errors
        # In Jupyter the page is shown inline, in the cell's output.
        shown_inline = [output for output in notebook.cells[2].outputs if output.output_type == "display_data"]
        assert any(f":{port}" in output["data"].get("text/html", "") for output in shown_inline), shown_inline

        expected = np.load(reference)
        context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 1800})
        context.set_default_timeout(30_000)
        try:
            page = context.new_page()
            page.goto(f"http://127.0.0.1:{port}/")
            page.wait_for_function("""() => { const img = document.querySelector('#heatmap img');
                                              return img && img.complete && img.naturalWidth > 0; }""")
            assert page.locator("#sample-gallery .thumbnail-item").count() == 16
            assert page.get_by_role("tab", name="Shortcut lab").count() == 0   # not for a student's model
            for position in (5, 2):
                before = page.get_attribute("#heatmap img", "src")
                page.locator("#sample-gallery .thumbnail-item").nth(position).click()
                page.wait_for_function("""old => { const img = document.querySelector('#heatmap img');
                    return img && img.src !== old && img.complete && img.naturalWidth > 0; }""", arg=before)
                p = float(expected["probabilities"][position])
                page.wait_for_function(
                    """n => { const m = document.querySelector('#prediction [data-testid="abnormal-confidence-set"] meter');
                              return m && m.getAttribute('aria-valuenow') === n; }""",
                    arg=str(int(np.floor(100 * p + 0.5))))   # whole percents: p to 2 decimals
                assert _shown_percent(page, "abnormal") == int(np.floor(100 * p + 0.5))
                assert _shown_percent(page, "normal") == int(np.floor(100 * (1 - p) + 0.5))
                drawn = render(expected["images"][position], expected["maps"][position])[1].astype(int)
                shown = _pixels(page, "#heatmap img").astype(int)
                # The same map, drawn the same way: float32 rounding may move a pixel across a colour step.
                assert shown.shape == drawn.shape == (224, 224, 3)
                assert np.abs(shown - drawn).max() <= 8 and (shown != drawn).mean() < 1e-3
        finally:
            context.close()
        notebook.cells.append(nbformat.v4.new_code_cell("demo.close()"))
        client.execute_cell(notebook.cells[-1], len(notebook.cells) - 1)



def test_explore_is_off_where_a_grader_turns_it_off(monkeypatch, capsys):
    """``EXERCISE_LOGIC_EXPLORE=off`` (set by ``python -m grader``): a note, no server, no thread."""
    import threading

    import exercise_logic as el
    from exercise_logic.explorer.notebook import SWITCH
    monkeypatch.setenv(SWITCH, "off")
    threads = set(threading.enumerate())
    model = el.build_model((28, 28, 3), 1)
    assert el.explore(model, np.zeros((2, 28, 28, 3), np.float32)) is None
    assert set(threading.enumerate()) <= threads
    printed = capsys.readouterr().out
    assert "開きません" in printed and "not opened" in printed and f"{SWITCH}=off" in printed


def test_explore_without_gradio_says_how_to_add_it():
    import subprocess
    import sys
    script = ("import sys; sys.modules['gradio'] = None\n"
              "import exercise_logic as el\n"
              "try:\n    el.explore(None, None)\nexcept ImportError as error:\n    print(error)\n")
    printed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120).stdout
    assert "Gradio が必要です" in printed and "[demo]" in printed and "pip install gradio" in printed
