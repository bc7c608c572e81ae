"""The explorer at every image size (issue 12): the dataset menu offers each size
that is there, each is explained from the split's streamed images (uint8 kept)
and its maps are shown at the image's own resolution, and a model is scored on
a whole 224 px test split that would not fit as float32."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import exercise_logic as el
from exercise_logic.data.lazy_arrays import StreamedImages, model_input
from exercise_logic.data.memory import MEMORY_LIMIT_VARIABLE, InsufficientMemoryError
from exercise_logic.data.synthetic import SYNTHETIC_SIZES
from exercise_logic.explorer import handlers as h
from exercise_logic.explorer.model_store import DISPLAY_SIZE, ModelStore
from exercise_logic.explorer.notebook import own_model
from exercise_logic.explorer.sources import KitModels
from exercise_logic.explorer.uploads import UploadedModel

pytestmark = pytest.mark.filterwarnings("ignore::exercise_logic.ChecksumWarning")
SIZES = (64, 128, 224)
N_TEST = 100  # at 224 px: 60 MB as float32 RGB, over the limit below; a prediction batch (41) is 25 MB
LIMIT = "40M"


def _pixels(path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


@pytest.fixture(scope="module")
def sized_store(tmp_path_factory):
    """ChestMNIST-layout files at 64, 128 and 224 px (no 28 px file), small enough to train in seconds."""
    folder = tmp_path_factory.mktemp("sizes")
    for size in SIZES:
        el.write_synthetic_npz(folder / "medmnist" / f"chestmnist_{size}.npz", size=size, findings=14,
                               n_train=48, n_val=16, n_test=N_TEST)
    return ModelStore(folder / "work", epochs=1, cache_dir=folder / "cache", root=folder / "medmnist")


def test_the_dataset_menu_offers_every_size_that_is_there(sized_store):
    keys = sized_store.dataset_keys()
    assert keys[:len(SYNTHETIC_SIZES)] == [f"synthetic-{size}" for size in SYNTHETIC_SIZES]
    assert [key for key in keys if key.startswith("chestmnist")] == [f"chestmnist-{size}" for size in SIZES]
    choices = dict((value, label) for label, value in KitModels(sized_store, "chestmnist-224").dataset_choices("en"))
    assert choices["chestmnist-224"].endswith("224×224") and choices["synthetic-224"].endswith("224×224")


@pytest.mark.parametrize("size", SIZES)
def test_each_size_is_explained_from_streamed_images_at_its_own_resolution(sized_store, outputs, size,
                                                                          monkeypatch):
    monkeypatch.setenv(MEMORY_LIMIT_VARIABLE, LIMIT)
    loaded = sized_store.get(f"chestmnist-{size}", "simple")
    images = loaded.images.images
    assert isinstance(images, StreamedImages) and images.pixels.dtype == np.uint8 and len(images) == N_TEST
    shown = h.view(loaded, outputs, None, 0, "abnormal", None, "gradcam", 0.4, "jet", False, "en")
    side = size * max(1, DISPLAY_SIZE // size)  # enlarged by a whole factor, never shrunk
    assert {_pixels(path).shape for path in (shown.original, shown.heatmap, shown.overlay)} == {(side, side, 3)}
    expected = h.render(images[0], el.gradcam(loaded.model, images[:1], target=1)[0])[1]
    np.testing.assert_array_equal(_pixels(shown.heatmap), expected)
    grid = h.comparison_grid(loaded, outputs, "abnormal", None, "gradcam", 0.4, "jet", False, "en")
    assert len(grid) == 8 and all(_pixels(path).shape == (side, side, 3) for path, _ in grid)
    assert f"{size}×{size}" in h.banner(loaded, "en") and f"{N_TEST}" in h.banner(loaded, "en")


def test_a_model_is_scored_on_a_whole_224_px_split_a_batch_at_a_time(sized_store, monkeypatch, tmp_path):
    """An uploaded model, and explore() on a split's streamed images, with RGB and one-channel models,
    under a memory limit that refuses the split as one float32 array."""
    import keras

    kit = sized_store.get("chestmnist-224", "simple")
    test = el.load_dataset("chestmnist", 224, root=sized_store.root, binary_classification=True).test
    keras.utils.set_random_seed(0)
    gray_model = el.build_model((224, 224, 1), 1)
    gray_expected = el.evaluate(gray_model, model_input(test.images.pixels, as_rgb=False), test.labels)
    monkeypatch.setenv(MEMORY_LIMIT_VARIABLE, LIMIT)
    with pytest.raises(InsufficientMemoryError):
        np.asarray(test.images)
    uploaded = UploadedModel(kit.model, "mine.keras").on(sized_store, "chestmnist-28", "en")  # the 224 px set
    assert uploaded.images.key == "chestmnist-224"
    assert uploaded.metrics == pytest.approx(kit.metrics)
    own = own_model(kit.model, test.images, test.labels, test.masks, workdir=tmp_path / "rgb")
    assert own.metrics == pytest.approx(kit.metrics) and own.images.gray
    gray = own_model(gray_model, test.images, test.labels, workdir=tmp_path / "gray")
    assert gray.metrics == pytest.approx(gray_expected)
