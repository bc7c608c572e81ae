"""How good are the explanations? Issue 5's measurement, method by method.

On the synthetic set at 28x28, trained for 5 epochs without a confounder, for
the lecture CNN ('simple') and the deeper CNN ('deeper'), each method explains
the abnormal class on the test set's true positives:

- pointing game (peak within the standard tolerance of a lesion pixel: Zhang
  et al.'s 15 px at 224 px, i.e. 2 px at 28 px) and energy-in-mask;
- deletion and insertion AUC (blurred baseline, 16 steps) and ROAD (Rong et
  al., 2022: mean probability with 10-90% of the pixels removed and imputed,
  most / least relevant first);
- sanity check: Spearman / SSIM of the maps after full cascading randomisation,
  smooth MPRT's Spearman (noise-averaged maps, bottom-up randomisation) and
  efficient MPRT's rise in map entropy (Hedström et al., 2023).

Grad-CAM's pointing game on the deeper CNN (issue 5's target) varies with the
initialisation, so it is also measured over several seeds. Then the shortcut
lab at marker strength 0.95.

By image size (issue 12): the deeper CNN trained at 28, 64, 128 and 224 px
(same synthetic scenes, 5 epochs, several seeds), Grad-CAM of the abnormal
class on the test set's true positives, streamed batch by batch: pointing game
at the standard tolerance scaled to the image (2, 4, 9 and 15 px) and energy
in the lesion masks, with uniform random maps as the chance level.

On real X-rays (issue 18, ``--real``): NIH ChestX-ray14's radiologist boxes
on ChestMNIST (needs NIH's BBox_List_2017.csv and MedMNIST's ChestMNIST image
record in the MedMNIST folder; see exercise_logic/data/nih_boxes.py). A
binary ChestMNIST model trained with every boxed image held out of its train
and val splits; per finding, the hit rate and mIoU of Saporta et al. (2022),
the pointing game at the standard tolerance and the chance level.

Prints markdown tables and saves a figure.

    python bench/explanation_quality.py [--figure docs/explanation_quality.png] [--seeds 0 1 2 3 4]
    python bench/explanation_quality.py --part scorecards --max-images 200 [--smooth-images 16 --smooth-samples 16]
    python bench/explanation_quality.py --part sizes --sizes 28 64 128 224 --size-seeds 0 1 2 \\
        [--size-train 8000 --size-test 2000]
    python bench/explanation_quality.py --real [--real-size 28] [--real-model deeper] [--real-methods gradcam]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import matplotlib  # noqa: E402

matplotlib.use("Agg")

import numpy as np  # noqa: E402

import exercise_logic as el  # noqa: E402
from exercise_logic.explain.localisation import energy_in_mask, pointing_game, standard_tolerance  # noqa: E402
from exercise_logic.data.datasets import ABNORMAL  # noqa: E402
from exercise_logic.explain.scorecard import method_scorecard, true_positives  # noqa: E402
from synthetic_difficulty import AUC_BAND  # noqa: E402 (bench/)


def deeper_gradcam_over_seeds(seeds, epochs):
    """Per seed: (seed, test ROC-AUC, true positives, pointing game standard / 1 px)."""
    rows = []
    for seed in seeds:
        trained = el.train_or_load("synthetic", "deeper", epochs=epochs, seed=seed, progress=False)
        test = trained.dataset.test
        chosen = true_positives(trained.model, test)
        maps = el.gradcam(trained.model, test.images[chosen], target=ABNORMAL)
        rows.append((seed, trained.metrics["roc_auc"], len(chosen),
                     float(np.nanmean(pointing_game(maps, test.masks[chosen]))),
                     float(np.nanmean(pointing_game(maps, test.masks[chosen], tolerance=1)))))
    return rows


def train_deeper(size, seed, epochs, n_train, n_test):
    """The deeper CNN trained as in the lecture on ``n_train`` synthetic images at ``size`` px, streamed.

    Returns (model, test images, test labels, test masks, seconds per epoch).
    """
    import keras

    from exercise_logic.data.lazy_arrays import PackedMasks, StreamedImages
    from exercise_logic.data.synthetic import generate_splits
    from exercise_logic.streaming import ImageBatches
    from exercise_logic.training import BATCH_SIZES

    splits = generate_splits(size=size, seed=seed, n_train=n_train, n_val=n_train // 8, n_test=n_test,
                             packed_masks=True)
    train, val, test = splits["train"], splits["val"], splits["test"]
    keras.utils.set_random_seed(seed)
    model = el.build_model((size, size, 3), 1, "deeper")
    stamps = []
    model.fit(ImageBatches(StreamedImages(train.images), train.labels.astype(np.float32), BATCH_SIZES["deeper"],
                           shuffle=True, seed=seed),
              validation_data=ImageBatches(StreamedImages(val.images), val.labels.astype(np.float32), 64),
              epochs=epochs, verbose=0,
              callbacks=[keras.callbacks.LambdaCallback(on_epoch_begin=lambda *_: stamps.append(time.perf_counter()),
                                                        on_epoch_end=lambda *_: stamps.append(time.perf_counter()))])
    epoch_s = float(np.mean(np.diff(stamps)[::2]))
    return model, StreamedImages(test.images), test.labels, PackedMasks(test.masks, size), epoch_s


def gradcam_by_size(sizes, seeds, epochs, n_train, n_test):
    """Per (size, seed): the deeper CNN's Grad-CAM on the test true positives, streamed.

    Returns dicts with the size, seed, last conv map side, seconds per epoch,
    test ROC-AUC, true positives, pointing game and energy in mask (means),
    and the same two for uniform random maps.
    """
    rows = []
    for size in sizes:
        for seed in seeds:
            model, images, labels, masks, epoch_s = train_deeper(size, seed, epochs, n_train, n_test)
            abnormal = el.predict_proba(model, images)[:, ABNORMAL]
            chosen = np.flatnonzero((labels == ABNORMAL) & (abnormal >= 0.5))
            chosen_images, chosen_masks = images.take(chosen), masks.take(chosen)
            random = np.random.default_rng(seed)
            scores = {key: [] for key in ("pointing", "energy", "random_pointing", "random_energy")}
            for part, maps, _, _ in el.cam_engine(model).explain_batches(chosen_images, ABNORMAL):
                lesions = chosen_masks[part]
                chance = random.random(maps.shape, dtype=np.float32)
                scores["pointing"].append(pointing_game(maps, lesions))
                scores["energy"].append(energy_in_mask(maps, lesions))
                scores["random_pointing"].append(pointing_game(chance, lesions))
                scores["random_energy"].append(energy_in_mask(chance, lesions))
            conv = model.get_layer("last_conv_layer").output.shape[1]
            rows.append({"size": size, "seed": seed, "conv": conv, "epoch_s": epoch_s,
                         "auc": el.roc_auc(labels, abnormal), "count": len(chosen),
                         **{key: float(np.nanmean(np.concatenate(values))) if values else float("nan")
                            for key, values in scores.items()}})
            print(f"  [{size} px, seed {seed}] {rows[-1]}", flush=True)
    return rows


def print_sizes(rows, seeds, epochs, n_train, n_test):
    sizes = sorted({row["size"] for row in rows})
    print(f"\n### Grad-CAM on the deeper CNN by image size ({epochs} epochs on {n_train} synthetic images, "
          f"seeds {seeds}, true positives of {n_test} test images)\n")
    print("| size | last conv map | tolerance | s / epoch | test ROC-AUC | pointing game per seed | **mean** "
          "| energy in mask | random maps: pointing / energy |")
    print("|---:|---:|---:|---:|---:|---|---:|---:|---:|")
    means = []
    for size in sizes:
        group = [row for row in rows if row["size"] == size]
        per_seed = " / ".join(f"{row['pointing']:.3f}" for row in group)
        means.append(float(np.mean([row["pointing"] for row in group])))
        average = {key: float(np.mean([row[key] for row in group]))
                   for key in ("auc", "energy", "random_pointing", "random_energy")}
        print(f"| {size} | {group[0]['conv']}×{group[0]['conv']} | {standard_tolerance(size)} px | "
              f"{np.mean([row['epoch_s'] for row in group]):.1f} | {average['auc']:.3f} | {per_seed} | "
              f"**{means[-1]:.3f}** | {average['energy']:.3f} | "
              f"{average['random_pointing']:.3f} / {average['random_energy']:.3f} |")
    rising = all(later >= earlier for earlier, later in zip(means, means[1:]))
    print(f"\n- pointing game rises with size: {'yes' if rising else 'NO'} ({' -> '.join(f'{m:.3f}' for m in means)})")
    aucs = [float(np.mean([row["auc"] for row in rows if row["size"] == size])) for size in sizes]
    print(f"- test ROC-AUC in the synthetic set's difficulty band {AUC_BAND[0]}-{AUC_BAND[1]}: "
          + ", ".join(f"{size} px {auc:.3f} {'ok' if AUC_BAND[0] <= auc <= AUC_BAND[1] else 'OUTSIDE'}"
                      for size, auc in zip(sizes, aucs)))
    for size, value in zip(sizes, means):
        if size >= 128:
            print(f"- {size} px: mean pointing game {value:.3f} (target >= 0.9): {'met' if value >= 0.9 else 'MISSED'}")


def real_localisation(size, model_type, methods, epochs, seed, root=None):
    """--real: localisation per finding on ChestMNIST with NIH's boxes; exits with a message without the files."""
    from exercise_logic.data.nih_boxes import BoxFileError, BoxFilesMissing, load_chest_boxes
    from exercise_logic.explain.box_localisation import localisation_by_finding, markdown_table

    try:
        boxes = load_chest_boxes(root)
    except (BoxFilesMissing, BoxFileError) as error:
        sys.exit(f"--real measures localisation on NIH's radiologist boxes and needs two files.\n{error}")
    held_out = boxes.held_out()
    try:
        trained = el.train_or_load("chestmnist", model_type, size=size, epochs=epochs, seed=seed,
                                   held_out=held_out, root=root, progress=False)
    except el.DatasetUnavailableError as error:
        sys.exit(f"--real also needs ChestMNIST itself at {size} px.\n{error}")
    full = el.load_dataset("chestmnist", size, root=root, binary_classification=True, download=False)
    splits = {"train": full.train, "val": full.val, "test": full.test}
    print(f"\n### Localisation on NIH's boxes: ChestMNIST {size} px, {model_type} CNN ({epochs} epochs, seed {seed}, "
          f"test ROC-AUC {trained.metrics['roc_auc']:.3f})\n")
    print(f"{len(boxes)} boxes on " + ", ".join(f"{len(boxes.indices(name))} {name}" for name in splits)
          + " images; held out of training: "
          + ", ".join(f"{len(indices)} {name}" for name, indices in held_out.items())
          + (f"; {len(boxes.unmatched)} box images not in the image record" if boxes.unmatched else ""))
    for method in methods:
        rows = localisation_by_finding(trained.model, boxes, splits, target=ABNORMAL, method=method)
        print(f"\n#### {method} (the abnormal output; every boxed image)\n")
        print(markdown_table(rows))


def figure_of(cards, lab, seed_rows, path: Path, epochs: int):
    import matplotlib.pyplot as plt

    methods = [row["method"] for row in next(iter(cards.values())).rows]
    panels = (("pointing", "pointing game on true positives, 2 px (higher = better)"),
              ("energy", "energy in lesion mask (higher = better)"),
              ("deletion_auc", "deletion AUC (lower = better)"),
              ("insertion_auc", "insertion AUC (higher = better)"),
              ("sanity_spearman", "Spearman at full randomisation (lower = better)"))
    figure, axes = plt.subplots(2, 3, figsize=(16, 8.5))
    positions = np.arange(len(methods))
    for axis, (key, title) in zip(axes.flat, panels):
        for offset, (model_type, card) in enumerate(cards.items()):
            values = [card.row(name)[key] for name in methods]
            axis.bar(positions + 0.4 * offset - 0.2, values, width=0.38, label=f"{model_type} CNN")
        axis.set_xticks(positions, methods, rotation=45, ha="right", fontsize=8)
        axis.set_title(title, fontsize=10)
        axis.grid(axis="y", alpha=0.3)
        if key == "pointing":
            axis.axhline(0.8, color="red", lw=0.8, ls="--", label="target (Grad-CAM, deeper)")
            column = methods.index("gradcam") + 0.2  # the deeper CNN's Grad-CAM bar
            axis.scatter(np.full(len(seed_rows), column), [row[3] for row in seed_rows], s=12,
                         color="black", zorder=3, label=f"deeper, seeds {seed_rows[0][0]}-{seed_rows[-1][0]}")
        if key in ("pointing", "deletion_auc", "insertion_auc"):
            axis.set_ylim(0, 1.25)  # room for the legend above the bars
        axis.legend(fontsize=7, loc="upper right", ncol=3)
    axis = axes.flat[5]
    names = ("val acc.", "test acc.", "contradicting acc.", "marker peaks", "pointing game")
    for offset, (label, report) in enumerate((("shortcut", lab.shortcut), ("control", lab.control))):
        values = [report.val_accuracy, report.test_accuracy, report.conflict_accuracy,
                  report.marker_peak, report.pointing]
        axis.bar(np.arange(5) + 0.4 * offset - 0.2, values, width=0.38, label=f"{label} model")
    axis.set_xticks(np.arange(5), names, rotation=30, ha="right", fontsize=8)
    axis.set_ylim(0, 1.25)
    axis.set_title(f"shortcut lab (strength {lab.strength}): drop {lab.accuracy_drop:.1f} pts", fontsize=10)
    axis.legend(fontsize=7, loc="upper right", ncol=2)
    axis.grid(axis="y", alpha=0.3)
    figure.suptitle(f"Explanation quality on the synthetic set (28x28, {epochs} epochs)")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--figure", type=Path, default=Path("docs/explanation_quality.png"))
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-images", type=int, default=None, help="true positives per model (default all)")
    parser.add_argument("--sanity-images", type=int, default=64)
    parser.add_argument("--smooth-images", type=int, default=16, help="images for smooth MPRT")
    parser.add_argument("--smooth-samples", type=int, default=16, help="noisy copies per smooth-MPRT map")
    parser.add_argument("--strength", type=float, default=0.95)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4],
                        help="seeds of the deeper CNN for the Grad-CAM pointing-game target")
    parser.add_argument("--part", choices=("all", "methods", "scorecards", "sizes"), default="all",
                        help="'methods': the 28 px tables and the shortcut lab; 'scorecards': only the two "
                             "methods x metrics tables; 'sizes': Grad-CAM by image size")
    parser.add_argument("--sizes", type=int, nargs="+", default=[28, 64, 128, 224])
    parser.add_argument("--size-seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--size-train", type=int, default=8000, help="synthetic training images per size")
    parser.add_argument("--size-test", type=int, default=2000, help="synthetic test images per size")
    parser.add_argument("--real", action="store_true",
                        help="localisation on NIH's radiologist boxes on ChestMNIST (needs the two files)")
    parser.add_argument("--real-size", type=int, default=28, choices=(28, 64, 128, 224))
    parser.add_argument("--real-model", default="deeper", choices=("simple", "deeper"))
    parser.add_argument("--real-methods", nargs="+", default=["gradcam"])
    args = parser.parse_args()
    if args.real:
        real_localisation(args.real_size, args.real_model, args.real_methods, args.epochs, args.seed)
        return
    if args.part in ("all", "sizes"):
        started = time.perf_counter()
        rows = gradcam_by_size(args.sizes, args.size_seeds, args.epochs, args.size_train, args.size_test)
        print_sizes(rows, args.size_seeds, args.epochs, args.size_train, args.size_test)
        print(f"\n({time.perf_counter() - started:.0f} s)")
    if args.part == "sizes":
        return

    started = time.perf_counter()
    cards = {}
    for model_type in ("simple", "deeper"):
        trained = el.train_or_load("synthetic", model_type, epochs=args.epochs, seed=args.seed, progress=False)
        card = method_scorecard(trained.model, trained.dataset.test, max_images=args.max_images,
                                sanity_images=args.sanity_images, seed=args.seed,
                                smooth_images=args.smooth_images, smooth_samples=args.smooth_samples)
        cards[model_type] = card
        print(f"\n### {model_type} CNN ({args.epochs} epochs, seed {args.seed}): test accuracy "
              f"{trained.metrics['accuracy']:.3f}, ROC-AUC {trained.metrics['roc_auc']:.3f}; "
              f"{card.n_images} true positives, sanity check and eMPRT on {card.n_sanity}, smooth MPRT on "
              f"{card.n_smooth} ({args.smooth_samples} noisy copies)\n")
        print(card.to_markdown())
    if args.part == "scorecards":
        print(f"\n({time.perf_counter() - started:.0f} s)")
        return

    seed_rows = deeper_gradcam_over_seeds(args.seeds, args.epochs)
    print(f"\n### Grad-CAM pointing game on the deeper CNN, seed by seed ({args.epochs} epochs)\n")
    print("| seed | test ROC-AUC | true positives | pointing game (2 px) | pointing game (1 px) |")
    print("|---:|---:|---:|---:|---:|")
    for seed, auc, count, standard, strict in seed_rows:
        print(f"| {seed} | {auc:.3f} | {count} | {standard:.3f} | {strict:.3f} |")
    standard = np.array([row[3] for row in seed_rows])
    strict = np.array([row[4] for row in seed_rows])
    print(f"| mean | | | {standard.mean():.3f} | {strict.mean():.3f} |")

    lab = el.run_shortcut_lab("simple", args.strength, args.epochs, args.seed)
    print(f"\n### Shortcut lab (simple CNN, strength {args.strength})\n")
    print("| model | val acc. | test acc. | drop (pts) | contradicting acc. | marker peaks | pointing game |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for label, report, drop in (("shortcut", lab.shortcut, lab.accuracy_drop),
                                ("control", lab.control, lab.control_drop)):
        print(f"| {label} | {report.val_accuracy:.3f} | {report.test_accuracy:.3f} | {drop:.1f} | "
              f"{report.conflict_accuracy:.3f} | {report.marker_peak:.3f} | {report.pointing:.3f} |")
    print(f"\n(marker peaks: abnormal-class Grad-CAM over the {lab.n_marker_images} test images with a marker; "
          f"pointing game over the {lab.n_abnormal_images} abnormal test images)")

    print("\n### Targets")
    print(f"- Grad-CAM pointing game, deeper CNN, mean of seeds {args.seeds}: {standard.mean():.3f} "
          f"(range {standard.min():.3f}-{standard.max():.3f}, {np.sum(standard >= 0.8)} of {len(standard)} "
          f"seeds >= 0.8; target >= 0.8): {'met' if standard.mean() >= 0.8 else 'MISSED'}")
    print(f"- shortcut accuracy drop: {lab.accuracy_drop:.1f} points (target >= 10): "
          f"{'met' if lab.accuracy_drop >= 10 else 'MISSED'}")
    print(f"- shortcut maps peaking on the marker: {lab.shortcut.marker_peak:.1%} (target >= 50%): "
          f"{'met' if lab.shortcut.marker_peak >= 0.5 else 'MISSED'}")
    figure_of(cards, lab, seed_rows, args.figure, args.epochs)
    print(f"\nwrote {args.figure} ({time.perf_counter() - started:.0f} s in all)")


if __name__ == "__main__":
    main()
