"""The Grad-CAM explorer as one ``gr.Blocks``: the layout (:mod:`.layout`) wired by :mod:`.events`.

:func:`build_app` serves both the kit's models (``python -m demo``: dataset
and model menus, the shortcut lab, uploads of a student's own model) and one
student's model with their own images (:func:`exercise_logic.explore`).
"""
from __future__ import annotations

from pathlib import Path

import gradio as gr

from . import layout
from .events import Page, wire
from .lab_handlers import ShortcutLabs
from .output_files import OutputFiles


def build_app(models, outputs: OutputFiles, *, lang: str = "auto", labs: ShortcutLabs | None = None,
              lab_epochs: int = 5) -> gr.Blocks:
    """The app for a model source (:mod:`.sources`); ``lang='auto'`` follows the browser's language.

    The shortcut-lab tab is shown when ``labs`` is given; uploads of a
    student's own model when the source has menus (the kit's models).
    """
    fixed_lang = lang if lang in ("ja", "en") else None
    start = fixed_lang or "ja"
    loaded = models.start_model()
    texts = layout.TextTable()

    with gr.Blocks(title="Grad-CAM エクスプローラー / explorer", analytics_enabled=False,
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
    # Two requests at a time use both cores; room for a class of students in the queue.
    demo.queue(default_concurrency_limit=2, max_size=256)
    return demo


def launch_options(workdir, *, host: str = "127.0.0.1", port: int | None = None,
                   share: bool = False, max_file_size: str = "10mb") -> dict:
    """``demo.launch`` keyword arguments: safe defaults for shared classroom PCs."""
    return {"server_name": host, "server_port": port, "share": share,
            "run_history": False,            # no runs stored in the browser (medical images)
            "max_file_size": max_file_size,  # refused before upload (HTTP 413)
            "show_error": False,             # handlers give their own messages
            "footer_links": ["api"], "ssr_mode": False, "enable_monitoring": False,
            "mcp_server": False, "pwa": False, "css": layout.CSS, "quiet": True,
            "allowed_paths": [str(Path(workdir) / "out"), str(Path(workdir) / "samples")]}
