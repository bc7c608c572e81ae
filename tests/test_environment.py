"""Importing the kit: no TensorFlow start-up noise, and a clear message when TensorFlow is missing."""
from __future__ import annotations

import os
import subprocess
import sys

from exercise_logic.environment import INSTALL_HINT, is_tensorflow_noise

NOISE = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "I0000 00:00:1796130825.488503    5619 port.cc:153] oneDNN custom operations are on. You may see ...",
    "W0000 00:00:1796130825.571410    5673 cuda_executor.cc:1309] could not find cuda drivers",
]


def _python(code: str, **env):
    environment = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    environment.update(env)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment,
                          timeout=300)


def test_noise_is_recognised_but_errors_and_other_text_are_kept():
    assert all(is_tensorflow_noise(line, "2") for line in NOISE)
    assert not any(is_tensorflow_noise(line, "0") for line in NOISE)
    assert not is_tensorflow_noise("E0000 00:00:1796130825.1    5619 op.cc:1] kernel failed", "2")
    assert not is_tensorflow_noise("Traceback (most recent call last):", "2")
    assert not is_tensorflow_noise("ValueError: my own mistake", "2")


def test_importing_the_kit_prints_nothing_while_a_plain_import_is_noisy():
    plain = _python("import tensorflow")
    assert any(is_tensorflow_noise(line, "2") for line in plain.stderr.splitlines()), \
        "TensorFlow no longer prints start-up noise: this test no longer tests the filter"
    kit = _python("import exercise_logic, sys; print('own line', file=sys.stderr)")
    assert kit.returncode == 0, kit.stderr
    assert kit.stderr == "own line\n"


def test_a_missing_tensorflow_gets_the_install_hint():
    done = _python("import sys; sys.modules['tensorflow'] = None; import exercise_logic")
    assert done.returncode == 1
    assert "exercise-logic[cpu]" in done.stderr and "Colab" in done.stderr
    assert INSTALL_HINT.splitlines()[-1] in done.stderr
