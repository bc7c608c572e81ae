"""Process settings that keep the app on this machine and its files in its own folder.

:func:`prepare` must run before Gradio, ``gradio_client``, ``huggingface_hub``
or TensorFlow is imported: they read these variables at import time.
"""
from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

# Gradio counts analytics as on unless this is exactly "True"; huggingface_hub
# still calls out (agent detection) unless it is offline.
OFFLINE_ENV = {
    "GRADIO_ANALYTICS_ENABLED": "False",
    "HF_HUB_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "GRADIO_RUN_HISTORY": "False",
    "TF_CPP_MIN_LOG_LEVEL": "2",
}
# After every event Gradio's queue rebuilds a pandas summary of its last 10,000
# events for a monitoring page the app never enables: a tenth of a busy
# server's CPU, growing with the events served. Rebuild it after 2**62 events.
QUEUE_ENV = {"GRADIO_ANALYTICS_CACHE_FREQUENCY": str(2**62)}


def default_base_dir() -> Path:
    """Where the app keeps its temporary files: next to the model cache."""
    cache = os.environ.get("EXERCISE_LOGIC_CACHE") or Path.home() / ".cache" / "exercise_logic"
    return Path(cache) / "demo-tmp"


def set_app_variables() -> None:
    """Keep Gradio and huggingface_hub from calling out and Gradio's queue lean.

    Call it before importing them (they read some variables at import time).
    """
    os.environ.update({**OFFLINE_ENV, **QUEUE_ENV})


def prepare(workdir: str | os.PathLike | None = None, *, cleanup: bool = True) -> Path:
    """Set the app's variables and give this process its own temporary folder.

    Gradio's cache (``GRADIO_TEMP_DIR``), Python's and TensorFlow's temporary
    files (``TMPDIR``: autograph writes generated code there) all go into a
    fresh ``run-*`` folder under ``workdir`` (default :func:`default_base_dir`),
    removed when the process exits. Returns that folder.
    """
    set_app_variables()
    base = Path(workdir) if workdir is not None else default_base_dir()
    base.mkdir(parents=True, exist_ok=True)
    run = Path(tempfile.mkdtemp(prefix="run-", dir=base))
    for sub in ("gradio", "tmp", "samples"):
        (run / sub).mkdir()
    os.environ["GRADIO_TEMP_DIR"] = str(run / "gradio")
    os.environ["TMPDIR"] = str(run / "tmp")
    tempfile.tempdir = str(run / "tmp")  # gettempdir() may already be cached
    if cleanup:
        atexit.register(shutil.rmtree, run, ignore_errors=True)
    return run


def pictures_folder(run: Path) -> Path:
    """Where the app writes its pictures, for a ``run`` folder from :func:`prepare`: inside Gradio's
    cache, which Gradio serves as they are (a file elsewhere is hashed and copied into it on every answer)."""
    return run / "gradio" / "out"
