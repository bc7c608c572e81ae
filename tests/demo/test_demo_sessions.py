"""Two students on one server: one's choices, uploads and results never reach the other's page.

What a student depends on between requests lives in their page and its Gradio
session, none of it in the server process, so replicas behind a sticky proxy
behave like one server. (Uploaded models: ``test_demo_uploads.py``.)
"""
from __future__ import annotations

import numpy as np
from page_steps import choose, open_student_page, overlay_src, pixels, wait_for_new_overlay


def _settled_overlay(page, quiet_ms: int = 1500) -> str:
    """The overlay once the page's own follow-up events are done (no change for ``quiet_ms``)."""
    shown = wait_for_new_overlay(page, None)
    while True:
        page.wait_for_timeout(quiet_ms)
        if overlay_src(page) == shown:
            return shown
        shown = overlay_src(page)


def _controls(page) -> dict[str, str]:
    return {name: page.input_value(f"#{name} input") for name in ("target", "layer", "method", "colormap")}


def test_two_browser_sessions_never_see_each_others_choices_uploads_or_results(browser, server, image_files,
                                                                                   loaded):
    (context_a, a), (context_b, b) = open_student_page(browser, server), open_student_page(browser, server)
    try:
        shown_a, shown_b = _settled_overlay(a), _settled_overlay(b)
        start = _controls(b)
        first_b = pixels(b, shown_b)

        # A uploads an image and changes the class and the layer.
        a.set_input_files("#input-image input[type=file]", str(image_files["xray_16bit.png"]))
        shown_a = wait_for_new_overlay(a, shown_a)
        choose(a, "target", "normal")
        shown_a = wait_for_new_overlay(a, shown_a)
        choose(a, "layer", loaded.conv_layers[0])
        wait_for_new_overlay(a, shown_a)
        shown_a = _settled_overlay(a)
        upload_a = a.get_attribute("#input-image img", "src")
        chosen_a = _controls(a)
        assert chosen_a != start

        # B's page is as B left it: controls, input, overlay (same file, same pixels).
        assert _controls(b) == start
        assert overlay_src(b) == shown_b and np.array_equal(pixels(b, shown_b), first_b)
        assert b.get_attribute("#input-image img", "src") != upload_a

        # B uploads another image and picks another method: A keeps its own.
        b.set_input_files("#input-image input[type=file]", str(image_files["rgba.png"]))
        shown_b = wait_for_new_overlay(b, shown_b)
        choose(b, "method", "gradcam++")
        wait_for_new_overlay(b, shown_b)
        _settled_overlay(b)
        assert _controls(a) == chosen_a and overlay_src(a) == shown_a
        assert a.get_attribute("#input-image img", "src") == upload_a
    finally:
        context_a.close()
        context_b.close()

    # Neither page ever loaded a file made for the other (uploads, overlays, heatmaps, grids);
    # only the test images of the gallery (sample-*.png) are the same for everybody.
    def made_files(page):
        return {url for url in page.requests_seen if "/gradio_api/file=" in url and "/sample-" not in url}
    assert made_files(a) and made_files(b)
    assert made_files(a).isdisjoint(made_files(b))
