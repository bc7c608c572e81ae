"""Benchmark the difficulty of the synthetic chest X-ray dataset.

Generates the splits of :mod:`exercise_logic.data.synthetic`, trains the
lecture CNN exactly as in the lecture (and optionally a deeper 'same'-padding
CNN with a global-average-pooling head) per seed, and reports the generation
time for 10,000 images at 28x28 and the test ROC-AUC / accuracy per seed.

The dataset is meant to be a teaching dataset, not a solved toy: the lecture
CNN should reach a test ROC-AUC between 0.85 and 0.97 after 5 epochs.

Usage (from the repository root)::

    python bench/synthetic_difficulty.py --seeds 0 1 2 --epochs 5
    python bench/synthetic_difficulty.py --seeds 0 --model both
    python bench/synthetic_difficulty.py --seeds 0 --marker-strength 0.95
    python bench/synthetic_difficulty.py --seeds 0 1 2 --size 224 --model deeper

The images are streamed to the model batch by batch (uint8 until a batch is
needed), so 224 px fits in memory.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import exercise_logic as el  # noqa: E402
from exercise_logic.data.lazy_arrays import StreamedImages  # noqa: E402
from exercise_logic.data.synthetic import generate_chest_xrays, generate_splits  # noqa: E402
from exercise_logic.streaming import ImageBatches  # noqa: E402
from exercise_logic.training import BATCH_SIZES  # noqa: E402

AUC_BAND = (0.85, 0.97)


def train_and_evaluate(splits, kind: str, seed: int, epochs: int, verbose: int = 0) -> dict:
    """Train one model as in the lecture (at the model's default batch) and evaluate it on the test split."""
    from tensorflow import keras

    train, test = splits["train"], splits["test"]
    size = train.images.shape[1]
    # The lecture's validation_split=0.1: the last tenth of the training images.
    cut = int(len(train) * 0.9)
    images, labels = StreamedImages(train.images), train.labels.astype(np.float32)
    x_train, x_val = images.take(np.arange(cut)), images.take(np.arange(cut, len(train)))
    y_test = test.labels
    keras.utils.set_random_seed(seed)
    model = el.build_model((size, size, 3), 1, kind)  # compiled as in the lecture
    t0 = time.perf_counter()
    model.fit(ImageBatches(x_train, labels[:cut], BATCH_SIZES[kind], shuffle=True, seed=seed), epochs=epochs,
              validation_data=ImageBatches(x_val, labels[cut:], 256), shuffle=False, verbose=verbose)
    train_s = time.perf_counter() - t0
    scores = el.predict_proba(model, StreamedImages(test.images))[:, 1]
    return {
        "auc": el.roc_auc(y_test, scores),
        "acc": float(np.mean((scores >= 0.5) == (y_test == 1))),
        "train_s": train_s,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--size", type=int, default=28)
    parser.add_argument("--model", choices=("simple", "deeper", "both"), default="simple",
                        help="'simple' is the lecture CNN")
    parser.add_argument("--marker-strength", type=float, default=None,
                        help="marker/label correlation on train/val (test is always 0)")
    parser.add_argument("--n-train", type=int, default=8000)
    parser.add_argument("--n-test", type=int, default=2000)
    parser.add_argument("--verbose", type=int, default=0, help="Keras fit verbosity")
    args = parser.parse_args(argv)

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    generate_chest_xrays(100, size=28, seed=0)          # warm-up (imports, caches)
    t0 = time.perf_counter()
    generate_chest_xrays(10_000, size=28, seed=0)
    print(f"generation: 10,000 images at 28x28 in {time.perf_counter() - t0:.2f} s")

    kinds = ("simple", "deeper") if args.model == "both" else (args.model,)
    results = {k: [] for k in kinds}
    for seed in args.seeds:
        t0 = time.perf_counter()
        splits = generate_splits(size=args.size, seed=seed, n_train=args.n_train,
                                 n_test=args.n_test, marker_strength=args.marker_strength, packed_masks=True)
        gen_s = time.perf_counter() - t0
        for kind in kinds:
            r = train_and_evaluate(splits, kind, seed, args.epochs, verbose=args.verbose)
            results[kind].append(r["auc"])
            in_band = AUC_BAND[0] <= r["auc"] <= AUC_BAND[1]
            if args.marker_strength is not None:
                flag = "marker shortcut run: a low test AUC is the expected lesson"
            elif kind == "simple":
                flag = "ok" if in_band else "OUTSIDE BAND"
            else:
                flag = "learns" if r["auc"] > 0.6 else "STUCK near 0.5?"
            print(f"seed {seed} model {kind:7s}: test ROC-AUC {r['auc']:.4f}  acc {r['acc']:.4f}  "
                  f"(splits {gen_s:.1f} s, training {r['train_s']:.1f} s) [{flag}]", flush=True)
    for kind, aucs in results.items():
        print(f"{kind}: mean test ROC-AUC {np.mean(aucs):.4f} over seeds {args.seeds} "
              f"(target band {AUC_BAND[0]}-{AUC_BAND[1]} for the lecture CNN, 5 epochs, 28x28)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
