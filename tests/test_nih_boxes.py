"""NIH ChestX-ray14's boxes on ChestMNIST: the two files' formats, scaling, masks, held-out training."""
import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from exercise_logic.data import nih_boxes
from exercise_logic.data.nih_boxes import (BoxFileError, BoxFilesMissing, box_corners, box_mask,
                                           load_chest_boxes, read_box_list, read_image_ids)
from nih_box_files import NIH_HEADER, ROWS, write_box_list, write_image_ids

@pytest.fixture
def box_folder(isolated_folders):
    write_box_list(isolated_folders / nih_boxes.BOX_LIST)
    write_image_ids(isolated_folders / nih_boxes.IMAGE_IDS)
    return isolated_folders


def test_box_list_as_released_and_as_resaved_read_the_same(tmp_path):
    released = read_box_list(write_box_list(tmp_path / "a.csv"))
    assert [(b.image, b.finding, b.x, b.y, b.w, b.h) for b in released] == ROWS
    # Rows padded with the header's empty cells, CRLF line ends, or a spreadsheet's header without them.
    assert read_box_list(write_box_list(tmp_path / "b.csv", row_tail=",,,", newline="\r\n")) == released
    assert read_box_list(write_box_list(tmp_path / "c.csv", header="Image Index,Finding Label,Bbox [x,y,w,h]")) \
        == released


@pytest.mark.parametrize("content, problem", [
    ("Image Index,Finding Labels,Follow-up #\n00000001_000.png,Effusion,0\n", "header"),
    (NIH_HEADER + "00000001_000.png,Effusion,10,20,thirty,40\n", "line 2 has a coordinate that is not a number"),
    (NIH_HEADER + "00000001_000.png,Effusion,10,20,30\n", "line 2 has 5 columns"),
    (NIH_HEADER + "00000001_000.png,Hernia,10,20,30,40\n", "line 2 has the finding 'Hernia'"),
    (NIH_HEADER + "00000001_000.png,Mass,10,20,0,40\n", "does not start inside"),
    (NIH_HEADER, "no boxes"),
])
def test_bad_box_list_names_file_problem_and_remedy(tmp_path, content, problem):
    path = tmp_path / nih_boxes.BOX_LIST
    path.write_text(content)
    with pytest.raises(BoxFileError) as caught:
        read_box_list(path)
    message = str(caught.value)
    assert str(path) in message and problem in message and nih_boxes.NIH_RELEASE in message


def test_binary_file_is_refused_clearly(tmp_path):
    path = tmp_path / nih_boxes.BOX_LIST
    path.write_bytes(b"PK\x03\x04\xff\xfe\x00zip")
    with pytest.raises(BoxFileError, match="not a text CSV file"):
        read_box_list(path)


def test_image_record_maps_split_and_index_to_nih_names(tmp_path):
    names = read_image_ids(write_image_ids(tmp_path / "ids.csv"))
    assert names == {("train", 3): "00013118_008.png", ("val", 0): "00000003_001",
                     ("test", 5): "00000007_000.png", ("test", 0): "00000001_000.png"}


@pytest.mark.parametrize("header, ids, problem", [
    # What medmnist's save() writes as chestmnist.csv: split, PNG name, labels, no header.
    ("TRAIN,train0_0.png,0,0,0", [], "columns split,index,image_id"),
    ("split,index,image_id", [("training", 0, "a.png")], "line 2 is not split"),
    ("split,index,image_id", [("train", 0, "a.png"), ("train", 0, "b.png")], "line 3 repeats train image 0"),
])
def test_bad_image_record_is_refused(tmp_path, header, ids, problem):
    path = write_image_ids(tmp_path / nih_boxes.IMAGE_IDS, ids, header)
    with pytest.raises(BoxFileError) as caught:
        read_image_ids(path)
    assert str(path) in str(caught.value) and problem in str(caught.value)
    assert "split,index,image_id" in str(caught.value)


def test_missing_files_say_which_where_and_how(isolated_folders):
    with pytest.raises(BoxFilesMissing) as caught:
        load_chest_boxes()
    message = str(caught.value)
    for part in (str(isolated_folders / nih_boxes.BOX_LIST), str(isolated_folders / nih_boxes.IMAGE_IDS),
                 nih_boxes.NIH_RELEASE, "split,index,image_id", "MEDMNIST_ROOT"):
        assert part in message
    write_box_list(isolated_folders / nih_boxes.BOX_LIST)
    with pytest.raises(BoxFilesMissing) as caught:
        load_chest_boxes()
    assert nih_boxes.IMAGE_IDS in str(caught.value) and f"{nih_boxes.BOX_LIST} and" not in str(caught.value)
    assert not nih_boxes.box_files_present()


def test_boxes_land_on_their_chestmnist_images(box_folder):
    boxes = load_chest_boxes()
    assert nih_boxes.box_files_present()
    assert len(boxes) == 5 and boxes.unmatched == ("00099999_000.png",)
    assert boxes.indices("train").tolist() == [3] and boxes.indices("val").tolist() == [0]
    assert boxes.indices("test").tolist() == [5]
    held_out = boxes.held_out()
    assert set(held_out) == {"train", "val"} and held_out["train"].tolist() == [3]
    with pytest.raises(ValueError, match="split must be one of"):
        boxes.indices("validation")


@pytest.mark.parametrize("size", [28, 64, 128, 224])
def test_boxes_scale_by_size_over_1024_on_both_axes(size):
    corners = box_corners([512.0, 256.0, 128.0, 64.0], size)
    np.testing.assert_allclose(corners, [[size / 2, size / 4, size * 640 / 1024, size * 320 / 1024]])


@pytest.mark.parametrize("size", [28, 64, 128, 224])
def test_box_masks_match_the_box_in_a_resized_original(size):
    """MedMNIST+ resizes the whole 1024x1024 image: a bright box stays where the scaled box is."""
    original = np.zeros((1024, 1024), np.uint8)
    x, y, w, h = 300, 420, 460, 330
    original[y:y + h, x:x + w] = 255
    resized = np.asarray(Image.fromarray(original).resize((size, size), Image.Resampling.BOX))
    mask = box_mask(box_corners([x, y, w, h], size), size)
    bright = resized > 0
    assert not np.any(bright & ~mask)                               # nothing of the box outside the mask
    assert np.all(resized[ndimage.binary_erosion(mask)] >= 250)     # the mask's inside is all box
    for axis in (0, 1):  # the mask covers any overlap, so it is at most one pixel wider on each side
        drawn, seen = np.flatnonzero(mask.any(axis)), np.flatnonzero(bright.any(axis))
        assert 0 <= seen[0] - drawn[0] <= 1 and 0 <= drawn[-1] - seen[-1] <= 1


def test_a_tiny_box_never_vanishes_and_masks_clip_to_the_image():
    mask = box_mask(box_corners([700.0, 700.0, 10.0, 10.0], 28), 28)
    assert mask.sum() == 1 and mask[19, 19]
    edge = box_mask(box_corners([1000.0, 1000.0, 40.0, 40.0], 28), 28)
    assert edge.sum() == 1 and edge[27, 27]
    with pytest.raises(ValueError, match="size must be one of"):
        box_corners([1, 2, 3, 4], 32)


def test_lazy_masks_draw_each_findings_boxes_and_their_union(box_folder):
    boxes = load_chest_boxes()
    nodules = boxes.masks("val", n_images=4, size=224, finding="Nodule")
    assert nodules.shape == (4, 224, 224) and nodules.dtype == bool
    expected = box_mask(box_corners([[512, 256, 128, 64], [700, 700, 50, 30]], 224), 224)
    np.testing.assert_array_equal(nodules[0], expected)
    assert not nodules[1:].any()
    everything = boxes.masks("val", 4, 224)[0]
    np.testing.assert_array_equal(everything, expected | box_mask(box_corners([100, 100, 40, 40], 224), 224))
    assert boxes.masks("val", 4, 224, "Effusion")[0].sum() == 0
    with pytest.raises(ValueError, match="beyond the 2 of the split"):
        boxes.masks("train", 2, 28)
    with pytest.raises(ValueError, match="finding must be one of"):
        boxes.masks("val", 4, 28, "Hernia")


def test_boxed_images_are_held_out_of_training(tmp_path, box_folder, chest_npz):
    """The model of the --real figures never sees a boxed image: its train and val splits lack them."""
    import shutil

    from exercise_logic import load_dataset, train_or_load
    from exercise_logic.training import cache_paths, training_settings

    shutil.copy(chest_npz, box_folder / "chestmnist.npz")
    boxes = load_chest_boxes()
    held_out = boxes.held_out()
    with pytest.warns(UserWarning):  # the test file is not the published ChestMNIST
        trained = train_or_load("chestmnist", "simple", epochs=1, held_out=held_out, cache_dir=tmp_path,
                                progress=False)
        whole = load_dataset("chestmnist", binary_classification=True)
    assert len(trained.dataset.train) == len(whole.train) - 1
    assert len(trained.dataset.val) == len(whole.val) - 1
    assert len(trained.dataset.test) == len(whole.test)
    boxed_train = whole.train.images[3]
    assert not any(np.array_equal(boxed_train, image) for image in trained.dataset.train.images[:10])
    np.testing.assert_array_equal(trained.dataset.train.images[3], whole.train.images[4])
    # The cache tells such a model apart from one trained on every image, and records what was held out.
    settings = training_settings("chestmnist", "simple", epochs=1, held_out=held_out)
    assert settings["held_out"]["train"]["count"] == 1 and trained.settings == settings
    assert cache_paths(settings, tmp_path) != cache_paths(training_settings("chestmnist", "simple", epochs=1),
                                                          tmp_path)
    assert "held_out" not in training_settings("chestmnist", "simple")
    with pytest.raises(ValueError, match="test split is never trained on"):
        training_settings("chestmnist", held_out={"test": [1]})
    with pytest.raises(ValueError, match="must lie in 0.."):
        whole.train.without([len(whole.train)])
