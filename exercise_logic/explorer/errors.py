"""Messages for the page: a student's mistake says what to do; a bug says little and is logged."""
from __future__ import annotations

import functools
import logging

import gradio as gr

from ..messages import bilingual, message, supported_language

log = logging.getLogger("demo")


def user_error(message: str) -> gr.Error:
    """A message for the page (a toast), without a stack trace in the server log."""
    return gr.Error(message, title=bilingual("explorer.error_title"), print_exception=False)


def friendly(function):
    """Turn unexpected exceptions into a short message; gr.Error passes through.

    The language is the ``lang`` keyword or the last positional argument.
    """
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except gr.Error:
            raise
        except Exception as error:
            log.exception("handler %s failed", function.__name__)
            lang = kwargs.get("lang") or (args[-1] if args and isinstance(args[-1], str) else None)
            lang = supported_language(lang)
            raise user_error(message("explorer.err_internal", lang, error=type(error).__name__)) from None
    return wrapper
