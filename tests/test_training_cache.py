"""Train once, load afterwards; a corrupt or incompatible cache is rebuilt."""
import json

import numpy as np
import pytest

import exercise_logic as el
from exercise_logic.training import StaleCacheWarning, cache_key, training_settings


def _train(cache_dir, **kwargs):
    return el.train_or_load("synthetic", "simple", epochs=1, cache_dir=cache_dir, progress=False, **kwargs)


def test_trained_once_then_loaded_and_corruption_is_repaired(tmp_path):
    tmp_path = tmp_path / "cache"
    reports = []
    first = el.train_or_load("synthetic", "simple", epochs=2, cache_dir=tmp_path,
                             progress=lambda epoch, epochs, logs: reports.append((epoch, epochs)))
    assert not first.from_cache and reports == [(1, 2), (2, 2)]
    assert 0 <= first.metrics["roc_auc"] <= 1 and first.metrics["n_test"] == len(first.dataset.test)
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".json", ".keras"]  # no temporary files

    again = el.train_or_load("synthetic", "simple", epochs=2, cache_dir=tmp_path, progress=False)
    assert again.from_cache and again.metrics == first.metrics
    images = first.dataset.test.images[:16]
    np.testing.assert_allclose(again.model.predict(images, verbose=0),
                               first.model.predict(images, verbose=0), atol=1e-6)
    np.testing.assert_allclose(el.gradcam(again.model, images), el.gradcam(first.model, images), atol=1e-5)

    first.path.write_bytes(b"\x00 not a keras archive")
    with pytest.warns(StaleCacheWarning, match="unusable"):
        repaired = el.train_or_load("synthetic", "simple", epochs=2, cache_dir=tmp_path, progress=False)
    assert not repaired.from_cache
    assert el.train_or_load("synthetic", "simple", epochs=2, cache_dir=tmp_path, progress=False).from_cache


def test_settings_change_the_key_and_a_mismatched_record_retrains(tmp_path):
    base = training_settings()
    assert cache_key(base) != cache_key(training_settings(seed=1))
    assert cache_key(base) != cache_key(training_settings(marker_strength=0.95))
    assert training_settings("chestmnist")["binary"] is True
    assert training_settings()["data_version"] is not None  # a new generator retrains
    # Each model trains with its own default batch; an explicit one is a different model.
    assert training_settings(model_type="simple")["batch_size"] == 128  # the lecture's
    assert training_settings(model_type="deeper")["batch_size"] == 32
    assert cache_key(training_settings(model_type="deeper")) != cache_key(
        training_settings(model_type="deeper", batch_size=128))
    with pytest.raises(ValueError, match="model_type"):
        training_settings(model_type="resnet")
    trained = _train(tmp_path)
    record_path = trained.path.with_suffix(".json")
    record = json.loads(record_path.read_text())
    record["settings"]["epochs"] = 99
    record_path.write_text(json.dumps(record))
    with pytest.warns(StaleCacheWarning, match="other settings"):
        assert not _train(tmp_path).from_cache


def test_lecture_cnn_reaches_teaching_difficulty(model_cache):
    """The synthetic set is a teaching dataset: neither solved nor impossible in 5 epochs."""
    trained = el.train_or_load("synthetic", "simple", epochs=5, progress=False)
    assert 0.85 <= trained.metrics["roc_auc"] <= 0.97, trained.metrics
