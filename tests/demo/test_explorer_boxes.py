"""The explorer draws NIH's radiologist boxes on ChestMNIST when the two files are present."""
from __future__ import annotations

import shutil
import warnings

import numpy as np
import pytest
from nih_box_files import write_box_list, write_image_ids
from PIL import Image

from exercise_logic.data import nih_boxes
from exercise_logic.data.nih_boxes import box_corners, box_mask
from exercise_logic.explorer import handlers as h
from exercise_logic.explorer.model_store import ExplorerModel, ModelStore
from exercise_logic.explorer.output_files import OutputFiles
from exercise_logic.messages import message
from exercise_logic.rendering import OUTLINE_RGB, draw_outline

KEY = "chestmnist-28"
# Two boxes on test image 1 (a Mass and a Nodule), one on test image 4; NIH's 1024 px coordinates.
BOXES = [("00000001_000.png", "Mass", 300.0, 400.0, 200.0, 150.0),
         ("00000001_000.png", "Nodule", 700.0, 300.0, 60.0, 60.0),
         ("00000002_000.png", "Effusion", 100.0, 600.0, 300.0, 200.0)]
IDS = [("test", 1, "00000001_000.png"), ("test", 4, "00000002_000.png"), ("train", 0, "00000003_000.png")]


def _pixels(path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def _store(tmp_path, chest_npz, with_boxes=True, box_list_text=None) -> ModelStore:
    root = tmp_path / "instructor-medmnist"
    root.mkdir()
    shutil.copy(chest_npz, root / "chestmnist.npz")
    if with_boxes:
        write_box_list(root / nih_boxes.BOX_LIST, BOXES)
        write_image_ids(root / nih_boxes.IMAGE_IDS, IDS)
    if box_list_text is not None:
        (root / nih_boxes.BOX_LIST).write_text(box_list_text)
    return ModelStore(tmp_path / "work", epochs=1, cache_dir=tmp_path / "cache", root=root)


@pytest.fixture(scope="module")
def boxed(tmp_path_factory, chest_npz):
    """(store, loaded chestmnist model) with NIH-format box files beside the ChestMNIST-format npz."""
    store = _store(tmp_path_factory.mktemp("boxed"), chest_npz)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the npz is not the published ChestMNIST
        return store, store.get(KEY, "simple")


def test_boxed_test_images_come_first_with_their_boxes_as_masks(boxed):
    _, loaded = boxed
    images = loaded.images
    assert images.ground_truth == "box"
    assert images.sample_indices[:2].tolist() == [1, 4] and len(set(images.sample_indices.tolist())) == 16
    expected = box_mask(box_corners([[300, 400, 200, 150], [700, 300, 60, 60]], 28), 28)
    np.testing.assert_array_equal(images.masks[1], expected)
    assert not images.masks[0].any() and images.masks.shape == (len(images.images), 28, 28)


def test_view_draws_the_radiologists_box_and_says_hit_or_miss(boxed, tmp_path):
    _, loaded = boxed
    outputs = OutputFiles(tmp_path / "out")
    shown = [h.view(loaded, outputs, None, 1, target, None, "gradcam", 0.4, "jet", False, "ja")
             for target in ("abnormal", "normal")]
    magenta = (_pixels(shown[0].overlay) == OUTLINE_RGB).all(axis=-1)
    frame = (draw_outline(np.zeros((224, 224, 3), np.uint8), loaded.images.masks[1]) == OUTLINE_RGB).all(-1)
    assert frame.any()
    np.testing.assert_array_equal(magenta, frame)  # the two boxes' frames, and nothing else magenta
    assert any(view.lesion in (message("explorer.box_hit", "ja"), message("explorer.box_miss", "ja")) for view in shown), \
        [view.lesion for view in shown]
    english = h.view(loaded, outputs, None, 1, "abnormal", None, "gradcam", 0.4, "jet", False, "en")
    assert "radiologist's box" in english.lesion or english.lesion == message("explorer.flat_map", "en")
    unboxed = int(loaded.images.sample_indices[2])
    plain = h.view(loaded, outputs, None, unboxed, "abnormal", None, "gradcam", 0.4, "jet", False, "en")
    assert plain.lesion == message("explorer.no_box", "en") and not (_pixels(plain.overlay) == OUTLINE_RGB).all(-1).any()


def test_grid_outlines_the_boxed_images(boxed, tmp_path):
    _, loaded = boxed
    items = h.comparison_grid(loaded, OutputFiles(tmp_path / "out"), "abnormal", None, "gradcam", 0.4, "jet",
                              False, "en")
    framed = [(_pixels(path) == OUTLINE_RGB).all(-1).any() for path, _ in items]
    assert framed[:2] == [True, True] and not any(framed[2:])


@pytest.mark.parametrize("with_boxes, box_list_text", [(False, None), (True, "not,a,box,list\n")])
def test_without_usable_box_files_chestmnist_has_no_ground_truth(boxed, tmp_path, chest_npz, caplog,
                                                                with_boxes, box_list_text):
    store = _store(tmp_path, chest_npz, with_boxes, box_list_text)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        images = store.image_set(KEY)
    assert images.masks is None and images.ground_truth == "lesion"
    if box_list_text is not None:
        assert "NIH's boxes are not shown" in caplog.text and nih_boxes.BOX_LIST in caplog.text
    loaded = ExplorerModel(boxed[1].model, images, {"ja": "m", "en": "m"})
    shown = h.view(loaded, OutputFiles(tmp_path / "out"), None, int(images.sample_indices[0]), "abnormal", None,
                   "gradcam", 0.4, "jet", False, "en")
    assert shown.lesion == message("explorer.no_mask", "en") and "box files" in shown.lesion
