"""The assignment's setup cell when something is wrong: each case gets its own message."""
from __future__ import annotations

import subprocess
import sys

from assignments.gradcam.build_source import KIT_CELL, SETUP


def run_setup(tmp_path, prelude: str, kit_source: str = "") -> subprocess.CompletedProcess:
    code = prelude + KIT_CELL.replace('KIT_SOURCE = ""', f"KIT_SOURCE = {kit_source!r}") + "\n" + SETUP
    return subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300)


def test_a_wrong_kit_source_says_the_install_failed(tmp_path):
    wrong = str(tmp_path / "no-such-kit")
    done = run_setup(tmp_path, "import sys; sys.modules['exercise_logic'] = None\n", wrong)
    assert done.returncode != 0
    assert f"Installing from KIT_SOURCE ({wrong}) failed" in done.stderr
    assert "インストールできませんでした" in done.stderr
    assert "ERROR" in done.stderr                  # pip's own words are shown too
    assert "was not found" not in done.stderr


def test_a_kit_without_tensorflow_gets_the_tensorflow_hint_not_not_found(tmp_path):
    """The kit is installed but TensorFlow is not (pip install without [cpu])."""
    done = run_setup(tmp_path, "import sys; sys.modules['tensorflow'] = None\n")
    assert done.returncode != 0
    assert "exercise-logic[cpu]" in done.stderr and "was not found" not in done.stderr
