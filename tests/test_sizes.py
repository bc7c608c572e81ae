"""The deeper CNN at 128 and 224 px (issue 12): a last conv map worth explaining,
trained, evaluated and explained end to end from a streamed ChestMNIST-layout file."""
from __future__ import annotations

import numpy as np
import pytest

import exercise_logic as el
from exercise_logic.data.lazy_arrays import StreamedImages


@pytest.mark.parametrize("size, conv_side", [(28, 14), (64, 16), (128, 16), (224, 14)])
def test_the_deeper_cnn_keeps_a_large_last_conv_map_at_every_size(size, conv_side):
    model = el.build_model((size, size, 3), 1, "deeper")
    assert tuple(model.get_layer("last_conv_layer").output.shape[1:3]) == (conv_side, conv_side)


@pytest.mark.filterwarnings("ignore::exercise_logic.ChecksumWarning")
@pytest.mark.parametrize("size", [128, 224])
def test_training_evaluation_and_maps_at_large_sizes(size, tmp_path):
    el.write_synthetic_npz(tmp_path / f"chestmnist_{size}.npz", size=size, findings=14,
                           n_train=64, n_val=16, n_test=40)
    trained = el.train_or_load("chestmnist", "deeper", size=size, epochs=1, root=tmp_path,
                               cache_dir=tmp_path / "cache", progress=False)
    test = trained.dataset.test
    assert isinstance(test.images, StreamedImages) and test.images.pixels.shape == (40, size, size)
    assert set(trained.metrics) >= {"accuracy", "roc_auc"} and 0 <= trained.metrics["accuracy"] <= 1
    assert el.evaluate(trained.model, test.images, test.labels) == trained.metrics
    maps = el.gradcam(trained.model, test.images, target=1)
    assert maps.shape == (40, size, size) and maps.dtype == np.float32
    assert np.all((maps >= 0) & (maps <= 1)) and np.isfinite(maps).all()
    np.testing.assert_allclose(maps[5:7], el.gradcam(trained.model, np.asarray(test.images[5:7]), target=1),
                               atol=1e-5)
    reloaded = el.train_or_load("chestmnist", "deeper", size=size, epochs=1, root=tmp_path,
                                cache_dir=tmp_path / "cache", progress=False)
    assert reloaded.from_cache and reloaded.metrics == trained.metrics
