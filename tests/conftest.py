"""Shared fixtures: isolated caches, tiny MedMNIST-format files and a local HTTP server."""
from __future__ import annotations

import http.server
import os
import threading
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def isolated_folders(tmp_path, monkeypatch):
    """Every test gets its own MedMNIST folder; no test touches ~/.medmnist."""
    root = tmp_path / "medmnist"
    root.mkdir()
    monkeypatch.setenv("MEDMNIST_ROOT", str(root))
    monkeypatch.delenv("MEDMNIST_MIRROR", raising=False)
    return root


@pytest.fixture(scope="module")
def one_pixel_model():
    """p(abnormal) = sigmoid(6 * pixel(0, 0) - 2) on 4x4x1 images (tests/cam_reference.py)."""
    from cam_reference import one_pixel_model
    return one_pixel_model()


@pytest.fixture(scope="module")
def random_cnn():
    """An untrained lecture CNN (seed 3) for the sanity checks; one per test module."""
    import keras

    import exercise_logic as el
    keras.utils.set_random_seed(3)
    return el.build_model((28, 28, 3), 1)


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory) -> Path:
    """One trained-model cache for the whole session."""
    folder = tmp_path_factory.mktemp("model-cache")
    os.environ["EXERCISE_LOGIC_CACHE"] = str(folder)
    return folder


@pytest.fixture(scope="session")
def chest_npz(tmp_path_factory) -> Path:
    """A small ChestMNIST stand-in in MedMNIST's exact format (14 finding columns)."""
    from exercise_logic import write_synthetic_npz
    path = tmp_path_factory.mktemp("chest") / "chestmnist.npz"
    return write_synthetic_npz(path, n_train=2000, n_val=200, n_test=300, findings=14)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def http_folder(tmp_path):
    """Serve a folder over HTTP on 127.0.0.1: yields (folder, base_url)."""
    folder = tmp_path / "served"
    folder.mkdir()
    handler = lambda *args, **kwargs: _QuietHandler(*args, directory=str(folder), **kwargs)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield folder, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
