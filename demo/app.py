"""The Grad-CAM explorer's layout and wiring: one ``gr.Blocks``, read top to bottom.

Every event calls a plain function in :mod:`demo.handlers`; nothing here
computes a heatmap. Only ``explain`` is public API; the page's own events are
private.
"""
from __future__ import annotations

from pathlib import Path

import gradio as gr

import exercise_logic as el

from . import handlers as h
from . import lab_handlers as lh
from .texts import (
    LANGUAGES,
    dataset_name,
    lang_from_header,
    model_name,
    normalise_lang,
    t,
)

# 28x28 pictures are a dot at native size: enlarge them without smoothing.
CSS = """
#input-image img, #sample-gallery img, #grid img, .pixelated img {
  image-rendering: pixelated; image-rendering: crisp-edges;
}
#input-image img, .pixelated img { min-width: 224px; }
"""

API_DESCRIPTION = (
    "Grad-CAM の説明 / Explain an image: (image, target='predicted', layer=last conv layer, "
    "method='gradcam', opacity=0.4) -> (class probabilities, overlay PNG). "
    "Uses the model the server was started with.")


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


def _dataset_choices(store: h.ModelStore, lang: str) -> list[tuple[str, str]]:
    choices = []
    for key in store.dataset_keys():
        name, size = h.parse_dataset_key(key)
        choices.append((dataset_name(name, size, lang), key))
    return choices


def _model_choices(lang: str) -> list[tuple[str, str]]:
    return [(model_name(kind, lang), kind) for kind in el.MODEL_TYPES]


def build_app(store: h.ModelStore, outputs: h.OutputFiles, *, dataset: str | None = None,
              model_type: str = "simple", lang: str = "auto") -> gr.Blocks:
    """The app for a model store. ``lang='auto'`` follows the browser's language."""
    dataset = dataset or store.default_dataset()
    fixed_lang = lang if lang in ("ja", "en") else None
    start = fixed_lang or "ja"
    loaded = store.get(dataset, model_type) if store.is_loaded(dataset, model_type) else None

    with gr.Blocks(title="Grad-CAM エクスプローラー / explorer", analytics_enabled=False,
                   delete_cache=(120, 900)) as demo:
        # -- header: title, language, notice ---------------------------------------
        with gr.Row(equal_height=True):
            title = gr.Markdown(t("title", start))
            lang_radio = gr.Radio(LANGUAGES, value=start, label=t("language", start),
                                  elem_id="lang-switch", scale=0, min_width=220)
        notice = gr.Markdown(t("notice", start), elem_id="notice")

        # -- dataset and model --------------------------------------------------------
        with gr.Row():
            dataset_dd = gr.Dropdown(_dataset_choices(store, start), value=dataset,
                                     label=t("dataset", start), elem_id="dataset")
            model_dd = gr.Dropdown(_model_choices(start), value=model_type,
                                   label=t("model", start), elem_id="model")
        banner_md = gr.Markdown(h.banner(loaded, start) if loaded else t("preparing", start),
                                elem_id="banner")

        with gr.Tabs(elem_id="tabs"):
            with gr.Tab(t("tab_explorer", start), id="explorer",
                        elem_id="tab-explorer") as explorer_tab:
                # -- inputs ------------------------------------------------------------------
                gallery = gr.Gallery(h.gallery_items(loaded, start) if loaded else None,
                                     label=t("samples", start), columns=8, height="auto",
                                     allow_preview=False, interactive=False, elem_id="sample-gallery")
                sample_state = gr.State(None)
                with gr.Row():
                    input_image = UploadImage(type="filepath", image_mode=None,
                                              sources=["upload", "clipboard"], label=t("input", start),
                                              elem_id="input-image", height=280)
                    with gr.Column():
                        target_dd = gr.Dropdown(
                            h.target_choices(loaded, start) if loaded else [(t("predicted", start), h.PREDICTED)],
                            value=h.PREDICTED, label=t("target", start), allow_custom_value=True,
                            elem_id="target")
                        layer_dd = gr.Dropdown(loaded.conv_layers if loaded else [],
                                               value=loaded.default_layer if loaded else None,
                                               label=t("layer", start), allow_custom_value=True,
                                               elem_id="layer")
                        method_dd = gr.Dropdown(h.method_choices(), value=h.DEFAULT_METHOD,
                                                label=t("method", start), elem_id="method")
                        opacity = gr.Slider(0.0, 1.0, value=0.4, step=0.05, label=t("opacity", start),
                                            elem_id="opacity")
                        colormap_dd = gr.Dropdown(list(el.COLORMAPS), value="jet",
                                                  label=t("colormap", start), elem_id="colormap")

                # -- outputs -----------------------------------------------------------------
                label_out = gr.Label(num_top_classes=5, label=t("prediction", start), elem_id="prediction")
                with gr.Row():
                    image_kw = {"format": "png", "interactive": False, "height": 240,
                                "buttons": ["download", "fullscreen"], "elem_classes": ["pixelated"]}
                    original_img = gr.Image(label=t("original", start), elem_id="original", **image_kw)
                    heatmap_img = gr.Image(label=t("heatmap", start), elem_id="heatmap", **image_kw)
                    overlay_img = gr.Image(label=t("overlay", start), elem_id="overlay", **image_kw)
                lesion_md = gr.Markdown("", elem_id="lesion")
                explanation_md = gr.Markdown(
                    h.explanation_text(loaded, None, start), elem_id="explanation")
                grid = gr.Gallery(label=t("grid", start), columns=4, height="auto", format="png",
                                  allow_preview=True, interactive=False, elem_id="grid")
            # -- compare methods: the selected image under every method ----------------
            with gr.Tab(t("tab_compare", start), id="compare", elem_id="tab-compare") as compare_tab:
                compare_intro = gr.Markdown(t("compare_intro", start), elem_id="compare-intro")
                compare_btn = gr.Button(t("compare_button", start), variant="primary",
                                        elem_id="compare-button")
                compare_gallery = gr.Gallery(label=t("compare_gallery", start), columns=3,
                                             height="auto", format="png", allow_preview=True,
                                             interactive=False, elem_id="compare-gallery")
                compare_md = gr.Markdown("", elem_id="compare-table")
            # -- sanity check: cascading randomisation ---------------------------------
            with gr.Tab(t("tab_sanity", start), id="sanity", elem_id="tab-sanity") as sanity_tab:
                sanity_intro = gr.Markdown(t("sanity_intro", start), elem_id="sanity-intro")
                with gr.Row(equal_height=True):
                    sanity_methods = gr.CheckboxGroup(h.method_choices(), value=list(lh.SANITY_METHODS),
                                                      label=t("sanity_methods", start),
                                                      elem_id="sanity-methods", scale=3)
                    sanity_btn = gr.Button(t("sanity_button", start), variant="primary",
                                           elem_id="sanity-button", scale=1)
                sanity_gallery = gr.Gallery(label=t("sanity_gallery", start), columns=6,
                                            height="auto", format="png", allow_preview=True,
                                            interactive=False, elem_id="sanity-gallery")
                sanity_md = gr.Markdown("", elem_id="sanity-table")
            # -- shortcut lab -----------------------------------------------------------
            with gr.Tab(t("tab_lab", start), id="lab", elem_id="tab-lab") as lab_tab:
                lab_intro = gr.Markdown(t("lab_intro", start), elem_id="lab-intro")
                with gr.Row(equal_height=True):
                    lab_model = gr.Dropdown([(model_name(kind, start), kind) for kind in lh.LAB_MODELS],
                                            value="simple", label=t("lab_model", start),
                                            elem_id="lab-model")
                    lab_strength = gr.Slider(0.05, 1.0, value=0.95, step=0.05,
                                             label=t("lab_strength", start), elem_id="lab-strength")
                    lab_epochs = gr.Number(store.epochs, precision=0, minimum=1,
                                           maximum=lh.LAB_MAX_EPOCHS, label=t("lab_epochs", start),
                                           elem_id="lab-epochs")
                    lab_btn = gr.Button(t("lab_button", start), variant="primary", elem_id="lab-button")
                lab_summary = gr.Markdown("", elem_id="lab-summary")
                lab_table = gr.Markdown("", elem_id="lab-table")
                lab_img = gr.Image(label=t("lab_figure", start), format="png", interactive=False,
                                   buttons=["download", "fullscreen"], elem_id="lab-figure")
        api_button = gr.Button(t("explain_api", start), visible=False)

        # -- functions behind the events ----------------------------------------------
        view_inputs = [dataset_dd, model_dd, input_image, sample_state, target_dd, layer_dd,
                       method_dd, opacity, colormap_dd, lang_radio]
        view_outputs = [label_out, original_img, heatmap_img, overlay_img, lesion_md]
        grid_inputs = [dataset_dd, model_dd, target_dd, layer_dd, method_dd, opacity,
                       colormap_dd, lang_radio]

        def view(*values):
            return h.view(store, outputs, *values)

        def view_upload(dataset, model_type, image, *controls):
            return h.view(store, outputs, dataset, model_type, image, None, *controls)

        def show_grid(*values):
            return h.comparison_grid(store, outputs, *values)

        def clear_input():
            return (None, None, None, None, "", None)

        def choose_lang(request: gr.Request):
            return fixed_lang or lang_from_header(request.headers.get("accept-language"), start)

        def relabel(lang):
            lang = normalise_lang(lang)
            return (t("title", lang), t("notice", lang), gr.update(label=t("language", lang)),
                    gr.update(label=t("dataset", lang), choices=_dataset_choices(store, lang)),
                    gr.update(label=t("model", lang), choices=_model_choices(lang)),
                    gr.update(label=t("samples", lang)), gr.update(label=t("input", lang)),
                    gr.update(label=t("target", lang)), gr.update(label=t("layer", lang)),
                    gr.update(label=t("method", lang)), gr.update(label=t("opacity", lang)),
                    gr.update(label=t("colormap", lang)), gr.update(label=t("prediction", lang)),
                    gr.update(label=t("original", lang)), gr.update(label=t("heatmap", lang)),
                    gr.update(label=t("overlay", lang)), gr.update(label=t("grid", lang)))

        relabel_outputs = [title, notice, lang_radio, dataset_dd, model_dd, gallery, input_image,
                           target_dd, layer_dd, method_dd, opacity, colormap_dd, label_out,
                           original_img, heatmap_img, overlay_img, grid]

        labs = lh.ShortcutLabs(store)
        compare_inputs = [dataset_dd, model_dd, input_image, sample_state, target_dd, layer_dd,
                          opacity, colormap_dd, lang_radio]
        sanity_inputs = [dataset_dd, model_dd, input_image, sample_state, sanity_methods,
                         target_dd, layer_dd, colormap_dd, lang_radio]
        lab_inputs = [lab_model, lab_strength, lab_epochs, lang_radio]

        def relabel_labs(lang):
            lang = normalise_lang(lang)
            return (gr.update(label=t("tab_explorer", lang)), gr.update(label=t("tab_compare", lang)),
                    gr.update(label=t("tab_sanity", lang)), gr.update(label=t("tab_lab", lang)),
                    t("compare_intro", lang), gr.update(value=t("compare_button", lang)),
                    gr.update(label=t("compare_gallery", lang)), t("sanity_intro", lang),
                    gr.update(label=t("sanity_methods", lang)), gr.update(value=t("sanity_button", lang)),
                    gr.update(label=t("sanity_gallery", lang)), t("lab_intro", lang),
                    gr.update(label=t("lab_model", lang),
                              choices=[(model_name(kind, lang), kind) for kind in lh.LAB_MODELS]),
                    gr.update(label=t("lab_strength", lang)), gr.update(label=t("lab_epochs", lang)),
                    gr.update(value=t("lab_button", lang)), gr.update(label=t("lab_figure", lang)))

        relabel_lab_outputs = [explorer_tab, compare_tab, sanity_tab, lab_tab, compare_intro,
                               compare_btn, compare_gallery, sanity_intro, sanity_methods, sanity_btn,
                               sanity_gallery, lab_intro, lab_model, lab_strength, lab_epochs, lab_btn,
                               lab_img]

        def compare(*values):
            return lh.compare_methods(store, outputs, *values)

        def sanity(*values):
            items, columns, table = lh.sanity_check(store, outputs, *values)
            return gr.update(value=items, columns=columns), table

        def shown_in_language(compute):
            """Recompute a lab tab's result in the new language when one is shown; else leave it."""
            def again(shown, *values):
                return compute(*values) if shown else (gr.skip(), gr.skip())
            return again

        def run_lab(model_kind, strength, epochs, lang, progress=gr.Progress()):  # noqa: B008 - Gradio's idiom
            report = lambda value, text: progress(value, desc=text)
            return lh.shortcut_lab(labs, outputs, model_kind, strength, epochs, lang, progress=report)

        def lab_in_language(model_kind, strength, epochs, lang):
            """The lab's texts in the new language when its result is at hand; else unchanged."""
            try:
                result = labs.cached(lh.parse_lab_settings(model_kind, strength, epochs, lang))
            except gr.Error:
                result = None
            return lh.lab_texts(result, lang) if result is not None else (gr.skip(), gr.skip())

        def refresh_model(dataset, model_type, target, layer, lang, method=h.DEFAULT_METHOD):
            """Texts that depend on the model and the language; keeps valid choices."""
            lang = normalise_lang(lang)
            loaded = store.get(dataset, model_type, lang=lang)
            targets = h.target_choices(loaded, lang)
            target = target if target in [value for _, value in targets] else h.PREDICTED
            layer = layer if layer in loaded.conv_layers else loaded.default_layer
            return (h.banner(loaded, lang), gr.update(choices=targets, value=target),
                    gr.update(choices=loaded.conv_layers, value=layer),
                    h.gallery_items(loaded, lang), h.explanation_text(loaded, layer, lang, method))

        refresh_outputs = [banner_md, target_dd, layer_dd, gallery, explanation_md]

        def select_model(dataset, model_type, lang, method, progress=gr.Progress()):  # noqa: B008 - Gradio's idiom
            """Load or train (with a progress bar) and show the first sample."""
            lang = normalise_lang(lang)
            if not store.is_loaded(dataset, model_type):
                progress(0.0, desc=t("preparing", lang))
                report = h.training_reporter(lambda value, text: progress(value, desc=text), lang)
                store.get(dataset, model_type, progress=report, lang=lang)
            loaded = store.get(dataset, model_type, lang=lang)
            path, index = h.pick_sample(loaded, 0)
            return (*refresh_model(dataset, model_type, h.PREDICTED, None, lang, method), path, index)

        def pick(dataset, model_type, lang, evt: gr.SelectData):
            return h.pick_sample(store.get(dataset, model_type, lang=lang), evt.index)

        def update_explanation(dataset, model_type, layer, method, lang):
            loaded = store.get(dataset, model_type, lang=lang)
            return h.explanation_text(loaded, layer, lang, method)

        def explain_api(image, target=h.PREDICTED, layer=None, method="gradcam", opacity=0.4,
                        request: gr.Request = None):
            header = request.headers.get("accept-language") if request is not None else None
            lang = fixed_lang or lang_from_header(header, start)
            return h.explain_api(store, outputs, dataset, model_type, image, target, layer,
                                 method, opacity, lang)

        private = {"api_visibility": "private"}
        quiet = {**private, "show_progress": "hidden", "trigger_mode": "always_last"}

        # -- events -------------------------------------------------------------------
        # Page load: language from the browser, then the model (training shows progress).
        (demo.load(choose_lang, None, lang_radio, **private)
         .then(relabel, lang_radio, relabel_outputs, **quiet)
         .then(relabel_labs, lang_radio, relabel_lab_outputs, **quiet)
         .then(select_model, [dataset_dd, model_dd, lang_radio, method_dd],
               refresh_outputs + [input_image, sample_state], show_progress_on=[banner_md],
               **private)
         .then(view, view_inputs, view_outputs, **quiet)
         .then(show_grid, grid_inputs, grid, **quiet))

        (lang_radio.input(relabel, lang_radio, relabel_outputs, **quiet)
         .then(refresh_model, [dataset_dd, model_dd, target_dd, layer_dd, lang_radio, method_dd],
               refresh_outputs, **quiet)
         .then(view, view_inputs, view_outputs, **quiet)
         .then(show_grid, grid_inputs, grid, **quiet))

        # Lab tabs: one heavy job (randomisation, training) at a time, the explorer keeps its slots.
        heavy = {**private, "concurrency_id": "lab", "concurrency_limit": 1}
        (lang_radio.input(relabel_labs, lang_radio, relabel_lab_outputs, **quiet)
         .then(lab_in_language, lab_inputs, [lab_summary, lab_table], **quiet)
         .then(shown_in_language(compare), [compare_md] + compare_inputs, [compare_gallery, compare_md],
               **quiet)
         .then(shown_in_language(sanity), [sanity_md] + sanity_inputs, [sanity_gallery, sanity_md],
               **{**quiet, **heavy}))
        compare_btn.click(compare, compare_inputs, [compare_gallery, compare_md], **private)
        compare_tab.select(compare, compare_inputs, [compare_gallery, compare_md], **private)
        sanity_btn.click(sanity, sanity_inputs, [sanity_gallery, sanity_md], **heavy)
        lab_btn.click(run_lab, lab_inputs, [lab_summary, lab_table, lab_img], **heavy)

        for selector in (dataset_dd, model_dd):
            (selector.input(select_model, [dataset_dd, model_dd, lang_radio, method_dd],
                            refresh_outputs + [input_image, sample_state],
                            show_progress_on=[banner_md], **private)
             .success(view, view_inputs, view_outputs, **quiet)
             .success(show_grid, grid_inputs, grid, **quiet))

        (gallery.select(pick, [dataset_dd, model_dd, lang_radio], [input_image, sample_state],
                        **private)
         .then(view, view_inputs, view_outputs, **quiet))

        (input_image.upload(clear_input, None, view_outputs + [sample_state], **private)
         .then(view_upload, [dataset_dd, model_dd, input_image] + view_inputs[4:], view_outputs,
               **private))
        input_image.clear(clear_input, None, view_outputs + [sample_state], **private)

        for control in (target_dd, layer_dd, method_dd, opacity, colormap_dd):
            control.input(view, view_inputs, view_outputs, **quiet)
            control.input(show_grid, grid_inputs, grid, **quiet)
        for control in (layer_dd, method_dd):
            control.input(update_explanation, [dataset_dd, model_dd, layer_dd, method_dd, lang_radio],
                          explanation_md, **quiet)

        # The public API: documented on the "Use via API" page.
        api_button.click(explain_api, [input_image, target_dd, layer_dd, method_dd, opacity],
                         [label_out, overlay_img], api_name="explain",
                         api_description=API_DESCRIPTION)
    # Two requests at a time use both cores; room for a class of students in the queue.
    demo.queue(default_concurrency_limit=2, max_size=256)
    return demo


def launch_options(workdir: Path, *, host: str = "127.0.0.1", port: int | None = None,
                   share: bool = False, max_file_size: str = "10mb") -> dict:
    """``demo.launch`` keyword arguments: safe defaults for shared classroom PCs."""
    return {"server_name": host, "server_port": port, "share": share,
            "run_history": False,            # no runs stored in the browser (medical images)
            "max_file_size": max_file_size,  # refused before upload (HTTP 413)
            "show_error": False,             # handlers give their own messages
            "footer_links": ["api"], "ssr_mode": False, "enable_monitoring": False,
            "mcp_server": False, "pwa": False, "css": CSS,
            "allowed_paths": [str(Path(workdir) / "out"), str(Path(workdir) / "samples")]}
