"""Loading MedMNIST-format files and the synthetic set; the model builders."""
import shutil

import numpy as np
import pytest

import exercise_logic as el
from exercise_logic.data.npz_format import write_medmnist_npz

LECTURE_INFO_KEYS = {"python_class", "description", "url", "MD5", "task", "label", "n_channels",
                     "n_samples", "license"}


@pytest.fixture
def chest_in_root(isolated_folders, chest_npz):
    shutil.copy(chest_npz, isolated_folders / "chestmnist.npz")
    return isolated_folders


@pytest.mark.filterwarnings("ignore::exercise_logic.ChecksumWarning")
def test_chestmnist_binary_like_the_lecture(chest_in_root, capsys):
    (x_train, y_train), (x_test, y_test), info = el.load_and_preprocess(
        "chestmnist", binary_classification=True)
    assert x_train.shape == (2000, 28, 28, 3) and x_test.shape == (300, 28, 28, 3)
    assert x_train.dtype == np.float32 and 0 <= x_train.min() and x_train.max() <= 1
    assert y_train.dtype == np.float32 and y_train.shape == (2000,)
    raw = np.load(chest_in_root / "chestmnist.npz")["train_labels"]
    np.testing.assert_array_equal(y_train, (raw.sum(axis=1) > 0).astype(np.float32))
    assert LECTURE_INFO_KEYS <= set(info)
    assert info["label"] == {"0": "normal", "1": "abnormal"}
    assert info["label_ja"] == {"0": "正常", "1": "異常"} and info["n_classes"] == 2
    assert "二値分類に変換しました" in capsys.readouterr().out


@pytest.mark.filterwarnings("ignore::exercise_logic.ChecksumWarning")
def test_multilabel_and_multiclass_layouts(chest_in_root):
    chest = el.load_dataset("chestmnist")
    assert chest.train.labels.shape == (2000, 14) and chest.multi_label and chest.num_outputs == 14
    assert chest.class_names("ja")[1] == "心拡大"
    rng = np.random.default_rng(0)
    splits = {split: (rng.integers(0, 256, (n, 28, 28, 3), dtype=np.uint8), rng.integers(0, 8, (n, 1)))
              for split, n in (("train", 30), ("val", 5), ("test", 10))}
    write_medmnist_npz(chest_in_root / "bloodmnist.npz", splits)
    blood = el.load_dataset("bloodmnist")
    assert blood.train.images.shape == (30, 28, 28, 3) and blood.train.labels.shape == (30,)
    np.testing.assert_array_equal(blood.test.images, splits["test"][0].astype(np.float32) / 255)
    assert blood.num_outputs == 8 and blood.class_names()[0] == "basophil"
    gray = el.load_dataset("chestmnist", as_rgb=False)
    assert gray.train.images.shape == (2000, 28, 28, 1)
    with pytest.raises(ValueError, match="needs multi-label data"):
        el.load_dataset("bloodmnist", binary_classification=True)
    assert ("chestmnist", 28) in el.available_datasets() and ("bloodmnist", 28) in el.available_datasets()


def test_synthetic_is_the_offline_default():
    (x_train, y_train), (x_test, y_test), info = el.load_and_preprocess("synthetic")
    assert x_train.shape[1:] == (28, 28, 3) and x_train.dtype == np.float32
    assert set(np.unique(y_train)) == {0.0, 1.0} and y_train.dtype == np.float32
    assert info["label"] == {"0": "normal", "1": "abnormal"} and LECTURE_INFO_KEYS <= set(info)
    data = el.load_dataset("synthetic", marker_strength=0.95)
    assert data.test.masks.shape == (len(data.test), 28, 28)
    assert data.test.masks[data.test.labels == 1].any(axis=(1, 2)).all()
    agreement = (data.train.markers == data.train.labels.astype(bool)).mean()
    assert agreement > 0.9


def test_synthetic_written_as_medmnist_round_trips(isolated_folders):
    el.write_synthetic_npz(isolated_folders / "pneumoniamnist.npz", n_train=50, n_val=10, n_test=20)
    with pytest.warns(el.ChecksumWarning):
        loaded = el.load_dataset("pneumoniamnist")
    from exercise_logic.data.synthetic import generate_splits
    original = generate_splits(size=28, seed=0, n_train=50, n_val=10, n_test=20)
    assert loaded.train.images.shape == (50, 28, 28, 3) and loaded.train.labels.shape == (50,)
    np.testing.assert_array_equal(loaded.test.images[..., 0], original["test"].images / np.float32(255))
    np.testing.assert_array_equal(loaded.test.labels, original["test"].labels)


def test_lecture_cnn_layers_and_heads():
    simple = el.build_model((28, 28, 3), 1)
    assert [layer.name for layer in simple.layers][2] == "last_conv_layer"
    assert simple.get_layer("last_conv_layer").output.shape[1:3] == (11, 11)
    assert simple.layers[-1].activation.__name__ == "sigmoid" and simple.loss == "binary_crossentropy"
    multi = el.build_model((28, 28, 3), 9)
    assert multi.layers[-1].activation.__name__ == "softmax"
    assert multi.loss == "sparse_categorical_crossentropy"
    deeper = el.build_model((28, 28, 3), 1, "deeper")
    assert deeper.get_layer("last_conv_layer").output.shape[1:3] == (14, 14)
    with pytest.raises(ValueError, match="model_type must be one of"):
        el.build_model((28, 28, 3), 1, "resnet")


def test_transfer_model_offline_gives_a_clear_message_or_works():
    try:
        model = el.build_model((28, 28, 3), 1, "transfer")
    except RuntimeError as error:
        assert "ImageNet" in str(error) and "'simple'" in str(error)
    else:  # weights were available (cached): the nested base is explainable
        assert el.gradcam(model, np.zeros((1, 28, 28, 3), np.float32)).shape == (1, 28, 28)
    untrained = el.build_model((28, 28, 3), 1, "transfer", weights=None)
    assert el.conv_layer_names(untrained)[-1].endswith("/Conv_1")
