"""``python -m demo``: serve the Grad-CAM explorer for the kit's models on http://127.0.0.1:7860.

``python -m demo hash-password USER`` asks for a password and prints the
``USER:hash`` line of an ``--auth-file``.
"""
from __future__ import annotations

import argparse
import atexit
import logging
import os
import signal
import sys
import threading

# The kit's texts come with TensorFlow, which may be what was being imported when the signal came.
STOPPED_WHILE_STARTING = "[demo] 起動を中止しました / stopped while starting."
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
    lab = parser.add_argument_group("lab server (a class behind a reverse proxy)")
    lab.add_argument("--root-path", default="", type=root_path,
                     help="the sub-path a reverse proxy serves the page at, e.g. /gradcam")
    lab.add_argument("--auth-file", default=None, metavar="PATH",
                     help="require a login: lines 'user:hash' made by `python -m demo hash-password USER`")
    lab.add_argument("--class-size", default=None, type=positive_int, metavar="N",
                     help="queue settings for N students clicking at once (measured in demo/README.md)")
    return parser.parse_args(argv)


def root_path(value: str) -> str:
    """``/gradcam`` (a trailing slash dropped); an argparse error for anything else."""
    value = value.rstrip("/")
    if value and (not value.startswith("/") or any(c in value for c in "?#% ")):
        raise argparse.ArgumentTypeError(f"{value!r}: a URL path such as /gradcam is expected")
    return value


def positive_int(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"{value!r}: a whole number of at least 1 is expected")
    return int(value)


def hash_password_command(argv) -> None:
    """Print ``USER:hash`` for a password typed twice (or read from a pipe)."""
    import getpass

    from exercise_logic.explorer.logins import hash_password
    parser = argparse.ArgumentParser(
        prog="python -m demo hash-password",
        description="ログイン用ファイルの 1 行を作ります / print one line of an --auth-file "
                    "(the password is asked for, never given on the command line)")
    parser.add_argument("user")
    user = parser.parse_args(argv).user
    if ":" in user or not user.strip() or user != user.strip():
        sys.exit(f"ユーザー名 {user!r} に ':' や前後の空白は使えません / a user name has no ':' and no "
                 "surrounding spaces")
    if sys.stdin.isatty():
        password = getpass.getpass("パスワード / password: ")
        if getpass.getpass("もう一度 / again: ") != password:
            sys.exit("パスワードが一致しません / the passwords differ")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        sys.exit("空のパスワードは使えません / the password is empty")
    print(f"{user}:{hash_password(password)}")


def quiet_logging() -> None:
    """The kit's own log lines only: no per-request lines, no TensorFlow retracing notes."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    for noisy, level in (("httpx", logging.WARNING), ("tensorflow", logging.ERROR)):
        logging.getLogger(noisy).setLevel(level)


def main(argv=None) -> bool | None:
    """Run the launcher; True when a signal stopped it while it started."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["hash-password"]:
        return hash_password_command(argv[1:])
    args = parse_args(argv)
    auth = None
    if args.auth_file:   # before anything slow: a bad file is reported at once
        from exercise_logic.explorer.logins import AuthFileError, authenticator, read_auth_file
        try:
            auth = authenticator(read_auth_file(args.auth_file))
        except AuthFileError as error:
            sys.exit(f"[demo] {error}")
    stop = threading.Event()

    def stop_starting(signum, frame):
        # Until the page is served, SIGTERM stops the start-up as Ctrl-C does, without a traceback. Code
        # the start-up calls may swallow the KeyboardInterrupt (seen in CI: the page was then served and
        # the signal lost); the event remembers it, and serve() checks it before serving.
        stop.set()
        raise KeyboardInterrupt

    for number in (signal.SIGINT, signal.SIGTERM):   # serving.STOP_SIGNALS, whose import waits for TensorFlow
        signal.signal(number, stop_starting)
    try:
        serve(args, auth, stop)
    except KeyboardInterrupt:
        print(STOPPED_WHILE_STARTING, flush=True)
        return True
    return False


def exit_after_early_stop() -> None:
    """End the process with code 0 after a signal during start-up.

    An interrupt that passed through native code on its way (TensorFlow's or
    Gradio's imports) can leave CPython marked as interrupted even though it was
    handled, and the process would then end with -SIGINT (seen once in a few runs).
    """
    atexit._run_exitfuncs()   # the run folder is removed as on a normal exit
    sys.stdout.flush()
    os._exit(0)


def serve(args: argparse.Namespace, auth, stop: threading.Event) -> None:
    """Load the model, serve the page, block until Ctrl-C or SIGTERM sets ``stop``.

    Raises KeyboardInterrupt when a signal came while starting (``stop`` already set).
    """
    quiet_logging()
    # The library first: it imports TensorFlow without its start-up noise. Then the process
    # settings, which must precede Gradio's import, and only then the explorer (Gradio).
    from exercise_logic.explorer import environment
    workdir = environment.prepare(args.workdir)

    from exercise_logic.explorer.app import QueueSettings, build_app, class_preset, launch_options
    from exercise_logic.explorer.lab_handlers import ShortcutLabs
    from exercise_logic.explorer.model_store import ModelStore
    from exercise_logic.explorer.output_files import OutputFiles
    from exercise_logic.explorer.serving import serve_until_stopped, stop_signals
    from exercise_logic.explorer.sources import KitModels
    from exercise_logic.messages import message, supported_language

    lang = supported_language(args.lang)
    store = ModelStore(workdir, epochs=args.epochs)
    dataset = args.dataset or store.default_dataset()
    if dataset not in store.dataset_keys():
        sys.exit(f"データセット {dataset!r} がありません / dataset {dataset!r} is not available; "
                 f"choose one of: {', '.join(store.dataset_keys())}")
    if store.is_cached(dataset, args.model):
        store.get(dataset, args.model)   # load and warm up before the first student arrives
    else:
        print(message("explorer.not_trained_yet", lang, model=f"{dataset}/{args.model}"), flush=True)
    models = KitModels(store, dataset, args.model)
    queue = class_preset(args.class_size) if args.class_size else QueueSettings()
    outputs = OutputFiles(environment.pictures_folder(workdir))
    demo = build_app(models, outputs, lang=args.lang,
                     labs=ShortcutLabs(store.seed, store.cache_dir), lab_epochs=args.epochs, queue=queue)
    with stop_signals(stop):
        if stop.is_set():   # a signal while starting whose KeyboardInterrupt was swallowed
            raise KeyboardInterrupt
        demo.launch(**launch_options(workdir, outputs.folder, host=args.host, port=args.port, share=args.share,
                                     root_path=args.root_path, auth=auth),
                    prevent_thread_lock=True)
        print(message("explorer.server_started", lang, url=demo.share_url or demo.local_url), flush=True)
        serve_until_stopped(demo, stop, lang)


if __name__ == "__main__":
    if main():
        exit_after_early_stop()
