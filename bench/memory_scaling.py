"""Memory and time of loading, training and explaining, by image size: in-memory floats vs streaming.

Writes synthetic ChestMNIST-layout files (14 finding columns, made binary on
loading, as the lecture does with ChestMNIST) at each size, then runs every
case in a fresh child process and reads its peak resident memory (Linux
``VmHWM``):

- ``in-memory``: what ``load_dataset``/``train_or_load`` did before streaming
  (and what ``load_and_preprocess`` still returns): every split as a float32
  RGB array, ``fit`` on the arrays, Grad-CAM on the test array;
- ``streamed``: ``load_dataset`` + ``train_or_load`` + the CAM engine batch by
  batch, from the compressed ``.npz`` (pixels decoded once per split);
- ``streamed-mmap``: the same from an uncompressed ``.npz`` (memory-mapped).

Each case also runs on a small file of the same size that fills four batches
of every kind: that peak is the case's fixed overhead (TensorFlow, the model
and its optimiser, compiled functions, the batches' working memory, the
allocators' steady state). The table gives the peak rise
over the process's memory after ``import exercise_logic``, its ratio to the
uint8 pixels of the splits, and the same ratio after subtracting the
overhead (the target: <= 1.5), plus load time, the first training epoch
(including tracing) and Grad-CAM throughput on the test split.

    python bench/memory_scaling.py [--sizes 28 64 128 224] [--images 4000] [--min-megabytes 20] [--model deeper]

Linux only (it reads /proc/self/status).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

CASES = ("in-memory", "streamed", "streamed-mmap")
SPLIT_SHARES = {"train": 0.7, "val": 0.1, "test": 0.2}


def _status(field: str) -> int:
    """A memory figure of this process from /proc/self/status, in bytes."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status (this benchmark needs Linux)")


def run_case(case: str, root: str, size: int, model_type: str, batch_size: int) -> dict:
    """One case in this (child) process; returns its measurements."""
    import warnings

    import keras
    import numpy as np

    import exercise_logic as el

    warnings.simplefilter("ignore", el.ChecksumWarning)
    start_rss = _status("VmRSS")
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")  # reset VmHWM: the peak counts from here
    cache = tempfile.mkdtemp(prefix="memory-scaling-cache-")
    started = time.perf_counter()
    data = el.load_dataset("chestmnist", size, root=root, binary_classification=True)
    splits = (data.train, data.val, data.test)
    if case == "in-memory":  # the former loader: every split converted to float32 RGB at once
        arrays = {name: np.asarray(split.images) for name, split in zip(("train", "val", "test"), splits)}
    load_s = time.perf_counter() - started

    epoch_end = []
    started = time.perf_counter()
    if case == "in-memory":
        keras.utils.set_random_seed(0)
        model = el.build_model((size, size, 3), 1, model_type)
        model.fit(arrays["train"], data.train.labels, validation_data=(arrays["val"], data.val.labels),
                  batch_size=batch_size, epochs=1, verbose=0,
                  callbacks=[keras.callbacks.LambdaCallback(
                      on_epoch_end=lambda *_: epoch_end.append(time.perf_counter()))])
        el.evaluate(model, arrays["test"], data.test.labels)
        test_images = arrays["test"]
    else:
        trained = el.train_or_load("chestmnist", model_type, size=size, epochs=1, batch_size=batch_size,
                                   root=root, cache_dir=cache, retrain=True,
                                   progress=lambda *_: epoch_end.append(time.perf_counter()))
        model = trained.model
        test_images = data.test.images
    epoch_s = epoch_end[0] - started

    engine = el.cam_engine(model)
    engine.explain(test_images[:2])  # trace once
    started = time.perf_counter()
    if case == "in-memory":
        engine.explain(test_images)  # the former way: all maps at once
    else:
        for _ in engine.explain_batches(test_images):
            pass
    gradcam_s = time.perf_counter() - started
    return {"case": case, "size": size, "images": sum(len(split) for split in splits),
            "pixels": sum(split.images.pixel_bytes for split in splits),
            "rise": _status("VmHWM") - start_rss, "load_s": load_s, "epoch_s": epoch_s,
            "gradcam_per_s": len(data.test) / gradcam_s, "train_images": len(data.train)}


def child(case, root, size, model_type, batch_size) -> dict:
    """Run one case in a fresh Python process (its peak memory is its own)."""
    command = [sys.executable, __file__, "--child", json.dumps([case, str(root), size, model_type, batch_size])]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    if result.returncode != 0 or not lines:
        raise RuntimeError(f"case {case} at {size} px failed:\n{result.stderr[-3000:]}")
    return json.loads(lines[-1])


def small_counts(size: int, training_batch: int) -> dict:
    """Images per split of the overhead file: four batches of training, evaluation and Grad-CAM."""
    from exercise_logic.streaming import scaled_batch_size

    predicting = 4 * scaled_batch_size(256, (size, size))
    return {"n_train": max(predicting, 4 * training_batch), "n_val": predicting, "n_test": predicting}


def write_files(folder: Path, size: int, images: int, training_batch: int):
    """Folders 'compressed', 'uncompressed' and 'small' holding chestmnist_<size>.npz."""
    import exercise_logic as el
    from exercise_logic.data.npz_format import read_medmnist_npz, write_medmnist_npz

    roots = {kind: folder / kind for kind in ("compressed", "uncompressed", "small")}
    name = f"chestmnist_{size}.npz" if size != 28 else "chestmnist.npz"
    if not (roots["compressed"] / name).exists():
        counts = {f"n_{split}": max(1, round(images * share)) for split, share in SPLIT_SHARES.items()}
        el.write_synthetic_npz(roots["compressed"] / name, size=size, findings=14, **counts)
    if not (roots["uncompressed"] / name).exists():
        write_medmnist_npz(roots["uncompressed"] / name, read_medmnist_npz(roots["compressed"] / name),
                           compressed=False)
    if not (roots["small"] / name).exists():
        el.write_synthetic_npz(roots["small"] / name, size=size, findings=14, seed=1,
                               **small_counts(size, training_batch))
    return roots


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[28, 64, 128, 224])
    parser.add_argument("--images", type=int, default=4000, help="images per size, all splits together")
    parser.add_argument("--min-megabytes", type=float, default=20,
                        help="more images at small sizes, up to this many MB of pixels (a measurable ratio)")
    parser.add_argument("--model", default="deeper", choices=("simple", "deeper"))
    parser.add_argument("--batch-size", type=int, default=None, help="training batch (default the model's)")
    parser.add_argument("--folder", type=Path, default=None, help="keep the data files here (default a temp folder)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_case(*json.loads(args.child))))
        return

    from exercise_logic.training import BATCH_SIZES
    batch_size = args.batch_size or BATCH_SIZES[args.model]
    folder = args.folder or Path(tempfile.mkdtemp(prefix="memory-scaling-"))
    rows = []
    for size in args.sizes:
        started = time.perf_counter()
        # At least twice the overhead file, so that the data's own share of the peak shows.
        images = max(args.images, round(args.min_megabytes * 1e6 / size ** 2),
                     2 * sum(small_counts(size, batch_size).values()))
        roots = write_files(folder / str(size), size, images, batch_size)
        print(f"[{size} px] data files written in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        for case in CASES:
            root = roots["uncompressed" if case == "streamed-mmap" else "compressed"]
            measured = child(case, root, size, args.model, batch_size)
            overhead = child(case, roots["small"], size, args.model, batch_size)["rise"]
            measured["overhead"] = overhead
            rows.append(measured)
            print(f"[{size} px] {case}: {json.dumps(measured)}", file=sys.stderr)

    print(f"\nPeak memory by image size: {args.model} CNN, 1 epoch at batch {batch_size}, Grad-CAM on the test "
          f"split; at least {args.images} images and {args.min_megabytes:.0f} MB of pixels per size "
          f"({', '.join(f'{k} {v:.0%}' for k, v in SPLIT_SHARES.items())})\n")
    print("| size | path | images | uint8 pixels | peak rise | rise / pixels | fixed overhead "
          "| (rise - overhead) / pixels | load | 1st epoch | Grad-CAM |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        pixels = row["pixels"]
        print(f"| {row['size']} | {row['case']} | {row['images']} | {pixels / 1e6:.0f} MB | {row['rise'] / 1e6:.0f} MB | "
              f"{row['rise'] / pixels:.1f}x | {row['overhead'] / 1e6:.0f} MB | "
              f"{(row['rise'] - row['overhead']) / pixels:.2f}x | {row['load_s']:.1f} s | "
              f"{row['epoch_s']:.1f} s | {row['gradcam_per_s']:.0f} images/s |")
    streamed = [row for row in rows if row["case"] != "in-memory"]
    worst = max((row["rise"] - row["overhead"]) / row["pixels"] for row in streamed)
    print(f"\nstreamed paths, worst (peak rise - fixed overhead) / uint8 pixels: {worst:.2f}x "
          f"(target <= 1.5x): {'met' if worst <= 1.5 else 'MISSED'}")
    print(f"data files in {folder}")


if __name__ == "__main__":
    main()
