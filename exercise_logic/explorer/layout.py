"""The page's layout: one function per part, components read top to bottom.

Every component that shows text is registered in a :class:`TextTable` with
its text keys, and the language switch relabels the whole page from that
table. Nothing here computes; the events (:mod:`.events`) wire these
components to the handlers.
"""
from __future__ import annotations

from types import SimpleNamespace

import gradio as gr

from ..messages import language_choices, message
from ..rendering import COLORMAPS
from .handlers import banner, explanation_text, gallery_items
from .lab_handlers import SANITY_METHODS
from .model_store import DEFAULT_METHOD, PREDICTED, ExplorerModel, model_name
from .parsing import LAB_MAX_EPOCHS, LAB_MODELS, method_choices, target_choices

# 28x28 pictures are a dot at native size: enlarge them without smoothing.
CSS = """
#input-image img, #sample-gallery img, #grid img, .pixelated img {
  image-rendering: pixelated; image-rendering: crisp-edges;
}
#input-image img, .pixelated img { min-width: 224px; }
"""


class TextTable:
    """Which text each component shows, by attribute: a text key or a function of the language.

    A text key is the explorer's message id without its ``explorer.`` prefix.

    ``add(component, label="dataset", choices=some_function)`` registers it;
    :meth:`updates` gives every registered component's update for a language.
    """

    def __init__(self):
        self._entries: dict = {}

    def add(self, component, **attributes):
        self._entries.setdefault(component, {}).update(attributes)
        return component

    @property
    def components(self) -> list:
        return list(self._entries)

    def updates(self, lang: str) -> dict:
        return {component: gr.update(**{name: source(lang) if callable(source) else message(f"explorer.{source}", lang)
                                        for name, source in attributes.items()})
                for component, attributes in self._entries.items()}


def _without_stub_files(define):
    """Define a component class without Gradio writing a ``.pyi`` stub next to this file."""
    from gradio import component_meta
    original = component_meta.create_or_modify_pyi
    component_meta.create_or_modify_pyi = lambda *args, **kwargs: None
    try:
        return define()
    finally:
        component_meta.create_or_modify_pyi = original


def _define_upload_image():
    class UploadImage(gr.Image):
        """``gr.Image`` that hands the uploaded file's path to the handler unopened.

        ``gr.Image`` would open the file with Pillow itself, so a non-image or an
        oversized image fails inside Gradio with a generic English message; the
        handler opens it instead and answers in the user's language. Gradio only
        accepts paths of files uploaded to its own cache here. (A subclass, not a
        patched instance: Gradio rebuilds a session's components from their class.)
        """

        is_template = True  # rendered by the frontend's ordinary Image component

        def preprocess(self, payload):
            if payload is None:
                return None
            if payload.url and payload.url.startswith("data:"):
                return super().preprocess(payload)
            return payload.path

    return UploadImage


UploadImage = _without_stub_files(_define_upload_image)


def header(texts: TextTable, lang: str) -> SimpleNamespace:
    with gr.Row(equal_height=True):
        title = texts.add(gr.Markdown(message("explorer.title", lang)), value="title")
        lang_radio = texts.add(gr.Radio(language_choices(), value=lang, label=message("explorer.language", lang),
                                        elem_id="lang-switch", scale=0, min_width=220), label="language")
    notice = texts.add(gr.Markdown(message("explorer.notice", lang), elem_id="notice"), value="notice")
    return SimpleNamespace(title=title, lang=lang_radio, notice=notice)


def model_menus(texts: TextTable, models, loaded: ExplorerModel | None, lang: str) -> SimpleNamespace:
    """The dataset and model menus (the kit's models), or fixed values (the notebook's model)."""
    if models.menus:
        with gr.Row():
            dataset = texts.add(gr.Dropdown(models.dataset_choices(lang), value=models.dataset,
                                            label=message("explorer.dataset", lang), elem_id="dataset"),
                                label="dataset", choices=models.dataset_choices)
            model = texts.add(gr.Dropdown(models.model_choices(lang), value=models.model_type,
                                          label=message("explorer.model", lang), elem_id="model"),
                              label="model", choices=models.model_choices)
    else:
        dataset, model = gr.State(models.dataset), gr.State(models.model_type)
    banner_md = gr.Markdown(banner(loaded, lang) if loaded else message("explorer.preparing", lang), elem_id="banner")
    uploaded = gr.State(None, delete_callback=lambda value: value.release() if value is not None else None)
    return SimpleNamespace(dataset=dataset, model=model, banner=banner_md, uploaded=uploaded)


def explorer_tab(texts: TextTable, loaded: ExplorerModel | None, lang: str) -> SimpleNamespace:
    """Inputs (gallery, image, controls), then the prediction, the three pictures and the notes."""
    ui = SimpleNamespace()
    with gr.Tab(message("explorer.tab_explorer", lang), id="explorer", elem_id="tab-explorer") as ui.tab:
        texts.add(ui.tab, label="tab_explorer")
        ui.gallery = texts.add(gr.Gallery(gallery_items(loaded, lang) if loaded else None,
                                          label=message("explorer.samples", lang), columns=8, height="auto",
                                          allow_preview=False, interactive=False, elem_id="sample-gallery"),
                               label="samples")
        ui.sample = gr.State(None)
        with gr.Row():
            ui.image = texts.add(UploadImage(type="filepath", image_mode=None, sources=["upload", "clipboard"],
                                             label=message("explorer.input", lang), elem_id="input-image", height=280),
                                 label="input")
            with gr.Column():
                ui.target = texts.add(gr.Dropdown(
                    target_choices(loaded, lang) if loaded else [(message("explorer.predicted", lang), PREDICTED)],
                    value=loaded.default_target if loaded else PREDICTED, label=message("explorer.target", lang),
                    allow_custom_value=True, elem_id="target"), label="target")
                ui.layer = texts.add(gr.Dropdown(loaded.conv_layers if loaded else [],
                                                 value=loaded.default_layer if loaded else None,
                                                 label=message("explorer.layer", lang), allow_custom_value=True,
                                                 elem_id="layer"), label="layer")
                ui.method = texts.add(gr.Dropdown(method_choices(), value=DEFAULT_METHOD, label=message("explorer.method", lang),
                                                  elem_id="method"), label="method")
                ui.counterfactual = texts.add(gr.Checkbox(False, label=message("explorer.counterfactual", lang),
                                                          elem_id="counterfactual"), label="counterfactual")
                ui.opacity = texts.add(gr.Slider(0.0, 1.0, value=0.4, step=0.05, label=message("explorer.opacity", lang),
                                                 elem_id="opacity"), label="opacity")
                ui.colormap = texts.add(gr.Dropdown(list(COLORMAPS), value="jet", label=message("explorer.colormap", lang),
                                                    elem_id="colormap"), label="colormap")

        ui.label = texts.add(gr.Label(num_top_classes=5, label=message("explorer.prediction", lang), elem_id="prediction"),
                             label="prediction")
        with gr.Row():
            picture = {"format": "png", "interactive": False, "height": 240,
                       "buttons": ["download", "fullscreen"], "elem_classes": ["pixelated"]}
            ui.original = texts.add(gr.Image(label=message("explorer.original", lang), elem_id="original", **picture),
                                    label="original")
            ui.heatmap = texts.add(gr.Image(label=message("explorer.heatmap", lang), elem_id="heatmap", **picture),
                                   label="heatmap")
            ui.overlay = texts.add(gr.Image(label=message("explorer.overlay", lang), elem_id="overlay", **picture),
                                   label="overlay")
        ui.note = gr.Markdown("", visible=False, elem_id="blank-note")
        ui.show_counterfactual = texts.add(gr.Button(message("explorer.counterfactual_button", lang), visible=False,
                                                     elem_id="counterfactual-button"),
                                           value="counterfactual_button")
        ui.lesion = gr.Markdown("", elem_id="lesion")
        ui.explanation = gr.Markdown(explanation_text(loaded, None, lang), elem_id="explanation")
        ui.grid = texts.add(gr.Gallery(label=message("explorer.grid", lang), columns=4, height="auto", format="png",
                                       allow_preview=True, interactive=False, elem_id="grid"), label="grid")
    return ui


def compare_tab(texts: TextTable, lang: str) -> SimpleNamespace:
    """The selected image under every method, with faithfulness scores."""
    ui = SimpleNamespace()
    with gr.Tab(message("explorer.tab_compare", lang), id="compare", elem_id="tab-compare") as ui.tab:
        texts.add(ui.tab, label="tab_compare")
        texts.add(gr.Markdown(message("explorer.compare_intro", lang), elem_id="compare-intro"), value="compare_intro")
        ui.button = texts.add(gr.Button(message("explorer.compare_button", lang), variant="primary", elem_id="compare-button"),
                              value="compare_button")
        ui.gallery = texts.add(gr.Gallery(label=message("explorer.compare_gallery", lang), columns=3, height="auto",
                                          format="png", allow_preview=True, interactive=False,
                                          elem_id="compare-gallery"), label="compare_gallery")
        ui.table = gr.Markdown("", elem_id="compare-table")
    return ui


def sanity_tab(texts: TextTable, lang: str) -> SimpleNamespace:
    """Cascading randomisation of the selected image."""
    ui = SimpleNamespace()
    with gr.Tab(message("explorer.tab_sanity", lang), id="sanity", elem_id="tab-sanity") as ui.tab:
        texts.add(ui.tab, label="tab_sanity")
        texts.add(gr.Markdown(message("explorer.sanity_intro", lang), elem_id="sanity-intro"), value="sanity_intro")
        with gr.Row(equal_height=True):
            ui.methods = texts.add(gr.CheckboxGroup(method_choices(), value=list(SANITY_METHODS),
                                                    label=message("explorer.sanity_methods", lang), elem_id="sanity-methods",
                                                    scale=3), label="sanity_methods")
            ui.button = texts.add(gr.Button(message("explorer.sanity_button", lang), variant="primary", elem_id="sanity-button",
                                            scale=1), value="sanity_button")
        ui.gallery = texts.add(gr.Gallery(label=message("explorer.sanity_gallery", lang), columns=6, height="auto",
                                          format="png", allow_preview=True, interactive=False,
                                          elem_id="sanity-gallery"), label="sanity_gallery")
        ui.table = gr.Markdown("", elem_id="sanity-table")
    return ui


def lab_tab(texts: TextTable, lang: str, epochs: int) -> SimpleNamespace:
    """The shortcut lab: two models trained with and without a marker shortcut."""
    def lab_models(lang):
        return [(model_name(kind, lang), kind) for kind in LAB_MODELS]

    ui = SimpleNamespace()
    with gr.Tab(message("explorer.tab_lab", lang), id="lab", elem_id="tab-lab") as ui.tab:
        texts.add(ui.tab, label="tab_lab")
        texts.add(gr.Markdown(message("explorer.lab_intro", lang), elem_id="lab-intro"), value="lab_intro")
        with gr.Row(equal_height=True):
            ui.model = texts.add(gr.Dropdown(lab_models(lang), value="simple", label=message("explorer.lab_model", lang),
                                             elem_id="lab-model"), label="lab_model", choices=lab_models)
            ui.strength = texts.add(gr.Slider(0.05, 1.0, value=0.95, step=0.05, label=message("explorer.lab_strength", lang),
                                              elem_id="lab-strength"), label="lab_strength")
            ui.epochs = texts.add(gr.Number(epochs, precision=0, minimum=1, maximum=LAB_MAX_EPOCHS,
                                            label=message("explorer.lab_epochs", lang), elem_id="lab-epochs"), label="lab_epochs")
            ui.button = texts.add(gr.Button(message("explorer.lab_button", lang), variant="primary", elem_id="lab-button"),
                                  value="lab_button")
        ui.summary = gr.Markdown("", elem_id="lab-summary")
        ui.table = gr.Markdown("", elem_id="lab-table")
        ui.figure = texts.add(gr.Image(label=message("explorer.lab_figure", lang), format="png", interactive=False,
                                       buttons=["download", "fullscreen"], elem_id="lab-figure"),
                              label="lab_figure")
    return ui


def upload_panel(texts: TextTable, lang: str) -> SimpleNamespace:
    """A student's own saved model, for this browser session only."""
    ui = SimpleNamespace()
    with gr.Accordion(message("explorer.upload_model", lang), open=False, elem_id="upload-panel") as ui.panel:
        texts.add(ui.panel, label="upload_model")
        texts.add(gr.Markdown(message("explorer.upload_intro", lang), elem_id="upload-intro"), value="upload_intro")
        ui.file = texts.add(gr.UploadButton(message("explorer.upload_button", lang), file_types=[".keras"], type="filepath",
                                            file_count="single", elem_id="upload-model"), label="upload_button")
        ui.status = gr.Markdown("", elem_id="upload-status")
    return ui

