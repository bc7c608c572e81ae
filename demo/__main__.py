"""``python -m demo``: serve the Grad-CAM explorer for the kit's models on http://127.0.0.1:7860."""
from __future__ import annotations

import argparse
import logging
import sys

DATASET_HELP = "e.g. synthetic-28 or chestmnist-28 (default: chestmnist-28 when present, else synthetic-28)"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m demo",
        description="Grad-CAM エクスプローラー / Grad-CAM explorer (教育用・診療には使えません / "
                    "for education, not for clinical use)")
    parser.add_argument("--dataset", default=None, help=DATASET_HELP)
    parser.add_argument("--model", default="simple", choices=("simple", "deeper", "transfer"))
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument("--host", default="127.0.0.1",
                        help="listen address (default 127.0.0.1: this computer only)")
    parser.add_argument("--share", action="store_true",
                        help="make a public gradio.live link (off by default; sends traffic off this machine)")
    parser.add_argument("--lang", default="auto", choices=("auto", "ja", "en"),
                        help="UI language (default: the browser's language)")
    parser.add_argument("--epochs", type=int, default=5, help="epochs when a model must be trained")
    parser.add_argument("--workdir", default=None,
                        help="the app's temporary folder (default: <model cache>/demo-tmp)")
    return parser.parse_args(argv)


def quiet_logging() -> None:
    """The kit's own log lines only: no per-request lines, no TensorFlow retracing notes."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    for noisy, level in (("httpx", logging.WARNING), ("tensorflow", logging.ERROR)):
        logging.getLogger(noisy).setLevel(level)


def main(argv=None) -> None:
    args = parse_args(argv)
    quiet_logging()
    # The library first: it imports TensorFlow without its start-up noise. Then the process
    # settings, which must precede Gradio's import, and only then the explorer (Gradio).
    from exercise_logic.explorer import environment
    workdir = environment.prepare(args.workdir)

    from exercise_logic.explorer.app import build_app, launch_options
    from exercise_logic.explorer.lab_handlers import ShortcutLabs
    from exercise_logic.explorer.model_store import ModelStore
    from exercise_logic.explorer.output_files import OutputFiles
    from exercise_logic.explorer.serving import serve_until_stopped
    from exercise_logic.explorer.sources import KitModels
    from exercise_logic.explorer.texts import t

    lang = args.lang if args.lang in ("ja", "en") else "ja"
    store = ModelStore(workdir, epochs=args.epochs)
    dataset = args.dataset or store.default_dataset()
    if dataset not in store.dataset_keys():
        sys.exit(f"データセット {dataset!r} がありません / dataset {dataset!r} is not available; "
                 f"choose one of: {', '.join(store.dataset_keys())}")
    if store.is_cached(dataset, args.model):
        store.get(dataset, args.model)   # load and warm up before the first student arrives
    else:
        print(t("not_trained_yet", lang, key=f"{dataset}/{args.model}"), flush=True)
    models = KitModels(store, dataset, args.model)
    demo = build_app(models, OutputFiles(workdir / "out"), lang=args.lang,
                     labs=ShortcutLabs(store.seed, store.cache_dir), lab_epochs=args.epochs)
    demo.launch(**launch_options(workdir, host=args.host, port=args.port, share=args.share),
                prevent_thread_lock=True)
    print(t("server_started", lang, url=demo.share_url or demo.local_url), flush=True)
    serve_until_stopped(demo, lang)


if __name__ == "__main__":
    main()
