"""``python -m demo``: start the Grad-CAM explorer on http://127.0.0.1:7860."""
from __future__ import annotations

import argparse
import logging
import signal
import sys

from . import environment

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


def main(argv=None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    for noisy in ("httpx", "tensorflow"):  # per-request lines; TF's retracing notes per method
        logging.getLogger(noisy).setLevel(logging.WARNING if noisy == "httpx" else logging.ERROR)
    workdir = environment.prepare(args.workdir)   # before gradio / TensorFlow are imported
    # Stopping with SIGTERM still removes the run folder (atexit runs on SystemExit).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

    from . import handlers
    from .app import build_app, launch_options

    store = handlers.ModelStore(workdir, epochs=args.epochs)
    dataset = args.dataset or store.default_dataset()
    if dataset not in store.dataset_keys():
        sys.exit(f"データセット {dataset!r} がありません / dataset {dataset!r} is not available; "
                 f"choose one of: {', '.join(store.dataset_keys())}")
    if store.is_cached(dataset, args.model):
        store.get(dataset, args.model)   # load and warm up before the first student arrives
    else:
        print(f"[demo] {dataset}/{args.model}: モデルは未学習です。ページを開くと学習の進み具合が表示されます。 / "
              "not trained yet: open the page to train it with a progress bar.", flush=True)
    outputs = handlers.OutputFiles(workdir / "out")
    demo = build_app(store, outputs, dataset=dataset, model_type=args.model, lang=args.lang)
    demo.launch(**launch_options(workdir, host=args.host, port=args.port, share=args.share))


if __name__ == "__main__":
    main()
