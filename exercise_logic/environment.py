"""Setting up TensorFlow for a lecture: a quiet import, GPU memory growth, a clear status."""
from __future__ import annotations

import os
import re
import sys
import tempfile

#: C++ log lines TensorFlow writes to file descriptor 2 while it loads, by level:
#: ``I`` info, ``W`` warning, ``E`` error, ``F`` fatal (absl's format).
_CPP_LOG = re.compile(r"^([IWEF])\d{4} [\d:.]+\s+\d+ \S+:\d+\] ")
_LEVELS = "IWEF"
# Lines absl writes before its logger is set up; and the second line of the
# "rebuild TensorFlow with the appropriate compiler flags" notice.
_PREAMBLE = ("WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
             "To enable the following instructions:")

INSTALL_HINT = (  # the extras are those of pyproject.toml
    "exercise_logic には TensorFlow が必要です。Google Colab には最初から入っています。"
    "自分の PC やサーバでは、キットを extra `[cpu]`（NVIDIA GPU では `[gpu]`）付きで入れ直してください"
    "（例: `pip install 'exercise-logic[cpu] @ git+<キットの URL>'`、wheel やフォルダなら `pip install '<パス>[cpu]'`）。\n"
    "exercise_logic needs TensorFlow. Google Colab has it already; elsewhere reinstall the kit with the "
    "`[cpu]` extra (`[gpu]` for NVIDIA GPUs), e.g. `pip install 'exercise-logic[cpu] @ git+<kit URL>'`, "
    "or `pip install '<path>[cpu]'` for a wheel or a folder.")


def quiet_tensorflow() -> None:
    """Hide TensorFlow's info and warning logs (set before TensorFlow is imported)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def is_tensorflow_noise(line: str, min_level: str | None = None) -> bool:
    """Whether a stderr line is TensorFlow start-up logging below ``TF_CPP_MIN_LOG_LEVEL``.

    TensorFlow 2.16+ logs through absl before the level setting applies, so its
    "oneDNN custom operations are on" and CPU-feature notices reach stderr even
    at level 2. Errors (``E``) and everything that is not a TensorFlow log line
    are never noise.
    """
    level = int(min_level if min_level is not None else os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0") or 0)
    line = line.rstrip("\n")
    if line.startswith(_PREAMBLE):
        return level > 0
    match = _CPP_LOG.match(line)
    return bool(match) and _LEVELS.index(match.group(1)) < min(level, 2)


def import_tensorflow():
    """Import TensorFlow once, without its start-up noise; a clear message when it is missing.

    The C++ library writes straight to file descriptor 2, so Python's
    ``warnings`` cannot hold it back: the import runs with descriptor 2
    captured, and every captured line that is not noise (see
    :func:`is_tensorflow_noise`) is written to ``sys.stderr`` afterwards.
    """
    if sys.modules.get("tensorflow") is not None:
        return sys.modules["tensorflow"]
    quiet_tensorflow()
    with tempfile.TemporaryFile() as captured:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow
        except ImportError as error:
            raise ImportError(INSTALL_HINT) from error
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            kept = [line for line in captured.read().decode("utf-8", "replace").splitlines(keepends=True)
                    if not is_tensorflow_noise(line)]
            if kept:
                sys.stderr.write("".join(kept))
    return tensorflow


def initialize_environment(seed: int | None = None) -> dict:
    """The lecture's set-up step: detect Colab or a local machine, configure TensorFlow.

    Nothing is installed here; the notebook's first cell installs the kit.
    Returns a summary dict (``colab``, ``gpus``, ``tensorflow``, ``keras``).
    """
    print("--- 環境を初期化中 / initialising ---")
    in_colab = "google.colab" in sys.modules
    print("[状態] Google Colab を検出しました。" if in_colab else "[状態] ローカル環境を検出しました。")
    tf = import_tensorflow()
    import keras

    gpus = tf.config.list_physical_devices("GPU")
    for gpu in gpus:
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError:  # already initialised: the setting cannot change any more
            pass
    print(f"[GPU] {len(gpus)} 台を使用します。" if gpus else "[GPU] 検出されませんでした。CPU を使用します。")
    if seed is not None:
        keras.utils.set_random_seed(seed)
    print(f"[版] TensorFlow {tf.__version__} / Keras {keras.__version__}")
    print("--- セットアップ完了 / ready ---\n")
    return {"colab": in_colab, "gpus": len(gpus), "tensorflow": tf.__version__,
            "keras": keras.__version__}
