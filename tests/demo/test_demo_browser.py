"""The page in Debian's Chromium, driven by Playwright: what a student clicks.

The tests share one page (see ``conftest.page``) and run in file order.
"""
from __future__ import annotations

import numpy as np
from page_steps import choose, overlay_src, pixels, wait_for_changed_pixels, wait_for_new_overlay


def test_select_a_sample_and_change_every_control(page, loaded):
    first = wait_for_new_overlay(page, None)          # the page opens on the first sample
    assert "ROC-AUC" in page.inner_text("#banner")
    # The sample (after the first) with the most evidence for both classes: a barely trained model
    # can leave an image with none (every hidden unit dead for it), where no control changes the map.
    import exercise_logic as el
    samples = loaded.images.images[loaded.images.sample_indices]
    engine = el.explain.cam_engine(loaded.model, None, "gradcam")
    normal, abnormal = engine.evidence(samples, 0), engine.evidence(samples, 1)
    both = np.minimum(normal, abnormal) + 1e-3 * np.maximum(normal, abnormal)
    page.locator("#sample-gallery .thumbnail-item").nth(int(np.argmax(both[1:])) + 1).click()
    shown = wait_for_new_overlay(page, first)
    assert page.inner_text("#prediction").count("%") >= 2

    # Target: the page starts on "abnormal" (the lecture's default); "normal" gives another map.
    assert page.input_value("#target input") == "abnormal"
    # Each choice must change the drawn map (an overlay of an earlier event may land first).
    pictures = [pixels(page, shown)]
    for target in ("normal", "abnormal"):
        choose(page, "target", target)
        shown = wait_for_changed_pixels(page, shown, pictures[-1])
        pictures.append(pixels(page, shown))
    # Stay on a class with a visible (non-flat) map, so the layer change shows.
    live = "abnormal" if len(np.unique(pictures[2].reshape(-1, 3), axis=0)) > len(
        np.unique(pictures[1].reshape(-1, 3), axis=0)) else "normal"
    if live == "normal":
        choose(page, "target", "normal")
        shown = wait_for_new_overlay(page, shown)

    before = pixels(page, shown)
    choose(page, "layer", loaded.conv_layers[0])   # its name depends on the models built before
    shown = wait_for_changed_pixels(page, shown, before)
    assert "×" in page.inner_text("#explanation")

    before = pixels(page, shown)
    page.fill("#opacity input[type=number]", "0.9")
    page.press("#opacity input[type=number]", "Enter")
    shown = wait_for_changed_pixels(page, shown, before)
    assert page.locator("#grid .thumbnail-item").count() == 8


def test_upload_a_file_and_a_bad_file(page, image_files):
    shown = overlay_src(page)
    page.set_input_files("#input-image input[type=file]", str(image_files["xray_16bit.png"]))
    shown = wait_for_new_overlay(page, shown)
    page.locator("#lesion").filter(has_text="synthetic test images only").wait_for()

    page.set_input_files("#input-image input[type=file]", str(image_files["not_an_image.png"]))
    toast = page.locator("[data-testid=toast-body]").filter(has_text="not a readable image")
    toast.first.wait_for()
    assert "Traceback" not in toast.first.inner_text()


def test_switch_to_japanese(page, image_files):
    page.locator("#lang-switch label").filter(has_text="日本語").click()
    page.get_by_text("説明するクラス").first.wait_for()
    page.locator("#notice").filter(has_text="診療・診断には使わないでください").wait_for()
    page.locator("#explanation").filter(has_text="ヒートマップの読み方").wait_for()
    page.locator("#banner").filter(has_text="使用中").wait_for()
    page.set_input_files("#input-image input[type=file]", str(image_files["tiny_1x1.png"]))
    page.locator("[data-testid=toast-body]").filter(has_text="画像が小さすぎます").first.wait_for()


def test_the_page_makes_no_request_beyond_this_machine(page, server):
    assert page.requests_seen
    outside = [url for url in page.requests_seen
               if not url.startswith((server.rstrip("/"), "data:", "blob:"))]
    assert outside == []


def test_a_blank_map_explains_itself_and_one_click_shows_the_counterfactual(browser, server, loaded):
    """A sample whose "normal" map is blank for the session's model: the page says why (in English
    here) and one click shows the counterfactual map; the grid names the class of every tile."""
    import exercise_logic as el
    samples = loaded.images.images[loaded.images.sample_indices]
    blank = el.explain.blank_maps(loaded.model, samples, target=0)
    assert blank.any(), "the 1-epoch lecture CNN has no blank 'normal' map among the samples"
    position = int(np.flatnonzero(blank)[0])
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 2000})
    context.set_default_timeout(30_000)
    try:
        page = context.new_page()
        page.goto(server)
        shown = wait_for_new_overlay(page, None)
        assert page.input_value("#target input") == "abnormal"        # the lecture's default
        page.locator("#grid").filter(has_text="explains: abnormal").wait_for()
        page.locator("#sample-gallery .thumbnail-item").nth(position).click()
        shown = wait_for_new_overlay(page, shown)
        choose(page, "target", "normal")
        page.locator("#blank-note").filter(has_text="no positive evidence for “normal”").wait_for()
        heatmap = pixels(page, page.get_attribute("#heatmap img", "src"))
        assert heatmap.reshape(-1, 3).std(axis=0).max() == 0          # one flat colour
        page.locator("#grid").filter(has_text="explains: normal").wait_for()

        shown = overlay_src(page)
        before = pixels(page, shown)
        page.click("#counterfactual-button")                          # one click
        wait_for_changed_pixels(page, shown, before)
        page.locator("#blank-note").filter(has_text="counterfactual map").wait_for()
        assert page.is_checked("#counterfactual input")
        heatmap = pixels(page, page.get_attribute("#heatmap img", "src"))
        assert heatmap.reshape(-1, 3).std(axis=0).max() > 10
        assert page.locator("#counterfactual-button").is_hidden()
        page.locator("#grid").filter(has_text="explains: normal (counterfactual)").wait_for()
    finally:
        context.close()
