"""Peak memory of training and explaining stays near the uint8 pixels (child processes, Linux).

Two fresh processes do the same work (``train_or_load`` of the deeper CNN, the
model for large images, for one epoch, then
``evaluate``, the CAM engine and deletion/insertion on the test split) on a
small and on a larger ChestMNIST-layout file of the same image size. The
small file fills a few batches of every kind, so its peak is the fixed
overhead: TensorFlow, the model and its optimiser, compiled functions and the
batches' working memory. The larger file's peak may exceed that overhead by at
most 1.5 times its uint8 pixels (``bench/memory_scaling.py`` measures the
full table). Before streaming, training alone rose by 40 times the pixels.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import exercise_logic as el

pytestmark = pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(),
                                reason="peak-memory reset needs Linux /proc")
SIZE = 128
BOUND = 1.5  # times the uint8 pixels

CHILD = r"""
import json, os, sys, warnings
import exercise_logic as el

def status(field):
    with open("/proc/self/status") as lines:
        return next(int(line.split()[1]) * 1024 for line in lines if line.startswith(field + ":"))

warnings.simplefilter("ignore", el.ChecksumWarning)
task, root, cache, size = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
before = status("VmRSS")
with open("/proc/self/clear_refs", "w") as clear:
    clear.write("5")  # the peak counts from here
if task == "work":
    trained = el.train_or_load("chestmnist", "deeper", size=size, epochs=1, root=root, cache_dir=cache,
                               retrain=True, progress=False)
    model, data = trained.model, trained.dataset
    el.evaluate(model, data.test.images, data.test.labels)
    for part, maps, _, _ in el.cam_engine(model).explain_batches(data.test.images, 1):
        el.deletion_insertion(model, data.test.images[part][:4], maps[:4], 1, steps=4)
else:  # the lecture's loader, refused before it allocates its float arrays
    os.environ["MEDMNIST_ROOT"] = root
    try:
        el.load_and_preprocess("chestmnist", binary_classification=True, size=size)
    except MemoryError as error:
        print("refused:", error, file=sys.stderr)
    data = el.load_dataset("chestmnist", size, root=root, binary_classification=True)
pixels = sum(split.images.pixel_bytes for split in (data.train, data.val, data.test))
print(json.dumps({"rise": status("VmHWM") - before, "pixels": pixels}))
"""


@pytest.fixture(scope="module")
def chest_files(tmp_path_factory):
    """ChestMNIST-layout files at 128 px: 'small' fills four or more batches of each
    kind (training 128, validation 64, prediction 128, Grad-CAM 64); 'large' has
    66 MB of pixels."""
    folder = tmp_path_factory.mktemp("memory")
    name = f"chestmnist_{SIZE}.npz"
    el.write_synthetic_npz(folder / "small" / name, size=SIZE, n_train=512, n_val=256, n_test=512, findings=14)
    el.write_synthetic_npz(folder / "large" / name, size=SIZE, n_train=1000, n_val=300, n_test=2700, findings=14)
    return folder


def peak_rise(task, root, env=None) -> dict:
    command = [sys.executable, "-c", CHILD, task, str(root), str(root / "cache"), str(SIZE)]
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})}
    result = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    measured = json.loads(result.stdout.strip().splitlines()[-1])
    measured["stderr"] = result.stderr
    return measured


def test_training_and_explaining_rise_by_at_most_one_and_a_half_times_the_pixels(chest_files):
    overhead = peak_rise("work", chest_files / "small")["rise"]
    large = peak_rise("work", chest_files / "large")
    assert large["pixels"] == 4000 * SIZE * SIZE
    excess = large["rise"] - overhead
    assert excess <= BOUND * large["pixels"], (excess / large["pixels"], overhead)


def test_lecture_loader_refuses_before_allocating(chest_files):
    # x_train and x_test as float32 RGB: 3,700 x 128 x 128 x 12 bytes = 727.4 MB, over this limit.
    measured = peak_rise("lecture", chest_files / "large", {"EXERCISE_LOGIC_MEMORY_LIMIT": "300M"})
    assert "refused:" in measured["stderr"] and "727.4 MB" in measured["stderr"]
    assert "314.6 MB" in measured["stderr"] and "load_dataset('chestmnist', size=128" in measured["stderr"]
    assert measured["rise"] <= BOUND * measured["pixels"], measured["rise"] / measured["pixels"]
