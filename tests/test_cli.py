"""``python -m exercise_logic``: real subprocesses, PNG output, one-line errors."""
import os
import subprocess
import sys

import numpy as np
from PIL import Image


def run_cli(*args, env_extra=None):
    env = {**os.environ, **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "exercise_logic", *args], capture_output=True,
                          text=True, env=env, timeout=600)


def test_help_lists_the_commands():
    result = run_cli("--help")
    assert result.returncode == 0
    for command in ("datasets", "download", "train", "explain"):
        assert command in result.stdout


def test_explain_writes_a_panel_and_datasets_lists_the_cache(tmp_path, model_cache):
    output = tmp_path / "out" / "panel.png"
    result = run_cli("explain", "--index", "3", "--epochs", "1", "--target", "0", "-o", str(output))
    assert result.returncode == 0, result.stderr
    assert "explained class: normal" in result.stdout
    panel = np.asarray(Image.open(output))
    assert panel.shape == (224, 3 * 224 + 16, 3)
    assert panel[:, :224].std() > 0 and panel[:, -224:].std() > 0
    listing = run_cli("datasets")
    assert listing.returncode == 0 and "synthetic" in listing.stdout
    assert "synthetic 28px simple epochs=1" in listing.stdout

    upload = tmp_path / "xray16.png"
    ramp = (np.linspace(0, 4095, 40 * 50).reshape(40, 50)).astype(np.uint16)
    Image.fromarray(ramp).save(upload)  # a 16-bit, non-square file
    result = run_cli("explain", "--image", str(upload), "--epochs", "1", "-o", str(output))
    assert result.returncode == 0, result.stderr


def test_errors_are_one_clear_line(tmp_path, model_cache):
    fake = tmp_path / "notes.png"
    fake.write_text("not an image")
    result = run_cli("explain", "--image", str(fake), "--epochs", "1")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("error: notes.png")
    offline = run_cli("download", "chestmnist", env_extra={"MEDMNIST_MIRROR": "http://127.0.0.1:9"})
    assert offline.returncode == 2
    last = offline.stderr.strip().splitlines()[-1]
    assert last.startswith("error:") and "'chestmnist'" in last and "synthetic" in last
    assert "Traceback" not in offline.stderr
