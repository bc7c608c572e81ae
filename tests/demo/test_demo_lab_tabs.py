"""The lab tabs' handlers (compare methods, sanity check, shortcut lab) as plain functions."""
from __future__ import annotations

import gradio as gr
import numpy as np
import pytest
from PIL import Image

import exercise_logic as el
from exercise_logic.explorer import lab_handlers as lab


def _pixels(path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def _has_kana(text: str) -> bool:
    return any("\u3040" <= char <= "\u30ff" for char in text)


@pytest.fixture(scope="module")
def abnormal_index(loaded):
    index = int(loaded.images.sample_indices[0])  # the gallery starts with an abnormal image
    assert loaded.images.masks[index].any()
    return index


def test_compare_methods_shows_every_method_with_its_scores(loaded, outputs, abnormal_index):
    items, table = lab.compare_methods(loaded, outputs, None, abnormal_index,
                                       "abnormal", None, 0.4, "jet", "en")
    assert len(items) == len(el.METHODS)
    assert [caption.split(" — ")[0] for _, caption in items] == list(el.METHODS)
    assert {_pixels(path).shape for path, _ in items} == {(224, 224, 3)}
    for _, caption in items:
        assert "del 0." in caption or "del 1." in caption, caption
        assert caption.endswith(("/ hit", "/ miss")), caption
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    assert len(rows) == len(el.METHODS)
    for row in rows:
        deletion, insertion = (float(cell) for cell in row.split("|")[2:4])
        assert 0.0 <= deletion <= 1.0 and 0.0 <= insertion <= 1.0
    assert "Pointing game" in table and "lower is better" in table

    _, table_ja = lab.compare_methods(loaded, outputs, None, abnormal_index,
                                      "abnormal", None, 0.4, "jet", "ja")
    assert "削除 AUC" in table_ja and _has_kana(table_ja)


def test_compare_methods_offers_the_2025_methods_and_road(loaded, outputs, abnormal_index):
    """ShapleyCAM, Finer-CAM and KPCA-CAM are in the comparison and their maps are drawn and scored."""
    items, table = lab.compare_methods(loaded, outputs, None, abnormal_index,
                                       "abnormal", None, 0.4, "jet", "en")
    captions = {caption.split(" — ")[0]: path for path, caption in items}
    rows = {line.split("|")[1].strip(" `"): line.split("|")[2:6] for line in table.splitlines()
            if line.startswith("| `")}
    for method in ("shapleycam", "finercam", "kpcacam"):
        assert method in captions and method in rows
        deletion, insertion, morf, lerf = (float(cell) for cell in rows[method])
        assert 0.0 <= morf <= 1.0 and 0.0 <= lerf <= 1.0
    # The lecture model has one sigmoid unit: Finer-CAM is Grad-CAM there, and the explorer draws it so.
    np.testing.assert_array_equal(_pixels(captions["finercam"]), _pixels(captions["gradcam"]))
    assert not np.array_equal(_pixels(captions["kpcacam"]), _pixels(captions["gradcam"]))
    assert "ROAD MoRF (lower is better)" in table and "ROAD LeRF" in table
    # The ROAD cells are the library's ROAD of the method's own map (up to the imputation noise).
    from exercise_logic.explorer.handlers import explain, input_image
    image, _ = input_image(loaded, None, abnormal_index, "en")
    shown = explain(loaded, image[np.newaxis], 1, None, "kpcacam")
    expected = el.explain.road(loaded.model, loaded.model_inputs(shown.images), shown.heatmaps, shown.targets)
    morf, lerf = (float(cell) for cell in rows["kpcacam"][2:4])
    assert morf == pytest.approx(expected.mean_morf, abs=0.02) and lerf == pytest.approx(expected.mean_lerf, abs=0.02)
    _, table_ja = lab.compare_methods(loaded, outputs, None, abnormal_index,
                                      "abnormal", None, 0.4, "jet", "ja")
    assert "ROAD 重要順に除去" in table_ja


def test_compare_methods_on_an_upload_has_no_pointing_game(loaded, outputs, image_files):
    items, table = lab.compare_methods(loaded, outputs,
                                       str(image_files["sample.png"]), None, "predicted", None,
                                       0.4, "jet", "en")
    assert len(items) == len(el.METHODS)
    assert not any(caption.endswith(("hit", "miss")) for _, caption in items)
    assert "| Pointing game" not in table and "needs a synthetic test image" in table


def test_sanity_check_randomises_step_by_step(outputs, loaded, abnormal_index):
    methods = ["gradcam", "saliency"]
    items, columns, table = lab.sanity_check(loaded, outputs, None, abnormal_index,
                                             methods, "abnormal", None, "jet", "en")
    steps = 1 + len(el.explain.sanity.weighted_layers(loaded.model))
    assert columns == steps and len(items) == len(methods) * steps
    assert items[0][1].startswith("gradcam · step 0: trained · ρ ")
    assert items[steps][1].startswith("saliency · step 0: trained · ρ 1.00 / SSIM 1.00")
    assert items[-1][1].startswith(f"saliency · step {steps - 1}: ")
    assert "Spearman" in table and table.count("| `") == len(methods)
    # A language switch re-renders the kept result: same numbers, new words, no new randomisation.
    kept = len(lab._cascades._values)
    items_ja, _, _ = lab.sanity_check(loaded, outputs, None, abnormal_index,
                                      methods, "abnormal", None, "jet", "ja")
    assert len(lab._cascades._values) == kept
    assert [caption.split("·")[-1] for _, caption in items_ja] == [caption.split("·")[-1] for _, caption in items]
    assert items_ja[0][1] != items[0][1]
    # The caller's model is untouched: the explorer still gives the same map.
    before = loaded.model.get_weights()
    lab.sanity_check(loaded, outputs, None, abnormal_index, ["gradcam"],
                     "predicted", None, "jet", "ja")
    assert all(np.array_equal(a, b) for a, b in zip(before, loaded.model.get_weights()))


def test_lab_tabs_bad_input_gives_a_message_in_both_languages(store, loaded, outputs, abnormal_index):
    labs = lab.ShortcutLabs(store.seed, store.cache_dir)
    calls = {
        "no image": lambda lang: lab.compare_methods(loaded, outputs, None, None,
                                                     "predicted", None, 0.4, "jet", lang),
        "bad class": lambda lang: lab.compare_methods(loaded, outputs, None,
                                                      abnormal_index, "cat", None, 0.4, "jet", lang),
        "no method": lambda lang: lab.sanity_check(loaded, outputs, None,
                                                   abnormal_index, [], "predicted", None, "jet", lang),
        "bad method": lambda lang: lab.sanity_check(loaded, outputs, None,
                                                    abnormal_index, ["magic"], None, None, "jet", lang),
        "strength": lambda lang: lab.shortcut_lab(labs, outputs, "simple", 1.5, 1, lang),
        "epochs": lambda lang: lab.shortcut_lab(labs, outputs, "simple", 0.95, 0, lang),
        "model": lambda lang: lab.shortcut_lab(labs, outputs, "transfer", 0.95, 1, lang),
    }
    for name, call in calls.items():
        messages = {}
        for lang in ("ja", "en"):
            with pytest.raises(gr.Error) as caught:
                call(lang)
            messages[lang] = caught.value.message
            assert "Traceback" not in messages[lang], name
        assert _has_kana(messages["ja"]) and not _has_kana(messages["en"]), (name, messages)
    assert labs.cached(("simple", 0.95, 1)) is None  # nothing was trained for bad input


def test_shortcut_lab_trains_once_with_progress_and_is_bilingual(store, outputs):
    labs = lab.ShortcutLabs(store.seed, store.cache_dir)
    reports = []
    summary, table, figure = lab.shortcut_lab(labs, outputs, "simple", 0.95, 1, "en",
                                              progress=lambda value, text: reports.append((value, text)))
    assert "Shortcut model" in summary and "validation accuracy" in summary
    assert "Abnormal maps peaking on the marker" in table and "Lesion pointing game" in table
    assert reports and reports[-1][0] == pytest.approx(1.0)
    assert labs.models_to_train(("simple", 0.95, 1)) == 0  # both models are in the training cache
    assert "model 2/2" in reports[-1][1] and "epoch 1/1" in reports[-1][1]
    picture = _pixels(figure)
    assert picture.shape[0] > 200 and picture.shape[1] > 400 and picture.std() > 10

    again = []
    summary_ja, table_ja, _ = lab.shortcut_lab(labs, outputs, "simple", 0.95, 1, "ja",
                                               progress=lambda value, text: again.append(text))
    assert again == []  # cached: no training
    assert "ショートカットモデル" in summary_ja and "ポインティングゲーム" in table_ja
    result = labs.cached(("simple", 0.95, 1))
    assert 0.0 <= result.shortcut.marker_peak <= 1.0 and 0.0 <= result.control.test_accuracy <= 1.0


def test_browser_opens_the_compare_tab(browser, server):
    """In Chromium: the explorer is the first tab; the compare tab shows all methods with scores,
    and follows a language switch."""
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 1800})
    context.set_default_timeout(30_000)
    try:
        page = context.new_page()
        page.goto(server)
        page.wait_for_function("""() => { const img = document.querySelector('#overlay img');
                                          return img && img.complete && img.naturalWidth > 0; }""")
        for name in ("Explorer", "Sanity check", "Shortcut lab"):
            assert page.get_by_role("tab", name=name).count() == 1, name
        page.get_by_role("tab", name="Compare methods").click()
        items = page.locator("#compare-gallery .thumbnail-item")
        page.wait_for_function("n => document.querySelectorAll('#compare-gallery .thumbnail-item').length === n",
                               arg=len(el.METHODS))
        assert items.count() == len(el.METHODS)
        page.locator("#compare-table").filter(has_text="Deletion AUC").wait_for()
        assert "scorecam" in page.inner_text("#compare-table")
        # Switching the language re-renders the shown result, captions included.
        page.locator("#lang-switch label").filter(has_text="日本語").click()
        page.locator("#compare-table").filter(has_text="削除 AUC").wait_for()
        assert "Deletion AUC" not in page.inner_text("#compare-table")
        assert "削除" in page.inner_text("#compare-gallery")
    finally:
        context.close()
