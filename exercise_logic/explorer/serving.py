"""Serving the page from a script until Ctrl-C or SIGTERM, then stopping without a traceback.

Gradio's own wait turns SIGTERM into ``SystemExit`` inside the interpreter's
shutdown, which prints "Exception ignored in: <module 'threading'>"; here both
signals only set an event, and the server is closed in the main thread.
"""
from __future__ import annotations

import signal
import threading

from .texts import t


def serve_until_stopped(demo, lang: str = "ja") -> None:
    """Block until Ctrl-C (SIGINT) or SIGTERM, then close the server and say so in one line."""
    stop = threading.Event()
    previous = {number: signal.signal(number, lambda *_: stop.set())
                for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not stop.wait(0.5) and demo.is_running:
            pass
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        demo.close(verbose=False)
        print(t("server_stopped", lang), flush=True)
