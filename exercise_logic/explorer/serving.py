"""Serving the page from a script until Ctrl-C or SIGTERM, then stopping without a traceback.

Gradio's own wait turns SIGTERM into ``SystemExit`` inside the interpreter's
shutdown, which prints "Exception ignored in: <module 'threading'>"; here both
signals only set an event, and the server is closed in the main thread.

    with stop_signals() as stop:        # before launch: a signal during it is not lost
        demo.launch(prevent_thread_lock=True)
        serve_until_stopped(demo, stop)
"""
from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

from ..messages import message

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def stop_signals(stop: threading.Event | None = None) -> Iterator[threading.Event]:
    """While inside, Ctrl-C (SIGINT) and SIGTERM only set the event yielded (``stop``, or a new one)."""
    stop = threading.Event() if stop is None else stop
    previous = {number: signal.signal(number, lambda *_: stop.set()) for number in STOP_SIGNALS}
    try:
        yield stop
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def serve_until_stopped(demo, stop: threading.Event, lang: str = "ja") -> None:
    """Block until ``stop`` is set (see :func:`stop_signals`), then close the server and say so in one line."""
    try:
        while not stop.wait(0.5) and demo.is_running:
            pass
    finally:
        demo.close(verbose=False)
        print(message("explorer.server_stopped", lang), flush=True)
