"""Setting up TensorFlow for a lecture: quiet logs, GPU memory growth, a clear status."""
from __future__ import annotations

import os
import sys


def quiet_tensorflow() -> None:
    """Silence TensorFlow's C++ start-up logs (set before TensorFlow is imported)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def initialize_environment(seed: int | None = None) -> dict:
    """The lecture's set-up step: detect Colab or a local machine, configure TensorFlow.

    Nothing is installed here; the notebook's first cell installs the kit.
    Returns a summary dict (``colab``, ``gpus``, ``tensorflow``, ``keras``).
    """
    print("--- 環境を初期化中 / initialising ---")
    in_colab = "google.colab" in sys.modules
    print("[状態] Google Colab を検出しました。" if in_colab else "[状態] ローカル環境を検出しました。")
    quiet_tensorflow()
    import keras
    import tensorflow as tf

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
