"""The page's events: which handler runs when a student does something, and what it updates.

Each ``wire_*`` function connects one part of the layout (:mod:`.layout`).
The functions here only pick the model (from the page's menus and the
session's upload, through the model source) and hand the values to the
plain handlers (:mod:`.handlers`, :mod:`.lab_handlers`); they return dicts
keyed by component, never positional tuples.
"""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import gradio as gr

from ..explain import COUNTERFACTUAL_METHODS
from ..messages import language_from_header, message, supported_language
from . import handlers as h
from . import lab_handlers as lab
from .compute_once import ComputeOnce
from .errors import user_error
from .layout import TextTable
from .model_store import DEFAULT_METHOD, PREDICTED, UPLOADED
from .parsing import parse_lab_settings, target_choices
from .uploads import describe

PRIVATE = {"api_visibility": "private"}
QUIET = {**PRIVATE, "show_progress": "hidden", "trigger_mode": "always_last"}
# Lab tabs: one heavy job (randomisation, training) at a time, the explorer keeps its slots.
HEAVY = {**PRIVATE, "concurrency_id": "lab", "concurrency_limit": 1}

API_RESULTS_KEPT = 256     # explain-API answers kept (a PNG of ~50 kB each)
API_DESCRIPTION = (
    "Grad-CAM の説明 / Explain an image: (image, target='predicted', layer=last conv layer, "
    "method='gradcam', opacity=0.4) -> (class probabilities, overlay PNG). "
    "Uses the model the server was started with.")


class Page(SimpleNamespace):
    """Every part of the page: header, menus, tabs (those present) and the upload panel."""


def wire(demo: gr.Blocks, page: Page, texts: TextTable, models, outputs, fixed_lang: str | None,
         start_lang: str, labs: lab.ShortcutLabs | None = None) -> None:
    """Connect every event of the page."""
    model_inputs = [page.menus.dataset, page.menus.model, page.menus.uploaded]

    def resolve(dataset, model_type, uploaded, lang, progress=None):
        return models.resolve(dataset, model_type, uploaded, supported_language(lang), progress)

    explorer = page.explorer
    view_inputs = model_inputs + [explorer.image, explorer.sample, explorer.target, explorer.layer,
                                  explorer.method, explorer.opacity, explorer.colormap,
                                  explorer.counterfactual, page.header.lang]
    view_outputs = [explorer.label, explorer.original, explorer.heatmap, explorer.overlay,
                    explorer.lesion, explorer.note, explorer.show_counterfactual]
    grid_inputs = model_inputs + [explorer.target, explorer.layer, explorer.method, explorer.opacity,
                                  explorer.colormap, explorer.counterfactual, page.header.lang]

    def show_view(dataset, model_type, uploaded, image, sample, *controls):
        shown = h.view(resolve(dataset, model_type, uploaded, controls[-1]), outputs, image, sample, *controls)
        return {explorer.label: shown.label, explorer.original: shown.original,
                explorer.heatmap: shown.heatmap, explorer.overlay: shown.overlay,
                explorer.lesion: shown.lesion,
                explorer.note: gr.update(value=shown.note, visible=bool(shown.note)),
                explorer.show_counterfactual: gr.update(visible=shown.offer_counterfactual)}

    def show_upload(dataset, model_type, uploaded, image, *controls):
        return show_view(dataset, model_type, uploaded, image, None, *controls)

    def show_grid(dataset, model_type, uploaded, *controls):
        return h.comparison_grid(resolve(dataset, model_type, uploaded, controls[-1]), outputs, *controls)

    def refresh_model(dataset, model_type, uploaded, target, layer, lang, method=DEFAULT_METHOD):
        """Texts that depend on the model and the language; keeps valid choices."""
        lang = supported_language(lang)
        loaded = resolve(dataset, model_type, uploaded, lang)
        targets = target_choices(loaded, lang)
        target = target if target in [value for _, value in targets] else loaded.default_target
        layer = layer if layer in loaded.conv_layers else loaded.default_layer
        return {page.menus.banner: h.banner(loaded, lang),
                explorer.target: gr.update(choices=targets, value=target),
                explorer.layer: gr.update(choices=loaded.conv_layers, value=layer),
                explorer.gallery: h.gallery_items(loaded, lang),
                explorer.explanation: h.explanation_text(loaded, layer, lang, method)}

    refresh_outputs = [page.menus.banner, explorer.target, explorer.layer, explorer.gallery,
                       explorer.explanation]
    select_outputs = refresh_outputs + [explorer.image, explorer.sample, explorer.counterfactual]

    def select_model(dataset, model_type, uploaded, lang, method, progress=gr.Progress()):  # noqa: B008
        """Load or train (with a progress bar), then show the first sample and the model's default target."""
        lang = supported_language(lang)
        if not models.is_ready(dataset, model_type):
            progress(0.0, desc=message("explorer.preparing", lang))
            report = h.training_reporter(lambda value, text: progress(value, desc=text), lang)
            resolve(dataset, model_type, uploaded, lang, progress=report)
        loaded = resolve(dataset, model_type, uploaded, lang)
        path, index = h.pick_sample(loaded, 0)
        return {**refresh_model(dataset, model_type, uploaded, loaded.default_target, None, lang, method),
                explorer.image: path, explorer.sample: index, explorer.counterfactual: False}

    def pick(dataset, model_type, uploaded, lang, evt: gr.SelectData):
        path, index = h.pick_sample(resolve(dataset, model_type, uploaded, lang), evt.index)
        return {explorer.image: path, explorer.sample: index}

    def clear_input():
        return {explorer.label: None, explorer.original: None, explorer.heatmap: None,
                explorer.overlay: None, explorer.lesion: "", explorer.sample: None,
                explorer.note: gr.update(value="", visible=False),
                explorer.show_counterfactual: gr.update(visible=False)}

    def update_explanation(dataset, model_type, uploaded, layer, method, lang):
        return h.explanation_text(resolve(dataset, model_type, uploaded, lang), layer, lang, method)

    def counterfactual_choice(method, wanted):
        """Only methods with a counterfactual map offer it."""
        allowed = method in COUNTERFACTUAL_METHODS
        return gr.update(value=bool(wanted) and allowed, interactive=allowed)

    def choose_lang(request: gr.Request):
        return fixed_lang or language_from_header(request.headers.get("accept-language"), start_lang)

    def relabel(lang):
        return texts.updates(supported_language(lang))

    # -- page load: language from the browser, then the model (training shows progress) ---------
    select_inputs = model_inputs + [page.header.lang, explorer.method]
    (demo.load(choose_lang, None, page.header.lang, **PRIVATE)
     .then(relabel, page.header.lang, texts.components, **QUIET)
     .then(select_model, select_inputs, select_outputs, show_progress_on=[page.menus.banner], **PRIVATE)
     .then(show_view, view_inputs, view_outputs, **QUIET)
     .then(show_grid, grid_inputs, explorer.grid, **QUIET))

    (page.header.lang.input(relabel, page.header.lang, texts.components, **QUIET)
     .then(refresh_model, model_inputs + [explorer.target, explorer.layer, page.header.lang, explorer.method],
           refresh_outputs, **QUIET)
     .then(show_view, view_inputs, view_outputs, **QUIET)
     .then(show_grid, grid_inputs, explorer.grid, **QUIET))

    if models.menus:
        for menu in (page.menus.dataset, page.menus.model):
            (menu.input(select_model, select_inputs, select_outputs, show_progress_on=[page.menus.banner],
                        **PRIVATE)
             .success(show_view, view_inputs, view_outputs, **QUIET)
             .success(show_grid, grid_inputs, explorer.grid, **QUIET))

    # -- the explorer tab --------------------------------------------------------------------------
    (explorer.gallery.select(pick, model_inputs + [page.header.lang], [explorer.image, explorer.sample],
                             **PRIVATE)
     .then(show_view, view_inputs, view_outputs, **QUIET))
    (explorer.image.upload(clear_input, None, view_outputs + [explorer.sample], **PRIVATE)
     .then(show_upload, model_inputs + [explorer.image] + view_inputs[5:], view_outputs, **PRIVATE))
    explorer.image.clear(clear_input, None, view_outputs + [explorer.sample], **PRIVATE)

    for control in (explorer.target, explorer.layer, explorer.opacity, explorer.colormap,
                    explorer.counterfactual):
        control.input(show_view, view_inputs, view_outputs, **QUIET)
        control.input(show_grid, grid_inputs, explorer.grid, **QUIET)
    (explorer.method.input(counterfactual_choice, [explorer.method, explorer.counterfactual],
                           explorer.counterfactual, **QUIET)
     .then(show_view, view_inputs, view_outputs, **QUIET)
     .then(show_grid, grid_inputs, explorer.grid, **QUIET))
    for control in (explorer.layer, explorer.method):
        control.input(update_explanation, model_inputs + [explorer.layer, explorer.method, page.header.lang],
                      explorer.explanation, **QUIET)
    # One click from a blank map to its counterfactual.
    (explorer.show_counterfactual.click(lambda: True, None, explorer.counterfactual, **PRIVATE)
     .then(show_view, view_inputs, view_outputs, **QUIET)
     .then(show_grid, grid_inputs, explorer.grid, **QUIET))

    wire_compare(page, resolve, outputs, model_inputs)
    wire_sanity(page, resolve, outputs, model_inputs)
    if labs is not None:
        wire_lab(page, labs, outputs)
    if models.menus:
        wire_upload(demo, page, models, select_model, select_inputs, select_outputs, show_view, view_inputs,
                    view_outputs, show_grid, grid_inputs)
    wire_api(page, models, outputs, fixed_lang, start_lang)


def shown_in_language(compute, outputs):
    """Recompute a lab tab's result in the new language when one is shown; else leave it."""
    def again(shown, *values):
        return compute(*values) if shown else {output: gr.skip() for output in outputs}
    return again


def wire_compare(page: Page, resolve, outputs, model_inputs) -> None:
    explorer, compare = page.explorer, page.compare
    inputs = model_inputs + [explorer.image, explorer.sample, explorer.target, explorer.layer,
                             explorer.opacity, explorer.colormap, page.header.lang]
    shown = [compare.gallery, compare.table]

    def run(dataset, model_type, uploaded, *values):
        items, table = lab.compare_methods(resolve(dataset, model_type, uploaded, values[-1]), outputs, *values)
        return {compare.gallery: items, compare.table: table}

    compare.button.click(run, inputs, shown, **PRIVATE)
    compare.tab.select(run, inputs, shown, **PRIVATE)
    page.header.lang.input(shown_in_language(run, shown), [compare.table] + inputs, shown, **QUIET)


def wire_sanity(page: Page, resolve, outputs, model_inputs) -> None:
    explorer, sanity = page.explorer, page.sanity
    inputs = model_inputs + [explorer.image, explorer.sample, sanity.methods, explorer.target,
                             explorer.layer, explorer.colormap, page.header.lang]
    shown = [sanity.gallery, sanity.table]

    def run(dataset, model_type, uploaded, *values):
        items, columns, table = lab.sanity_check(resolve(dataset, model_type, uploaded, values[-1]), outputs,
                                                 *values)
        return {sanity.gallery: gr.update(value=items, columns=columns), sanity.table: table}

    sanity.button.click(run, inputs, shown, **HEAVY)
    page.header.lang.input(shown_in_language(run, shown), [sanity.table] + inputs, shown, **{**QUIET, **HEAVY})


def wire_lab(page: Page, labs: lab.ShortcutLabs, outputs) -> None:
    ui = page.lab
    inputs = [ui.model, ui.strength, ui.epochs, page.header.lang]

    def run(model_kind, strength, epochs, lang, progress=gr.Progress()):  # noqa: B008 - Gradio's idiom
        summary, table, figure = lab.shortcut_lab(labs, outputs, model_kind, strength, epochs, lang,
                                                  progress=lambda value, text: progress(value, desc=text))
        return {ui.summary: summary, ui.table: table, ui.figure: figure}

    def in_language(model_kind, strength, epochs, lang):
        """The lab's texts in the new language when its result is at hand; else unchanged."""
        try:
            result = labs.cached(parse_lab_settings(model_kind, strength, epochs, lang))
        except gr.Error:
            result = None
        if result is None:
            return {ui.summary: gr.skip(), ui.table: gr.skip()}
        summary, table = lab.lab_texts(result, lang)
        return {ui.summary: summary, ui.table: table}

    ui.button.click(run, inputs, [ui.summary, ui.table, ui.figure], **HEAVY)
    page.header.lang.input(in_language, inputs, [ui.summary, ui.table], **QUIET)


def wire_upload(demo, page: Page, models, select_model, select_inputs, select_outputs, show_view, view_inputs,
                view_outputs, show_grid, grid_inputs) -> None:
    """A student's own model: loaded into this session's state, released when the tab closes."""
    ui, menus = page.upload, page.menus

    def accept(path, dataset, lang, request: gr.Request):
        lang = supported_language(lang)
        if not path:
            raise user_error(message("explorer.err_no_upload", lang))
        uploaded = models.uploads.accept(request.session_hash, path, Path(path).name, models.store, dataset, lang)
        loaded = uploaded.on(models.store, dataset, lang)
        return {menus.uploaded: uploaded, ui.status: describe(uploaded.model, uploaded.name, lang),
                menus.model: UPLOADED, menus.dataset: loaded.images.key}

    (ui.file.upload(accept, [ui.file, menus.dataset, page.header.lang],
                    [menus.uploaded, ui.status, menus.model, menus.dataset], **PRIVATE)
     .success(select_model, select_inputs, select_outputs, **PRIVATE)
     .success(show_view, view_inputs, view_outputs, **QUIET)
     .success(show_grid, grid_inputs, page.explorer.grid, **QUIET))

    def release(request: gr.Request):
        models.uploads.release(request.session_hash)

    demo.unload(release)


def wire_api(page: Page, models, outputs, fixed_lang, start_lang) -> None:
    """The public API: ``explain``, documented on the "Use via API" page.

    Its parameters are hidden components of their own, so that their documented
    defaults are the API's (the predicted class), not the page's current choices.
    """
    start = models.start_model()
    results = ComputeOnce(keep=API_RESULTS_KEPT)
    defaults = [gr.Textbox(PREDICTED, visible=False), gr.Textbox(start.default_layer if start else None,
                                                                 visible=False),
                gr.Textbox(DEFAULT_METHOD, visible=False), gr.Number(0.4, visible=False)]

    def explain_api(image, target=PREDICTED, layer=None, method=DEFAULT_METHOD, opacity=0.4,
                    request: gr.Request = None):
        header = request.headers.get("accept-language") if request is not None else None
        lang = fixed_lang or language_from_header(header, start_lang)
        return h.explain_api(models.api_model(lang), outputs, image, target, layer, method, opacity, lang,
                             results)

    gr.Button(visible=False).click(explain_api, [page.explorer.image] + defaults,
                                   [page.explorer.label, page.explorer.overlay], api_name="explain",
                                   api_description=API_DESCRIPTION)
