"""Streamed splits: uint8 images read as float32 batches, the memory guard, and
the same results as in-memory float arrays for every heavy path."""
from __future__ import annotations

import numpy as np
import pytest

import exercise_logic as el
from exercise_logic.data.lazy_arrays import PackedMasks, StreamedImages, model_input
from exercise_logic.data.memory import (MEMORY_LIMIT_VARIABLE, InsufficientMemoryError, available_memory,
                                        parse_bytes)
from exercise_logic.data.npz_format import CorruptDatasetError, read_medmnist_npz
from exercise_logic.streaming import ImageBatches, scaled_batch_size


def lecture_floats(pixels, as_rgb=True):
    """The former loader's conversion, written out: float32 / 255, channel axis, grayscale repeated."""
    images = pixels.astype(np.float32) / 255.0
    if images.ndim == 3:
        images = images[..., np.newaxis]
    if as_rgb and images.shape[-1] == 1:
        images = np.repeat(images, 3, axis=-1)
    return images


@pytest.fixture
def pixels():
    return np.random.default_rng(0).integers(0, 256, (9, 6, 5), dtype=np.uint8)


@pytest.mark.parametrize("as_rgb", [True, False])
def test_streamed_images_index_like_the_float_array(pixels, as_rgb):
    expected = lecture_floats(pixels, as_rgb)
    images = StreamedImages(pixels, as_rgb)
    assert images.shape == expected.shape and images.dtype == np.float32 and len(images) == 9
    assert images.nbytes == expected.nbytes and images.pixel_bytes == pixels.nbytes
    np.testing.assert_array_equal(np.asarray(images), expected)
    np.testing.assert_array_equal(model_input(pixels, as_rgb), expected)
    for key in (3, -1, slice(2, 7), slice(None, None, 3), [4, 0, 4], np.array([True, False] * 4 + [True]),
                (slice(1, 4), 2), (5, slice(None), 1), (..., 0), (np.array([1, 2]), 0, 0)):
        np.testing.assert_array_equal(images[key], expected[key], err_msg=repr(key))
    np.testing.assert_array_equal(np.stack(list(images)), expected)
    with pytest.raises(IndexError):
        images[9]
    subset = images.take([7, 1, 3]).take([2, 0])
    assert subset.shape == (2,) + expected.shape[1:]
    np.testing.assert_array_equal(np.asarray(subset), expected[[3, 7]])
    np.testing.assert_array_equal(subset.pixels, pixels[[3, 7]])
    batches = list(images.batches(4))
    assert [part for part, _ in batches] == [slice(0, 4), slice(4, 8), slice(8, 9)]
    np.testing.assert_array_equal(np.concatenate([batch for _, batch in batches]), expected)


def test_colour_images_and_bad_pixels():
    colour = np.random.default_rng(1).integers(0, 256, (3, 4, 4, 3), dtype=np.uint8)
    np.testing.assert_array_equal(np.asarray(StreamedImages(colour)), lecture_floats(colour))
    with pytest.raises(ValueError, match="uint8"):
        StreamedImages(colour.astype(np.float32))


def test_packed_masks_unpack_on_access():
    masks = np.random.default_rng(2).random((5, 11, 13)) > 0.7
    packed = PackedMasks.pack(masks)
    assert packed.store.nbytes == 5 * 11 * 2 and packed.shape == masks.shape and packed.dtype == bool
    np.testing.assert_array_equal(np.asarray(packed), masks)
    np.testing.assert_array_equal(packed[[4, 1]], masks[[4, 1]])
    np.testing.assert_array_equal(packed[2], masks[2])
    np.testing.assert_array_equal(packed[masks.any(axis=(1, 2))].any(axis=(1, 2)),
                                  masks[masks.any(axis=(1, 2))].any(axis=(1, 2)))


def test_memory_limit_refuses_whole_conversions_before_allocating(monkeypatch):
    available = available_memory()
    assert available is not None and 0 < available
    monkeypatch.setenv(MEMORY_LIMIT_VARIABLE, "1M")
    assert available_memory() == 1 << 20
    images = StreamedImages(np.zeros((200, 28, 28), np.uint8))  # 1.9 MB as float32 RGB
    with pytest.raises(InsufficientMemoryError) as refused:
        np.asarray(images)
    message = str(refused.value)
    assert "1.9 MB" in message and "1.0 MB" in message and "(28, 28, 3)" in message
    assert "メモリが足りません" in message and "images[start:stop]" in message and "train_or_load" in message
    assert images[:2].shape == (2, 28, 28, 3)  # one batch fits, the whole split does not
    with pytest.raises(InsufficientMemoryError):
        images[:150]  # 1.4 MB


def test_lecture_loader_refuses_float_arrays_that_do_not_fit(monkeypatch):
    monkeypatch.setenv(MEMORY_LIMIT_VARIABLE, "50M")
    with pytest.raises(InsufficientMemoryError) as refused:
        el.load_and_preprocess("synthetic")
    message = str(refused.value)
    # 10,000 images of 28 x 28 x 3 float32: 94 MB, against 52 MB available.
    assert "94.1 MB" in message and "52.4 MB" in message
    assert "load_dataset('synthetic', size=28)" in message and "x_train and x_test" in message


@pytest.mark.parametrize("text, expected", [("2000", 2000), ("512M", 512 << 20), ("2G", 2 << 30),
                                            ("1.5g", 3 << 29), ("64KiB", 64 << 10)])
def test_memory_limit_values(text, expected):
    assert parse_bytes(text) == expected


def test_a_bad_memory_limit_names_the_variable(monkeypatch):
    monkeypatch.setenv(MEMORY_LIMIT_VARIABLE, "lots")
    with pytest.raises(ValueError, match=MEMORY_LIMIT_VARIABLE):
        available_memory()


@pytest.mark.filterwarnings("ignore::exercise_logic.ChecksumWarning")
def test_uncompressed_files_are_memory_mapped_and_read_the_same(isolated_folders, tmp_path):
    compressed = el.write_synthetic_npz(tmp_path / "c" / "chestmnist_64.npz", size=64, n_train=30,
                                       n_val=5, n_test=12, findings=14)
    stored = el.write_synthetic_npz(isolated_folders / "chestmnist_64.npz", size=64, n_train=30, n_val=5,
                                    n_test=12, findings=14, compressed=False)
    assert stored.stat().st_size > compressed.stat().st_size
    mapped = read_medmnist_npz(stored)
    decoded = read_medmnist_npz(compressed)
    for split in ("train", "val", "test"):
        assert isinstance(mapped[split][0], np.memmap) and not isinstance(decoded[split][0], np.memmap)
        np.testing.assert_array_equal(mapped[split][0], decoded[split][0])
        np.testing.assert_array_equal(mapped[split][1], decoded[split][1])
    data = el.load_dataset("chestmnist", 64, binary_classification=True)
    assert isinstance(data.test.images, StreamedImages) and isinstance(data.test.images.pixels, np.memmap)
    np.testing.assert_array_equal(data.test.images[3], lecture_floats(decoded["test"][0])[3])
    # A file cut short inside a stored array is reported, not mapped past its end.
    cut = tmp_path / "cut.npz"
    cut.write_bytes(stored.read_bytes()[: stored.stat().st_size - 40000])
    with pytest.raises(CorruptDatasetError, match="cut.npz"):
        read_medmnist_npz(cut)


def test_lecture_loader_returns_exactly_the_former_float_arrays(isolated_folders, chest_npz):
    import shutil
    shutil.copy(chest_npz, isolated_folders / "chestmnist.npz")
    with pytest.warns(el.ChecksumWarning):
        (x_train, y_train), (x_test, y_test), info = el.load_and_preprocess(
            "chestmnist", binary_classification=True)
    raw = np.load(chest_npz)
    assert type(x_train) is np.ndarray and type(x_test) is np.ndarray
    np.testing.assert_array_equal(x_train, lecture_floats(raw["train_images"]))
    np.testing.assert_array_equal(x_test, lecture_floats(raw["test_images"]))
    np.testing.assert_array_equal(y_test, (raw["test_labels"].sum(axis=1) > 0).astype(np.float32))


def test_image_batches_visit_every_image_once_per_epoch_in_a_seeded_order():
    images = StreamedImages(np.arange(10 * 4 * 4, dtype=np.uint8).reshape(10, 4, 4))
    labels = np.arange(10, dtype=np.float32)
    ordered = ImageBatches(images, labels, batch_size=4)
    assert len(ordered) == 3 and [len(ordered[i][1]) for i in range(3)] == [4, 4, 2]
    np.testing.assert_array_equal(ordered[2][0], np.asarray(images)[8:])
    shuffled = ImageBatches(images, labels, batch_size=4, shuffle=True, seed=3)
    first = np.concatenate([shuffled[i][1] for i in range(3)])
    assert sorted(first) == list(range(10)) and list(first) != list(range(10))
    for index in range(3):  # labels stay with their images
        batch, batch_labels = shuffled[index]
        np.testing.assert_array_equal(batch, np.asarray(images)[batch_labels.astype(int)])
    shuffled.on_epoch_end()
    second = np.concatenate([shuffled[i][1] for i in range(3)])
    assert sorted(second) == list(range(10)) and list(second) != list(first)
    again = ImageBatches(images, labels, batch_size=4, shuffle=True, seed=3)
    np.testing.assert_array_equal(np.concatenate([again[i][1] for i in range(3)]), first)
    assert ImageBatches(images, batch_size=4)[0].shape == (4, 4, 4, 3)  # no labels: for predict
    with pytest.raises(ValueError, match="10 images but 9 labels"):
        ImageBatches(images, labels[:9])
    with pytest.raises(IndexError):
        ordered[3]
    assert scaled_batch_size(256, (64, 64)) == 256 and scaled_batch_size(16, (224, 224)) == 1


@pytest.fixture(scope="module")
def trained(model_cache):
    return el.train_or_load("synthetic", "simple", epochs=5, progress=False)


def test_streamed_and_in_memory_give_the_same_outputs_and_maps(trained):
    test = trained.dataset.test
    assert isinstance(test.images, StreamedImages)
    chosen = np.flatnonzero(test.labels == 1)[:48]
    streamed = test.take(chosen)
    in_memory = el.Split(np.asarray(streamed.images), streamed.labels, np.asarray(streamed.masks),
                         streamed.markers)
    model = trained.model
    np.testing.assert_allclose(el.predict_proba(model, streamed.images), el.predict_proba(model, in_memory.images),
                               atol=1e-6)
    assert el.evaluate(model, test.images, test.labels) == el.evaluate(model, np.asarray(test.images), test.labels)
    for method in ("gradcam", "hirescam", "saliency"):
        engine = el.cam_engine(model, method=method)
        maps, logits, targets = engine.explain(streamed.images, 1, batch_size=20)
        expected = engine.explain(in_memory.images, 1, batch_size=20)
        np.testing.assert_allclose(maps, expected[0], atol=1e-5)
        np.testing.assert_allclose(logits, expected[1], atol=1e-5)
        np.testing.assert_array_equal(targets, expected[2])
        parts = list(engine.explain_batches(streamed.images, 1, batch_size=20))
        assert [part for part, *_ in parts] == [slice(0, 20), slice(20, 40), slice(40, 48)]
        np.testing.assert_allclose(np.concatenate([batch_maps for _, batch_maps, _, _ in parts]), maps, atol=1e-6)
    maps = el.gradcam(model, in_memory.images, target=1)
    curves = el.deletion_insertion(model, streamed.images, maps, target=1, steps=8)
    expected = el.deletion_insertion(model, in_memory.images, maps, target=1, steps=8)
    np.testing.assert_allclose(curves.deletion, expected.deletion, atol=1e-5)
    np.testing.assert_allclose(curves.insertion, expected.insertion, atol=1e-5)
    sanity = el.sanity_check(model, streamed.images.take(np.arange(6)), ["gradcam"], target=1, max_steps=2)
    expected = el.sanity_check(model, in_memory.images[:6], ["gradcam"], target=1, max_steps=2)
    assert sanity.final()["gradcam"] == pytest.approx(expected.final()["gradcam"], abs=1e-5)
    card = el.method_scorecard(model, streamed, ["gradcam", "saliency"], sanity_images=4, steps=4)
    expected = el.method_scorecard(model, in_memory, ["gradcam", "saliency"], sanity_images=4, steps=4)
    assert card.n_images == expected.n_images > 30
    for row, other in zip(card.rows, expected.rows):
        assert row == pytest.approx(other, abs=1e-5, nan_ok=True)


def test_training_on_streamed_and_in_memory_batches_gives_the_same_model(trained):
    import keras
    train = trained.dataset.train.take(np.arange(400))
    weights = []
    for images in (train.images, np.asarray(train.images)):
        keras.utils.set_random_seed(0)
        model = el.build_model((28, 28, 3), 1)
        model.fit(ImageBatches(images, train.labels, 64, shuffle=True, seed=0), epochs=1, shuffle=False, verbose=0)
        weights.append(model.get_weights())
    for streamed, in_memory in zip(*weights):
        np.testing.assert_allclose(streamed, in_memory, atol=1e-6)
