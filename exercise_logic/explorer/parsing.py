"""Checking what the page (or an API caller) sends: each value parsed, or a message saying what to send.

Every parser takes the user's language last and raises the page's error
message (:func:`.errors.user_error`) in it; nothing here draws or computes.
"""
from __future__ import annotations

import numbers

from ..explain import COUNTERFACTUAL_METHODS, METHODS, resolve_layer
from ..messages import message
from ..rendering import COLORMAPS
from .errors import user_error
from .model_store import DEFAULT_METHOD, PREDICTED, ExplorerModel

LAB_MODELS = ("simple", "deeper")
LAB_MAX_EPOCHS = 20


def target_choices(loaded: ExplorerModel, lang: str) -> list[tuple[str, str]]:
    """("predicted", then every class) as (shown name, value); values are English names."""
    shown = loaded.class_names(lang)
    values = loaded.class_names("en")
    return [(message("explorer.predicted", lang), PREDICTED)] + list(zip(shown, values))


def method_choices() -> list[str]:
    return list(METHODS)


def parse_target(loaded: ExplorerModel, value, lang: str = "ja") -> int | None:
    """None for "predicted"; else the class index, from an English/Japanese name or a number."""
    if value is None or str(value).strip() in ("", PREDICTED):
        return None
    text = str(value).strip()
    for names in (loaded.class_names("en"), loaded.class_names("ja")):
        if text in names:
            return names.index(text)
    lowered = [name.lower() for name in loaded.class_names("en")]
    if text.lower() in lowered:
        return lowered.index(text.lower())
    if text.lstrip("-").isdigit() and 0 <= int(text) < len(lowered):
        return int(text)
    choices = ", ".join([PREDICTED] + loaded.class_names("en"))
    raise user_error(message("explorer.err_target", lang, value=value, choices=choices))


def parse_layer(loaded: ExplorerModel, value, lang: str = "ja") -> str:
    """The path of a conv layer: its path or a unique name (the library's lookup); default the last."""
    if value is None or str(value).strip() == "":
        return loaded.default_layer
    try:
        path = resolve_layer(loaded.model, str(value).strip())
    except ValueError:
        path = None
    if path not in loaded.conv_layers:
        raise user_error(message("explorer.err_layer", lang, value=value, choices=", ".join(loaded.conv_layers)))
    return path


def parse_method(value, lang: str = "ja") -> str:
    value = value or DEFAULT_METHOD
    if value not in METHODS:
        raise user_error(message("explorer.err_method", lang, value=value, choices=", ".join(METHODS)))
    return value


def parse_counterfactual(value, method: str, lang: str = "ja") -> bool:
    """Whether to show the counterfactual map; only methods that have one may ask for it."""
    wanted = bool(value)
    if wanted and method not in COUNTERFACTUAL_METHODS:
        raise user_error(message("explorer.err_counterfactual", lang, method=method,
                           choices=", ".join(COUNTERFACTUAL_METHODS)))
    return wanted


def parse_opacity(value, lang: str = "ja") -> float:
    try:
        opacity = 0.4 if value is None else float(value)
    except (TypeError, ValueError):
        raise user_error(message("explorer.err_opacity", lang, value=value)) from None
    if not 0.0 <= opacity <= 1.0:
        raise user_error(message("explorer.err_opacity", lang, value=value))
    return opacity


def parse_colormap(value, lang: str = "ja") -> str:
    value = value or "jet"
    if value not in COLORMAPS:
        raise user_error(message("explorer.err_colormap", lang, value=value, choices=", ".join(COLORMAPS)))
    return value


def parse_methods(values, lang: str = "ja") -> list[str]:
    if isinstance(values, str):
        values = [values]
    chosen = [value for value in (values or []) if value]
    unknown = [value for value in chosen if value not in METHODS]
    if not chosen or unknown:
        raise user_error(message("explorer.err_methods", lang, value=", ".join(map(str, unknown)) or "—",
                           choices=", ".join(METHODS)))
    return list(dict.fromkeys(chosen))


def parse_lab_settings(model_type, strength, epochs, lang: str = "ja") -> tuple[str, float, int]:
    if model_type not in LAB_MODELS:
        raise user_error(message("explorer.err_lab_model", lang, value=model_type, choices=", ".join(LAB_MODELS)))
    try:
        strength = float(strength)
    except (TypeError, ValueError):
        raise user_error(message("explorer.err_strength", lang, value=strength)) from None
    if not 0.0 < strength <= 1.0:
        raise user_error(message("explorer.err_strength", lang, value=strength))
    if isinstance(epochs, bool) or not isinstance(epochs, numbers.Real) or epochs != int(epochs) \
            or not 1 <= int(epochs) <= LAB_MAX_EPOCHS:
        raise user_error(message("explorer.err_epochs", lang, value=epochs, max=LAB_MAX_EPOCHS))
    return model_type, round(strength, 2), int(epochs)
