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
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from exercise_logic.data.synthetic import generate_chest_xrays, generate_splits  # noqa: E402

AUC_BAND = (0.85, 0.97)


def roc_auc(y_true: np.ndarray, scores: np.ndarray) -> float:
    """Rank-based ROC-AUC (Mann-Whitney U), ties get average ranks.

    Parameters
    ----------
    y_true : numpy.ndarray
        ``(N,)`` binary labels (0/1).
    scores : numpy.ndarray
        ``(N,)`` real-valued scores, higher = more likely positive.

    Returns
    -------
    float
        Area under the ROC curve; ``nan`` if only one class is present.
    """
    y_true = np.asarray(y_true).ravel().astype(bool)
    scores = np.asarray(scores, dtype=np.float64).ravel()
    n_pos, n_neg = int(y_true.sum()), int((~y_true).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    sorted_scores = scores[order]
    ranks = np.empty(len(scores), dtype=np.float64)
    # average ranks (1-based) over runs of tied scores
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    avg = first + (counts + 1) / 2.0
    ranks[order] = np.repeat(avg, counts)
    return float((ranks[y_true].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def to_model_input(images: np.ndarray) -> np.ndarray:
    """``(N, S, S)`` uint8 -> ``(N, S, S, 3)`` float32 in ``[0, 1]``."""
    x = images.astype(np.float32) / 255.0
    return np.repeat(x[..., None], 3, axis=-1)


def build_model(kind: str, size: int):
    """The lecture CNN (``'lecture'``) or the deeper GAP CNN (``'deep'``)."""
    from tensorflow import keras
    from tensorflow.keras import layers

    if kind == "lecture":
        return keras.Sequential([
            keras.Input((size, size, 3)),
            layers.Conv2D(32, (3, 3), activation="relu"),
            layers.MaxPooling2D((2, 2)),
            layers.Conv2D(64, (3, 3), activation="relu", name="last_conv_layer"),
            layers.MaxPooling2D((2, 2)),
            layers.Flatten(),
            layers.Dense(64, activation="relu"),
            layers.Dropout(0.2),
            layers.Dense(1, activation="sigmoid"),
        ])
    if kind == "deep":
        return keras.Sequential([
            keras.Input((size, size, 3)),
            layers.Conv2D(32, (3, 3), padding="same", activation="relu"),
            layers.Conv2D(32, (3, 3), padding="same", activation="relu"),
            layers.MaxPooling2D((2, 2)),
            layers.Conv2D(64, (3, 3), padding="same", activation="relu"),
            layers.Conv2D(64, (3, 3), padding="same", activation="relu", name="last_conv_layer"),
            layers.GlobalAveragePooling2D(),
            layers.Dense(1, activation="sigmoid"),
        ])
    raise ValueError(f"model must be one of ('lecture', 'deep'), got {kind!r}")


def train_and_evaluate(splits, kind: str, seed: int, epochs: int, verbose: int = 0) -> dict:
    """Train one model as in the lecture and evaluate it on the test split."""
    from tensorflow import keras

    train, test = splits["train"], splits["test"]
    size = train.images.shape[1]
    x_train, y_train = to_model_input(train.images), train.labels.astype(np.float32)
    x_test, y_test = to_model_input(test.images), test.labels
    keras.utils.set_random_seed(seed)
    model = build_model(kind, size)
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    t0 = time.perf_counter()
    model.fit(x_train, y_train, epochs=epochs, validation_split=0.1, batch_size=128, verbose=verbose)
    train_s = time.perf_counter() - t0
    scores = model.predict(x_test, batch_size=512, verbose=0).ravel()
    return {
        "auc": roc_auc(y_test, scores),
        "acc": float(np.mean((scores >= 0.5) == (y_test == 1))),
        "train_s": train_s,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--size", type=int, default=28)
    parser.add_argument("--model", choices=("lecture", "deep", "both"), default="lecture")
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

    kinds = ("lecture", "deep") if args.model == "both" else (args.model,)
    results = {k: [] for k in kinds}
    for seed in args.seeds:
        t0 = time.perf_counter()
        splits = generate_splits(size=args.size, seed=seed, n_train=args.n_train,
                                 n_test=args.n_test, marker_strength=args.marker_strength)
        gen_s = time.perf_counter() - t0
        for kind in kinds:
            r = train_and_evaluate(splits, kind, seed, args.epochs, verbose=args.verbose)
            results[kind].append(r["auc"])
            in_band = AUC_BAND[0] <= r["auc"] <= AUC_BAND[1]
            if args.marker_strength is not None:
                flag = "marker shortcut run: a low test AUC is the expected lesson"
            elif kind == "lecture":
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
