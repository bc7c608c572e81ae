"""Saporta et al.'s localisation scores (Otsu segmentation, IoU, hit rate) and bench --real on NIH's boxes."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from exercise_logic.data import nih_boxes
from exercise_logic.explain.localisation import iou, otsu_segmentation, pointing_game
from nih_box_files import write_box_list, write_image_ids

BENCH = Path(__file__).resolve().parents[1] / "bench" / "explanation_quality.py"


def otsu_by_definition(heatmap):
    """Otsu's threshold straight from its definition: the level that maximises w0 w1 (mu0 - mu1)^2."""
    span = heatmap.max() - heatmap.min()
    levels = (255 * (heatmap - heatmap.min()) / span).astype(np.uint8).ravel().astype(float)
    best, best_level = -1.0, 0
    for level in range(256):
        low, high = levels[levels <= level], levels[levels > level]
        if not len(low) or not len(high):
            continue
        between = len(low) * len(high) / len(levels) ** 2 * (low.mean() - high.mean()) ** 2
        if between > best + 1e-12:
            best, best_level = between, level
    return (255 * (heatmap - heatmap.min()) / span).astype(np.uint8) > best_level


def test_otsu_segmentation_is_otsus_threshold_on_each_map():
    rng = np.random.default_rng(0)
    maps = np.concatenate([rng.random((3, 9, 7)), rng.gamma(2.0, size=(3, 9, 7))])
    segmentations = otsu_segmentation(maps)
    assert segmentations.shape == maps.shape and segmentations.dtype == bool
    for heatmap, segmentation in zip(maps, segmentations):
        np.testing.assert_array_equal(segmentation, otsu_by_definition(heatmap))


def test_otsu_finds_the_bright_region_and_nothing_in_a_flat_map():
    heatmap = np.full((10, 10), 0.1)
    heatmap[2:5, 3:8] = 0.9
    heatmap += np.random.default_rng(1).random((10, 10)) * 0.05
    expected = np.zeros((10, 10), bool)
    expected[2:5, 3:8] = True
    np.testing.assert_array_equal(otsu_segmentation(heatmap)[0], expected)
    assert not otsu_segmentation(np.zeros((2, 5, 5))).any()
    with pytest.raises(ValueError, match="non-negative"):
        otsu_segmentation(-np.ones((4, 4)))


def test_iou_of_segmentations_and_boxes():
    segmentation = np.zeros((3, 4, 4), bool)
    box = np.zeros((3, 4, 4), bool)
    segmentation[0, :2, :2] = True          # 4 pixels
    box[0, :2, 1:4] = True                  # 6 pixels, 2 shared: IoU 2/8
    box[1, 0, 0] = True                     # an empty segmentation scores 0
    scores = iou(segmentation, box)          # image 2 has no box: NaN
    np.testing.assert_allclose(scores[:2], [0.25, 0.0])
    assert np.isnan(scores[2])
    assert iou(box[0], box[0])[0] == 1.0
    with pytest.raises(ValueError, match="must have the maps' shape"):
        iou(segmentation, box[:, :3])


# -- on the boxes -----------------------------------------------------------------------

def boxes_on_lesions(dataset, picks):
    """Box-list and image-record rows boxing synthetic lesions: (split, index, finding) -> NIH-style rows."""
    box_rows, id_rows = [], []
    for number, (split, index, finding) in enumerate(picks):
        mask = np.asarray(dataset[split].masks[index])
        rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
        scale = 1024 / mask.shape[0]
        name = f"{number:08d}_000.png"
        box_rows.append((name, finding, cols[0] * scale, rows[0] * scale,
                         (cols[-1] + 1 - cols[0]) * scale, (rows[-1] + 1 - rows[0]) * scale))
        id_rows.append((split, index, name))
    return box_rows, id_rows


@pytest.fixture
def boxed_chestmnist(isolated_folders, chest_npz):
    """ChestMNIST-format files with NIH-format boxes around synthetic lesions, as the two real files."""
    from exercise_logic.data.synthetic import generate_splits

    # The scenes of chest_npz (conftest), with their lesion masks.
    synthetic = generate_splits(size=28, seed=0, n_train=2000, n_val=200, n_test=300)
    abnormal = {split: np.flatnonzero(batch.labels == 1) for split, batch in synthetic.items()}
    picks = [("train", abnormal["train"][0], "Mass"), ("val", abnormal["val"][0], "Nodule")]
    picks += [("test", index, finding) for index, finding in zip(abnormal["test"][:12], ["Mass", "Nodule"] * 6)]
    box_rows, id_rows = boxes_on_lesions(synthetic, picks)
    write_box_list(isolated_folders / nih_boxes.BOX_LIST, box_rows)
    write_image_ids(isolated_folders / nih_boxes.IMAGE_IDS, id_rows)
    shutil.copy(chest_npz, isolated_folders / "chestmnist.npz")
    return isolated_folders, picks


def test_localisation_by_finding_scores_each_findings_boxes(boxed_chestmnist):
    import keras

    from exercise_logic import build_model, gradcam, load_dataset
    from exercise_logic.explain.box_localisation import localisation_by_finding, markdown_table

    _, picks = boxed_chestmnist
    boxes = nih_boxes.load_chest_boxes()
    with pytest.warns(UserWarning):
        chest = load_dataset("chestmnist", binary_classification=True)
    keras.utils.set_random_seed(0)
    model = build_model((28, 28, 3), 1, "simple")
    splits = {"train": chest.train, "val": chest.val, "test": chest.test}
    rows = {row["finding"]: row for row in localisation_by_finding(model, boxes, splits)}
    assert set(rows) == {"Mass", "Nodule", "all"}
    assert rows["Mass"]["count"] + rows["Nodule"]["count"] == rows["all"]["count"] == len(picks)
    # The same scores computed directly, image by image, from the maps and the boxes.
    for finding in ("Mass", "Nodule"):
        chosen = [(split, index) for split, index, name in picks if name == finding]
        images = np.stack([splits[split].images[index] for split, index in chosen])
        masks = np.stack([boxes.masks(split, len(splits[split]), 28, finding)[index] for split, index in chosen])
        maps = gradcam(model, images, target=1)
        assert rows[finding]["count"] == len(chosen)
        assert rows[finding]["hit_rate"] == pytest.approx(np.nanmean(pointing_game(maps, masks, tolerance=0)))
        assert rows[finding]["pointing"] == pytest.approx(np.nanmean(pointing_game(maps, masks)))
        assert rows[finding]["miou"] == pytest.approx(np.nanmean(iou(otsu_segmentation(maps), masks)))
        assert rows[finding]["chance"] == pytest.approx(masks.mean())
    table = markdown_table(list(rows.values()))
    assert "| Mass |" in table and "| **all** |" in table


def run_bench(env_root, cache, *args):
    env = dict(os.environ, MEDMNIST_ROOT=str(env_root), EXERCISE_LOGIC_CACHE=str(cache),
               PYTHONPATH=str(BENCH.parents[1]))
    return subprocess.run([sys.executable, str(BENCH), "--real", *args], capture_output=True, text=True,
                          env=env, timeout=600)


def test_bench_real_without_the_files_says_which_two_to_get_and_where(isolated_folders, tmp_path):
    result = run_bench(isolated_folders, tmp_path / "cache")
    assert result.returncode == 1
    for part in (nih_boxes.BOX_LIST, nih_boxes.IMAGE_IDS, str(isolated_folders), "nihcc.app.box.com",
                 "split,index,image_id"):
        assert part in result.stderr
    assert "Traceback" not in result.stderr


def test_bench_real_without_chestmnist_says_so(boxed_chestmnist, tmp_path, monkeypatch):
    root, _ = boxed_chestmnist
    (root / "chestmnist.npz").unlink()
    monkeypatch.setenv("MEDMNIST_MIRROR", "http://127.0.0.1:9")  # nothing listens there: offline
    result = run_bench(root, tmp_path / "cache")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "needs ChestMNIST itself at 28 px" in result.stderr and str(root / "chestmnist.npz") in result.stderr


def test_bench_real_on_small_files_in_the_exact_formats(boxed_chestmnist, tmp_path):
    """THE end-to-end test of --real: held-out training, then the per-finding table."""
    root, picks = boxed_chestmnist
    result = run_bench(root, tmp_path / "cache", "--epochs", "1", "--real-model", "simple")
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert f"{len(picks)} boxes on 1 train, 1 val, {len(picks) - 2} test images" in out
    assert "held out of training: 1 train, 1 val" in out
    rows = [line for line in out.splitlines() if line.startswith("| Mass") or line.startswith("| Nodule")
            or line.startswith("| **all**")]
    assert len(rows) == 3
    counts = [int(line.split("|")[2]) for line in rows]
    assert counts[0] + counts[1] == counts[2] == len(picks)
    for line in rows:
        values = [float(cell) for cell in line.split("|")[3:7]]
        assert all(0.0 <= value <= 1.0 for value in values)
