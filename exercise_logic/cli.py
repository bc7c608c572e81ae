"""Command line: ``python -m exercise_logic {datasets,download,train,explain,shortcut-lab,metrics}``."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

DESCRIPTION = """\
Teaching kit for explainable medical AI: chest X-rays, a small CNN and Grad-CAM.
説明可能な医療AIの教材: 胸部X線・小さなCNN・Grad-CAM。"""


def _parser() -> argparse.ArgumentParser:
    from .data.datasets import SYNTHETIC, dataset_names
    from .models import MODEL_TYPES

    parser = argparse.ArgumentParser(prog="python -m exercise_logic", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def data_options(command, default=SYNTHETIC):
        command.add_argument("--dataset", default=default, choices=dataset_names(),
                             help=f"dataset (default {default}; offline: synthetic)")
        command.add_argument("--size", type=int, default=28, help="image size in pixels (default 28)")
        command.add_argument("--root", type=Path, help="MedMNIST folder (default $MEDMNIST_ROOT or ~/.medmnist)")

    def model_options(command):
        data_options(command)
        command.add_argument("--model", default="simple", choices=MODEL_TYPES, help="model type")
        command.add_argument("--epochs", type=int, default=5)
        command.add_argument("--seed", type=int, default=0)
        command.add_argument("--marker-strength", type=float, default=None,
                             help="synthetic only: corner marker follows the label with this strength")
        command.add_argument("--cache-dir", type=Path,
                             help="trained-model cache (default $EXERCISE_LOGIC_CACHE or ~/.cache/exercise_logic)")

    listing = commands.add_parser("datasets", help="list datasets and what is cached locally")
    listing.add_argument("--root", type=Path)
    listing.add_argument("--cache-dir", type=Path)

    download = commands.add_parser("download", help="download a MedMNIST file (verified, atomic)")
    download.add_argument("dataset", choices=[name for name in dataset_names() if name != SYNTHETIC])
    download.add_argument("--size", type=int, default=28)
    download.add_argument("--root", type=Path)

    train = commands.add_parser("train", help="train a model, or load it from the cache")
    model_options(train)
    train.add_argument("--retrain", action="store_true", help="ignore the cached model")

    explain = commands.add_parser("explain", help="write a PNG: original, Grad-CAM heatmap, overlay")
    model_options(explain)
    source = explain.add_mutually_exclusive_group(required=True)
    source.add_argument("--index", type=int, help="index of a test-set image")
    source.add_argument("--image", type=Path, help="an image file (PNG, JPEG, 16-bit...)")
    explain.add_argument("--target", type=int, default=None,
                         help="class to explain (default: predicted; binary: 1 abnormal, 0 normal)")
    explain.add_argument("--layer", default=None, help="conv layer name or path (default: the last)")
    explain.add_argument("--colormap", default="jet")
    explain.add_argument("--opacity", type=float, default=0.4)
    explain.add_argument("--output", "-o", type=Path, default=Path("gradcam.png"))

    lab = commands.add_parser("shortcut-lab", help="train a shortcut model and a control; measure the shortcut")
    lab.add_argument("--model", default="simple", choices=MODEL_TYPES, help="model type")
    lab.add_argument("--strength", type=float, default=0.95,
                     help="marker-label correlation in training, in (0, 1] (default 0.95)")
    lab.add_argument("--epochs", type=int, default=5)
    lab.add_argument("--seed", type=int, default=0)
    lab.add_argument("--size", type=int, default=28, help="image size in pixels (default 28)")
    lab.add_argument("--cache-dir", type=Path)
    lab.add_argument("--lang", default="both", choices=("ja", "en", "both"))
    lab.add_argument("--figure", type=Path, help="also write the lab's figure (PNG) here")

    metrics = commands.add_parser("metrics", help="methods x metrics table on the synthetic test set")
    model_options(metrics)
    metrics.add_argument("--methods", default=None,
                         help="comma-separated methods (default: all)")
    metrics.add_argument("--images", type=int, default=200,
                         help="true-positive test images to score (default 200)")
    metrics.add_argument("--sanity-images", type=int, default=32,
                         help="images for the randomisation sanity check (0 skips it; default 32)")
    metrics.add_argument("--steps", type=int, default=16, help="deletion/insertion steps (default 16)")
    metrics.add_argument("--layer", default=None, help="conv layer for CAM methods (default: the last)")
    return parser


def _datasets(args) -> None:
    from .data import medmnist_files
    from .data.datasets import available_datasets
    from .training import cached_models, default_cache_dir

    present = available_datasets(args.root)
    print("Datasets / データセット (offline-ready marked *):")
    print(f"  synthetic      sizes {', '.join(str(s) for n, s in present if n == 'synthetic')} *  "
          "(embedded, no download / 埋め込み合成データ)")
    for flag in medmnist_files.MEDMNIST_2D_FLAGS:
        sizes = [str(size) for name, size in present if name == flag]
        mark = f"cached: {', '.join(sizes)} *" if sizes else "not downloaded"
        print(f"  {flag:<14} {mark}")
    root = args.root or medmnist_files.default_root()
    print(f"MedMNIST folder: {root}")
    models = cached_models(args.cache_dir)
    print(f"Trained models in {args.cache_dir or default_cache_dir()}: {len(models)}")
    for record in models:
        settings, metrics = record["settings"], record["metrics"]
        print(f"  {settings['dataset']} {settings['size']}px {settings['model_type']} "
              f"epochs={settings['epochs']} seed={settings['seed']}: "
              f"ROC-AUC {metrics['roc_auc']:.3f}, accuracy {metrics['accuracy']:.3f}")


def _train(args, progress=True):
    from .training import train_or_load
    trained = train_or_load(args.dataset, args.model, size=args.size, epochs=args.epochs,
                            seed=args.seed, marker_strength=args.marker_strength,
                            cache_dir=args.cache_dir, root=args.root, progress=progress,
                            retrain=getattr(args, "retrain", False))
    origin = "loaded from cache" if trained.from_cache else "trained and cached"
    print(f"{origin}: {trained.path}", file=sys.stderr)
    print(f"test ROC-AUC {trained.metrics['roc_auc']:.3f}, accuracy {trained.metrics['accuracy']:.3f} "
          f"({trained.metrics['n_test']} images)", file=sys.stderr)
    return trained


def _explain(args) -> None:
    import numpy as np

    from .data.image_files import preprocess_image
    from .evaluation import predict_proba
    from .explain import cam_engine
    from .rendering import explanation_panel, save_png

    trained = _train(args, progress=False)
    data = trained.dataset
    if args.image is not None:
        gray = data.info.get("n_channels", 1) == 1
        image = preprocess_image(args.image, size=args.size, gray=gray)
    else:
        if not 0 <= args.index < len(data.test):
            raise ValueError(f"--index must be in 0..{len(data.test) - 1}, got {args.index}")
        image = data.test.images[args.index]
    maps, _, explained = cam_engine(trained.model, args.layer).explain(image[np.newaxis], args.target)
    probabilities = predict_proba(trained.model, image[np.newaxis])[0]
    names = data.class_names("en")
    panel = explanation_panel(image, maps[0], args.colormap, args.opacity)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    save_png(panel, args.output)
    ranked = sorted(zip(names, probabilities), key=lambda pair: -pair[1])[:3]
    print(f"prediction: {', '.join(f'{name} {p:.2f}' for name, p in ranked)}; "
          f"explained class: {names[explained[0]]}")
    print(f"wrote {args.output}")


def _shortcut_lab(args) -> None:
    from .shortcut_lab import plot_shortcut_lab, run_shortcut_lab

    result = run_shortcut_lab(args.model, args.strength, args.epochs, args.seed, args.cache_dir,
                              progress=False, size=args.size)
    print(result.summary(args.lang))
    if args.figure is not None:
        import matplotlib
        matplotlib.use("Agg")
        figure = plot_shortcut_lab(result)
        args.figure.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(args.figure, dpi=120)
        print(f"wrote {args.figure}")


def _metrics(args) -> None:
    from .data.datasets import SYNTHETIC
    from .explain.api import check_methods
    from .explain.scorecard import method_scorecard

    if args.dataset != SYNTHETIC:
        raise ValueError("metrics needs lesion masks, which only the synthetic dataset has: "
                         "use --dataset synthetic / 病変マスクがあるのは合成データだけです")
    methods = None if args.methods is None else check_methods(
        name.strip() for name in args.methods.split(",") if name.strip())
    if args.images < 1:
        raise ValueError(f"--images must be at least 1, got {args.images}")
    trained = _train(args, progress=False)
    card = method_scorecard(trained.model, trained.dataset.test, methods, max_images=args.images,
                            layer=args.layer, steps=args.steps, sanity_images=args.sanity_images)
    print(f"{args.model} CNN, {args.epochs} epochs, synthetic {args.size}px test set: "
          f"{card.n_images} true positives (sanity check on {card.n_sanity})")
    print(card.to_markdown())


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    from .data.image_files import ImageInputError
    from .data.medmnist_files import DatasetUnavailableError
    from .data.npz_format import CorruptDatasetError
    try:
        if args.command == "datasets":
            _datasets(args)
        elif args.command == "download":
            from .data.medmnist_files import ensure_file
            print(ensure_file(args.dataset, args.size, args.root))
        elif args.command == "train":
            _train(args)
        elif args.command == "shortcut-lab":
            _shortcut_lab(args)
        elif args.command == "metrics":
            _metrics(args)
        else:
            _explain(args)
    except (DatasetUnavailableError, CorruptDatasetError, ImageInputError, ValueError,
            FileNotFoundError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0
