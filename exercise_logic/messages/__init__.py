"""The kit's one message catalogue: every text a student or an instructor reads, in every language.

    message("explorer.err_layer", "en", value="conv9", choices="conv1, conv2")
    bilingual("self_check.yours")          # 'あなたのマップ / your map'

Each language is one module of this package (``ja.py``, ``en.py``) holding
``MESSAGES``: message id -> text, a :meth:`str.format` template. Ids are
dotted by who shows them (``explorer.``, ``gradcam_notebook.``,
``mistake.<key>.hint``...). The explorer, the self-check, the grader's pages
and the notebook builders all read their text here.

To add a language (say ``ko``): copy ``en.py`` to ``ko.py``, translate every
text and keep each ``{placeholder}``, then add ``"ko"`` to :data:`LANGUAGES`.
``tests/test_messages.py`` checks that every language has every id with the
same placeholders. To change a wording, edit it here: nothing else holds it.

Fallback rule: there is none per message. Every language has every id
(tested), so a lookup never silently shows another language; an unknown id or
language raises :class:`KeyError` / :class:`ValueError`. Only a language
*requested from outside* (a browser's header, a UI choice, a notebook's
argument) is matched with :func:`supported_language`, which falls back to
:data:`DEFAULT_LANGUAGE`, Japanese, the course's language.
"""
from __future__ import annotations

import importlib
import string
from collections.abc import Callable
from functools import cache

LANGUAGES = ("ja", "en")    # the order texts in several languages are shown in: Japanese first
DEFAULT_LANGUAGE = "ja"
SEPARATOR = " / "           # between the languages of a bilingual text


@cache
def catalogue(lang: str) -> dict[str, str]:
    """Every message of one language: ``{message id: template}``."""
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}: the catalogue has {', '.join(LANGUAGES)}")
    return importlib.import_module(f"{__name__}.{lang}").MESSAGES


def message(message_id: str, lang: str = DEFAULT_LANGUAGE, **fields) -> str:
    """The text of ``message_id`` in ``lang``, its ``{placeholders}`` filled from ``fields``.

    Raises
    ------
    ValueError
        ``lang`` is not one of :data:`LANGUAGES`.
    KeyError
        No message has that id, or a placeholder has no field.
    """
    texts = catalogue(lang)
    try:
        template = texts[message_id]
    except KeyError:
        raise KeyError(f"no message {message_id!r} in the catalogue (exercise_logic/messages/{lang}.py)") from None
    try:
        return template.format(**fields) if fields else template
    except KeyError as missing:
        raise KeyError(f"message {message_id!r} needs the field {missing}; got {sorted(fields)}") from None


def bilingual(message_id: str, *, separator: str = SEPARATOR, **fields) -> str:
    """One message in every language, Japanese first: ``'あなたのマップ / your map'``."""
    return in_every_language(lambda lang: message(message_id, lang, **fields), separator)


def in_every_language(text_of: Callable[[str], str], separator: str = SEPARATOR) -> str:
    """``text_of(lang)`` for every language, joined: for texts built from several messages."""
    return separator.join(text_of(lang) for lang in LANGUAGES)


def has_message(message_id: str) -> bool:
    return message_id in catalogue(DEFAULT_LANGUAGE)


def placeholders(template: str) -> set[str]:
    """The field names of a template: ``'{n} of {total:.0f}'`` -> ``{'n', 'total'}``."""
    return {field.split(".")[0].split("[")[0].split("!")[0]
            for _, field, _, _ in string.Formatter().parse(template) if field is not None}


def supported_language(lang, fallback: str = DEFAULT_LANGUAGE) -> str:
    """``lang`` if the catalogue has it, else ``fallback``: for languages asked for from outside."""
    return lang if lang in LANGUAGES else fallback


def language_from_header(accept_language: str | None, fallback: str = DEFAULT_LANGUAGE) -> str:
    """The first language of the catalogue in an Accept-Language header, else ``fallback``."""
    for part in (accept_language or "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return fallback


def language_choices() -> list[tuple[str, str]]:
    """``[(the language's own name, code)]``, e.g. for a language switch."""
    return [(message("language_name", lang), lang) for lang in LANGUAGES]
