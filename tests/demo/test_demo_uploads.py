"""A student's own ``.keras`` model uploaded into the explorer: checked, refused clearly, per session only."""
from __future__ import annotations

import shutil

import gradio as gr
import numpy as np
import pytest
from demo_support import DATASET

from exercise_logic.explorer import handlers as h
from exercise_logic.explorer.uploads import MAX_MODEL_BYTES, UploadedModels

REFUSED = {  # file -> words of the English message
    "lambda.keras": "refused for safety",
    "truncated.keras": "damaged or not a Keras model",
    "no_conv.keras": "no 2D convolution layer",
    "softmax_three.keras": "not one the explorer understands",
    "weights.h5": "not a .keras file",
    "too_big.keras": "too large",
    "size_100.keras": "no data at that size",
}


def _has_kana(text: str) -> bool:
    return any("\u3040" <= char <= "\u30ff" for char in text)


def _accept(uploads, store, model_files, name, tmp_path, lang="en", session="session-a"):
    """Upload a copy (the explorer deletes the uploaded file once it has read it)."""
    copy = tmp_path / name
    shutil.copy(model_files[name], copy)
    try:
        return uploads.accept(session, copy, name, store, DATASET, lang)
    finally:
        assert not copy.exists(), "the uploaded file must be deleted once read"


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_every_refusal_is_a_clear_message_in_the_users_language(store, model_files, tmp_path, name):
    uploads = UploadedModels()
    messages = {}
    for lang in ("ja", "en"):
        with pytest.raises(gr.Error) as caught:
            _accept(uploads, store, model_files, name, tmp_path, lang)
        messages[lang] = caught.value.message
        assert "Traceback" not in messages[lang] and name in messages[lang]
    assert REFUSED[name] in messages["en"], messages["en"]
    assert _has_kana(messages["ja"]) and not _has_kana(messages["en"].replace(name, ""))
    assert len(uploads) == 0


def test_the_size_limit_is_checked_before_loading(model_files):
    assert model_files["too_big.keras"].stat().st_size > MAX_MODEL_BYTES        # the default limit
    assert MAX_MODEL_BYTES < 10 << 20                                            # under the server's


def test_a_good_model_and_a_two_output_softmax_are_explained(store, outputs, model_files, tmp_path):
    import keras
    uploads = UploadedModels()
    for name, default_target in (("lecture_cnn.keras", "abnormal"), ("softmax_two.keras", "predicted")):
        uploaded = _accept(uploads, store, model_files, name, tmp_path)
        loaded = uploaded.on(store, DATASET)
        assert loaded.default_target == default_target and name in loaded.title["en"]
        assert {"accuracy", "roc_auc"} <= set(loaded.metrics)
        index = int(loaded.images.sample_indices[0])
        shown = h.view(loaded, outputs, None, index, "predicted", None, "gradcam", 0.4, "jet", False, "en")
        reference = keras.models.load_model(model_files[name], compile=False)
        predicted = reference.predict(loaded.images.images[index:index + 1], verbose=0)[0]
        expected = [1 - predicted[0], predicted[0]] if len(predicted) == 1 else predicted
        np.testing.assert_allclose([shown.label["normal"], shown.label["abnormal"]], expected, atol=1e-5)
    assert len(uploads) == 1   # a second upload replaces the session's first


def test_each_session_has_its_own_model_and_closing_releases_it(store, model_files, tmp_path):
    uploads = UploadedModels()
    first = _accept(uploads, store, model_files, "lecture_cnn.keras", tmp_path, session="a")
    second = _accept(uploads, store, model_files, "softmax_two.keras", tmp_path, session="b")
    assert first.model is not second.model and len(uploads) == 2
    assert uploads.release("a") and first.model is None and second.model is not None
    assert not uploads.release("a") and len(uploads) == 1


# -- in the browser ------------------------------------------------------------------------------

def _page(browser, server):
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 2000})
    context.set_default_timeout(30_000)
    page = context.new_page()
    page.goto(server)
    page.wait_for_function("""() => { const img = document.querySelector('#overlay img');
                                      return img && img.complete && img.naturalWidth > 0; }""")
    return context, page


def _choose_file(page, path) -> None:
    with page.expect_file_chooser() as chooser:
        page.click("#upload-model")
    chooser.value.set_files(str(path))


def _upload(page, path) -> None:
    page.click("#upload-panel button")   # open the accordion
    _choose_file(page, path)


def _shown_percent(page, name: str) -> int:
    return int(page.get_attribute(f'#prediction [data-testid="{name}-confidence-set"] meter', "aria-valuenow"))


def _first_sample(store) -> np.ndarray:
    images = store.image_set(DATASET).images
    return images[store.image_set(DATASET).sample_indices[:1]]


def _expect_uploaded(page, path, store) -> None:
    """The page explains the uploaded model: banner, menu, and its own probabilities."""
    import keras
    page.locator("#upload-status").filter(has_text=f"{path.name} is loaded").wait_for()
    page.locator("#banner").filter(has_text=path.name).wait_for()
    assert page.input_value("#model input") == "your uploaded model"
    predicted = keras.models.load_model(path, compile=False).predict(_first_sample(store), verbose=0)[0]
    abnormal = predicted[0] if len(predicted) == 1 else predicted[1]
    page.wait_for_function(
        """n => { const m = document.querySelector('#prediction [data-testid="abnormal-confidence-set"] meter');
                  return m && m.getAttribute('aria-valuenow') === n; }""", arg=str(int(np.floor(100 * abnormal + 0.5))))


def test_browser_uploads_good_and_bad_models(browser, server, store, model_files, demo_dirs):
    context, page = _page(browser, server)
    try:
        page.click("#upload-panel button")   # open the accordion
        for name in ("lambda.keras", "truncated.keras", "no_conv.keras"):
            _choose_file(page, model_files[name])
            toast = page.locator("[data-testid=toast-body]").filter(has_text=REFUSED[name])
            toast.first.wait_for()
            assert "Traceback" not in toast.first.inner_text()
        assert "ROC-AUC" in page.inner_text("#banner") and "lecture CNN" in page.inner_text("#banner")

        _choose_file(page, model_files["softmax_two.keras"])
        _expect_uploaded(page, model_files["softmax_two.keras"], store)
        assert page.input_value("#target input") == "predicted class"    # not a single sigmoid
        # The uploaded file is not kept on the server.
        assert not list(demo_dirs["server"].glob("run-*/gradio/**/*.keras"))
    finally:
        context.close()


def test_browser_sessions_see_only_their_own_upload(browser, server, store, model_files, demo_dirs):
    (context_a, page_a), (context_b, page_b) = _page(browser, server), _page(browser, server)
    try:
        _upload(page_a, model_files["lecture_cnn.keras"])
        _expect_uploaded(page_a, model_files["lecture_cnn.keras"], store)
        # B has no upload: choosing "your uploaded model" says so, and never shows A's.
        page_b.click("#model input")
        page_b.get_by_role("option", name="your uploaded model", exact=True).click()
        page_b.locator("[data-testid=toast-body]").filter(has_text="No uploaded model yet").first.wait_for()
        assert "lecture_cnn.keras" not in page_b.inner_text("#banner")
        _upload(page_b, model_files["softmax_two.keras"])
        _expect_uploaded(page_b, model_files["softmax_two.keras"], store)
        # A still has its own model.
        page_a.locator("#sample-gallery .thumbnail-item").nth(0).click()
        _expect_uploaded(page_a, model_files["lecture_cnn.keras"], store)
        assert "softmax_two.keras" not in page_a.inner_text("#banner")
    finally:
        context_a.close()
    # Closing A's tab ends its session: the server releases its model.
    log = demo_dirs["server"] / "server.log"
    page_b.wait_for_timeout(500)
    for _ in range(60):
        if "released the uploaded model" in log.read_text(errors="replace"):
            break
        page_b.wait_for_timeout(500)
    assert "released the uploaded model" in log.read_text(errors="replace")
    context_b.close()

