"""Fixtures of the demo tests: one trained model, one server and one browser per session.

The model is trained once (1 epoch, a few seconds) into a session cache; the
server started by :func:`server` loads it from there, as ``python -m demo``
does in class. Nothing here mocks Gradio or TensorFlow.
"""
from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import pytest

# Before gradio / gradio_client / huggingface_hub are imported anywhere.
os.environ.update(GRADIO_ANALYTICS_ENABLED="False", HF_HUB_OFFLINE="1",
                  HF_HUB_DISABLE_TELEMETRY="1")

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # the demo package lives at the repository root
    sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).parent))

from demo_support import CHROMIUM, CHROMIUM_ARGS, DATASET, EPOCHS, MODEL
from page_steps import open_student_page


@pytest.fixture(scope="session")
def demo_dirs(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("demo")
    dirs = {name: base / name for name in ("cache", "medmnist", "work", "server", "downloads", "files")}
    for folder in dirs.values():
        folder.mkdir()
    return dirs


@pytest.fixture(scope="session")
def store(demo_dirs):
    """The explorer's model store, with the session's model trained into its cache."""
    from exercise_logic.explorer.model_store import ModelStore
    store = ModelStore(demo_dirs["work"], epochs=EPOCHS, cache_dir=demo_dirs["cache"],
                       root=demo_dirs["medmnist"])
    store.get(DATASET, MODEL)
    return store


@pytest.fixture(scope="session")
def loaded(store):
    return store.get(DATASET, MODEL)


@pytest.fixture(scope="session")
def outputs(demo_dirs):
    from exercise_logic.explorer.output_files import OutputFiles
    return OutputFiles(demo_dirs["work"] / "out")


def _png_bytes(image: Image.Image, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", **options)
    return buffer.getvalue()


@pytest.fixture(scope="session")
def image_files(demo_dirs, loaded) -> dict[str, Path]:
    """Uploads students make: ordinary, awkward (16-bit, RGBA, palette...) and broken."""
    folder = demo_dirs["files"]
    rng = np.random.default_rng(0)
    sample = np.round(loaded.images.images[loaded.images.sample_indices[0], :, :, 0] * 255)
    files = {
        "sample.png": Image.fromarray(sample.astype(np.uint8)),
        "xray_16bit.png": Image.fromarray((rng.random((60, 48)) * 4095).astype(np.uint16)),
        "rgba.png": Image.fromarray((rng.random((40, 40, 4)) * 255).astype(np.uint8), "RGBA"),
        "palette.png": Image.fromarray((rng.random((32, 32)) * 255).astype(np.uint8)).convert(
            "P", palette=Image.Palette.ADAPTIVE, colors=16),
        "large_rgb.png": Image.fromarray((rng.random((600, 800, 3)) * 255).astype(np.uint8)),
        "tiny_1x1.png": Image.new("L", (1, 1), 128),
        "huge_10000.png": Image.new("1", (10000, 10000)),  # ~100 kB, 10^8 pixels decoded
    }
    paths = {}
    for name, image in files.items():
        paths[name] = folder / name
        image.save(paths[name])
    frames = [Image.fromarray((rng.random((30, 30)) * 255).astype(np.uint8)) for _ in range(3)]
    paths["animated.gif"] = folder / "animated.gif"
    frames[0].save(paths["animated.gif"], save_all=True, append_images=frames[1:], duration=100)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated 90 degrees
    paths["exif_rotated.jpg"] = folder / "exif_rotated.jpg"
    Image.fromarray((rng.random((40, 30)) * 255).astype(np.uint8)).save(paths["exif_rotated.jpg"], exif=exif)
    paths["not_an_image.png"] = folder / "not_an_image.png"
    paths["not_an_image.png"].write_text("これは画像ではありません / not an image\n", encoding="utf-8")
    whole = _png_bytes(Image.fromarray((rng.random((64, 64)) * 255).astype(np.uint8)))
    paths["truncated.png"] = folder / "truncated.png"
    paths["truncated.png"].write_bytes(whole[: len(whole) // 2])
    return paths


@pytest.fixture(scope="session")
def server(demo_dirs, store):
    """``python -m demo`` on a free port, loading the session's cached model."""
    from demo.server_process import ServerFailed, start_demo
    env = {"EXERCISE_LOGIC_CACHE": str(demo_dirs["cache"]), "MEDMNIST_ROOT": str(demo_dirs["medmnist"])}
    try:
        running = start_demo(["--epochs", EPOCHS, "--dataset", DATASET, "--workdir", demo_dirs["server"]],
                             log_path=demo_dirs["server"] / "server.log", env=env)
    except ServerFailed as error:
        pytest.fail(str(error))
    try:
        yield running.url
    finally:
        running.stop()


@pytest.fixture(scope="session")
def client(server, demo_dirs):
    from gradio_client import Client
    return Client(server, analytics_enabled=False, verbose=False,
                  download_files=str(demo_dirs["downloads"]))


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def page(browser, server):
    """One English-locale page for all browser tests, recording every request it makes."""
    context, page = open_student_page(browser, server)
    yield page
    context.close()


@pytest.fixture(scope="session")
def model_files(demo_dirs) -> dict[str, Path]:
    """Saved ``.keras`` models students might upload: good ones, and each kind the explorer refuses."""
    import keras

    import exercise_logic as el
    folder = demo_dirs["files"] / "models"
    folder.mkdir()
    keras.utils.set_random_seed(3)
    models = {
        "lecture_cnn.keras": el.build_model((28, 28, 3), 1),
        "softmax_two.keras": el.build_model((28, 28, 3), 2),
        "softmax_three.keras": el.build_model((28, 28, 3), 3),
        "no_conv.keras": keras.Sequential([keras.Input((28, 28, 3)), keras.layers.Flatten(),
                                           keras.layers.Dense(1, activation="sigmoid")]),
        "lambda.keras": keras.Sequential([keras.Input((28, 28, 3)), keras.layers.Conv2D(4, 3),
                                          keras.layers.Lambda(lambda x: x * 2.0), keras.layers.Flatten(),
                                          keras.layers.Dense(1, activation="sigmoid")]),
        "size_100.keras": el.build_model((100, 100, 3), 1, "deeper"),
    }
    paths = {}
    for name, model in models.items():
        paths[name] = folder / name
        model.save(paths[name])
    whole = paths["lecture_cnn.keras"].read_bytes()
    paths["truncated.keras"] = folder / "truncated.keras"
    paths["truncated.keras"].write_bytes(whole[: len(whole) // 2])
    paths["weights.h5"] = folder / "weights.h5"
    paths["weights.h5"].write_bytes(whole)
    paths["too_big.keras"] = folder / "too_big.keras"       # over the explorer's 8 MB, under the 10 MB upload limit
    paths["too_big.keras"].write_bytes(whole + bytes(9 << 20))
    return paths
