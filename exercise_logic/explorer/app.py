"""The Grad-CAM explorer as one ``gr.Blocks``: the layout (:mod:`.layout`) wired by :mod:`.events`.

:func:`build_app` serves both the kit's models (``python -m demo``: dataset
and model menus, the shortcut lab, uploads of a student's own model) and one
student's model with their own images (:func:`exercise_logic.explore`).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from ..messages import DEFAULT_LANGUAGE, LANGUAGES, bilingual
from . import layout
from .events import Page, wire
from .lab_handlers import ShortcutLabs
from .output_files import OutputFiles

@dataclass(frozen=True)
class QueueSettings:
    """How the server queues the page's events (``gr.Blocks.queue``).

    ``concurrency``: explanations computed at once (two use both cores of a
    small server); ``max_size``: events waiting before new ones are refused;
    ``status_every``: seconds between queue-position updates to waiting
    browsers ("auto" updates every waiting browser after every finished
    event, which costs more than the event itself when a class waits).
    """
    concurrency: int = 2
    max_size: int = 256
    status_every: float | str = "auto"


def class_preset(class_size: int) -> QueueSettings:
    """Queue settings for a class of ``class_size`` students clicking at once (see demo/README.md)."""
    if class_size < 1:
        raise ValueError(f"class_size must be at least 1, got {class_size}")
    return QueueSettings(concurrency=2, max_size=max(256, 8 * class_size), status_every=1.0)


def build_app(models, outputs: OutputFiles, *, lang: str = "auto", labs: ShortcutLabs | None = None,
              lab_epochs: int = 5, queue: QueueSettings = QueueSettings()) -> gr.Blocks:
    """The app for a model source (:mod:`.sources`); ``lang='auto'`` follows the browser's language.

    The shortcut-lab tab is shown when ``labs`` is given; uploads of a
    student's own model when the source has menus (the kit's models).
    """
    fixed_lang = lang if lang in LANGUAGES else None
    start = fixed_lang or DEFAULT_LANGUAGE
    loaded = models.start_model()
    texts = layout.TextTable()

    with gr.Blocks(title=bilingual("explorer.page_title"), analytics_enabled=False,
                   delete_cache=(120, 900)) as demo:
        page = Page(header=layout.header(texts, start))
        page.menus = layout.model_menus(texts, models, loaded, start)
        if models.menus:
            page.upload = layout.upload_panel(texts, start)
        with gr.Tabs(elem_id="tabs"):
            page.explorer = layout.explorer_tab(texts, loaded, start)
            page.compare = layout.compare_tab(texts, start)
            page.sanity = layout.sanity_tab(texts, start)
            if labs is not None:
                page.lab = layout.lab_tab(texts, start, lab_epochs)
        wire(demo, page, texts, models, outputs, fixed_lang, start, labs)
    demo.queue(default_concurrency_limit=queue.concurrency, max_size=queue.max_size,
               status_update_rate=queue.status_every)
    return demo


def launch_options(workdir, pictures, *, host: str = "127.0.0.1", port: int | None = None, share: bool = False,
                   max_file_size: str = "10mb", root_path: str = "", auth=None) -> dict:
    """``demo.launch`` keyword arguments: safe defaults for shared classroom PCs.

    Gradio serves files from ``pictures`` (the :class:`.OutputFiles` folder) and
    ``workdir/samples`` only; it checks every answer's files against them in order.
    ``root_path``: the sub-path a reverse proxy serves the page at (``/gradcam``);
    ``auth``: Gradio's login check, e.g. :func:`.logins.authenticator`.
    """
    return {"server_name": host, "server_port": port, "share": share,
            "root_path": root_path, "auth": auth, "auth_message": bilingual("explorer.log_in") if auth else None,
            "run_history": False,            # no runs stored in the browser (medical images)
            "max_file_size": max_file_size,  # refused before upload (HTTP 413)
            "show_error": False,             # handlers give their own messages
            "footer_links": ["api"], "ssr_mode": False, "enable_monitoring": False,
            "mcp_server": False, "pwa": False, "css": layout.CSS, "quiet": True,
            "allowed_paths": [str(pictures), str(Path(workdir) / "samples")]}
