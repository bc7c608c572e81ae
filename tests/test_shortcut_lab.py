"""The shortcut-learning lab: library, CLI and the student notebooks, with real (small) training."""
import os
import subprocess
import sys
from pathlib import Path

import matplotlib.figure
import nbformat
import pytest
from nbclient import NotebookClient

import exercise_logic as el

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # the assignments package lives at the repository root
    sys.path.insert(0, str(ROOT))
from assignments.shortcut_lab import build_notebooks  # noqa: E402

EPOCHS = 1  # enough for the marker shortcut; the notebooks get the same value (models are cached)


@pytest.fixture(scope="session")
def lab(model_cache):
    return el.run_shortcut_lab("simple", 0.95, epochs=EPOCHS, seed=0, progress=False)


def test_the_shortcut_model_drops_and_looks_at_the_marker(lab):
    for report in (lab.shortcut, lab.control):
        for value in (report.val_accuracy, report.test_accuracy, report.conflict_accuracy,
                      report.marker_peak, report.pointing):
            assert 0.0 <= value <= 1.0
    assert lab.n_marker_images > 500 and lab.n_abnormal_images > 500
    # The marker follows the label in validation, not in the test set.
    assert lab.accuracy_drop > 10 and lab.accuracy_drop > lab.control_drop + 5
    assert lab.shortcut.conflict_accuracy < lab.control.conflict_accuracy
    assert lab.shortcut.marker_peak > lab.control.marker_peak
    assert set(lab.trained) == {"shortcut", "control"}
    assert lab.trained["shortcut"].settings["marker_strength"] == 0.95
    assert lab.trained["control"].settings["marker_strength"] == 0.0


def test_summary_is_japanese_first_then_english(lab):
    both = lab.summary()
    assert both.index("ショートカット学習ラボ") < both.index("Shortcut-learning lab")
    assert "ポイント" in lab.summary("ja") and "Shortcut" not in lab.summary("ja")
    assert f"{lab.accuracy_drop:.1f} points" in lab.summary("en")
    with pytest.raises(ValueError, match="lang"):
        lab.summary("fr")


def test_figure_and_argument_errors(lab):
    figure = el.plot_shortcut_lab(lab, examples=2)
    assert isinstance(figure, matplotlib.figure.Figure) and len(figure.axes) == 1 + 2 * 2
    with pytest.raises(ValueError, match="strength"):
        el.run_shortcut_lab(strength=0.0)
    with pytest.raises(ValueError, match="epochs"):
        el.run_shortcut_lab(epochs=0)


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "exercise_logic", *args], check=False, capture_output=True,
                          text=True,
                          env=dict(os.environ), timeout=600)


def test_cli_shortcut_lab_and_metrics(lab, tmp_path):
    figure = tmp_path / "lab.png"
    result = run_cli("shortcut-lab", "--epochs", str(EPOCHS), "--lang", "en", "--figure", str(figure))
    assert result.returncode == 0, result.stderr
    assert "Shortcut-learning lab" in result.stdout and figure.stat().st_size > 10_000
    result = run_cli("metrics", "--epochs", str(EPOCHS), "--methods", "gradcam,saliency", "--images", "16",
                     "--sanity-images", "4", "--steps", "4")
    assert result.returncode == 0, result.stderr
    assert "| gradcam |" in result.stdout and "| saliency |" in result.stdout


@pytest.mark.parametrize("args, message", [
    (("shortcut-lab", "--strength", "1.5"), "strength"),
    (("metrics", "--dataset", "chestmnist"), "synthetic"),
    (("metrics", "--epochs", str(EPOCHS), "--methods", "gradcam,nope"), "methods"),
])
def test_cli_errors_are_one_line(model_cache, args, message):
    result = run_cli(*args)
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error:") and message in last and "Traceback" not in result.stderr


def test_notebooks_are_built_from_their_source():
    assert build_notebooks.main(["--check"]) == 0


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("lang", ["ja", "en"])
def test_notebook_runs_top_to_bottom(lab, lang, monkeypatch):
    monkeypatch.setenv("SHORTCUT_LAB_EPOCHS", str(EPOCHS))  # the kernel inherits the environment
    notebook = nbformat.read(build_notebooks.path_of(lang), as_version=4)
    NotebookClient(notebook, timeout=300, kernel_name="python3", allow_errors=False).execute()
    outputs = "".join(output.get("text", "") for cell in notebook.cells if cell.cell_type == "code"
                      for output in cell.get("outputs", []))
    assert ("ショートカット学習ラボ" if lang == "ja" else "Shortcut-learning lab") in outputs
    assert "marker peaks" in outputs
    images = sum("image/png" in output.get("data", {}) for cell in notebook.cells
                 if cell.cell_type == "code" for output in cell.get("outputs", []))
    assert images >= 3
