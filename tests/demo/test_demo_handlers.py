"""The handlers as plain functions, in-process: no server, no browser."""
from __future__ import annotations

import gradio as gr
import numpy as np
import pytest
from demo_support import BAD_FILES, DATASET, GOOD_FILES
from PIL import Image

import exercise_logic as el
from demo.__main__ import parse_args
from exercise_logic.explorer import handlers as h
from exercise_logic.explorer.app import launch_options
from exercise_logic.explorer.compute_once import ComputeOnce
from exercise_logic.explorer.model_store import ModelStore
from exercise_logic.explorer.parsing import method_choices, parse_layer, parse_target, target_choices
from exercise_logic.messages import message
from exercise_logic.rendering import OUTLINE_RGB, draw_outline


def _pixels(path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def _view(loaded, outputs, index, target="predicted", layer=None, method="gradcam", opacity=0.4,
          colormap="jet", lang="ja", counterfactual=False, image=None):
    return h.view(loaded, outputs, image, index, target, layer, method, opacity, colormap, counterfactual, lang)


def test_view_of_a_sample_shows_prediction_pictures_and_lesion(outputs, loaded):
    position = 0  # the gallery starts with an abnormal image: it has a lesion mask
    index = int(loaded.images.sample_indices[position])
    assert loaded.images.labels[index] == 1 and loaded.images.masks[index].any()

    shown = _view(loaded, outputs, index)
    label, original, heatmap, overlay, lesion = (shown.label, shown.original, shown.heatmap, shown.overlay,
                                                 shown.lesion)
    assert set(label) == {"正常", "異常"} and sum(label.values()) == pytest.approx(1.0)
    paths = {original, heatmap, overlay}
    assert len(paths) == 3 and all(path.endswith(".png") for path in paths)
    assert all(_pixels(path).shape == (224, 224, 3) for path in paths)
    assert (_pixels(overlay) == OUTLINE_RGB).all(axis=-1).any(), "lesion outline drawn"
    # A barely trained model may have no positive evidence for one class (a flat map),
    # never for both: the single sigmoid's two scores are z and -z.
    lesions = [_view(loaded, outputs, index, target).lesion for target in ("abnormal", "normal")]
    assert any(("ヒット" in text) or ("ミス" in text) for text in lesions), lesions

    # Every control changes the picture; the same request gives a new, unique file.
    again = _view(loaded, outputs, index, lang="en")
    assert again.overlay != overlay and np.array_equal(_pixels(again.overlay), _pixels(overlay))
    assert again.lesion != lesion and not any("\u3040" <= char <= "\u30ff" for char in again.lesion)

    def overlay_for(target="predicted", layer=None, opacity=0.4, colormap="jet"):
        return _pixels(_view(loaded, outputs, index, target, layer, "gradcam", opacity, colormap, "en").overlay)

    assert not np.array_equal(overlay_for(target="abnormal"), overlay_for(target="normal"))
    live = "abnormal" if ("ヒット" in lesions[0] or "ミス" in lesions[0]) else "normal"
    base = overlay_for(target=live)
    for change in ({"opacity": 0.9}, {"layer": loaded.conv_layers[0]}, {"colormap": "viridis"}):
        assert not np.array_equal(overlay_for(target=live, **change), base), change


@pytest.mark.parametrize("name", GOOD_FILES)
def test_awkward_uploads_are_explained(loaded, outputs, image_files, name):
    label, overlay = h.explain_api(loaded, outputs, str(image_files[name]))
    assert sum(label.values()) == pytest.approx(1.0)
    assert _pixels(overlay).shape == (224, 224, 3)


def test_the_api_computes_an_identical_request_once(loaded, outputs, image_files, tmp_path, monkeypatch):
    computed = []
    real_explain = h.explain
    monkeypatch.setattr(h, "explain", lambda *args, **kwargs: computed.append(args) or real_explain(*args, **kwargs))
    results = ComputeOnce(keep=8)
    sample = image_files["sample.png"]
    same_bytes = tmp_path / "renamed.png"
    same_bytes.write_bytes(sample.read_bytes())

    def answer(path=sample, lang="en", **settings):
        return h.explain_api(loaded, outputs, str(path), lang=lang, results=results, **settings)

    label, overlay = answer()
    again_label, again = answer(same_bytes)          # a class sending the same gallery image
    assert len(computed) == 1
    assert again_label == label and again != overlay  # each caller gets a file of their own
    np.testing.assert_array_equal(_pixels(again), _pixels(overlay))
    uncached_label, uncached = h.explain_api(loaded, outputs, str(sample), lang="en")
    assert uncached_label == label
    np.testing.assert_array_equal(_pixels(uncached), _pixels(overlay))
    assert len(computed) == 2

    # Another image, setting or language is computed anew.
    answer(image_files["rgba.png"])
    denser = answer(opacity=0.9)[1]
    assert set(answer(lang="ja")[0]) == {"正常", "異常"}
    assert len(computed) == 5 and not np.array_equal(_pixels(denser), _pixels(overlay))


def test_uploads_are_preprocessed_like_the_training_data(loaded, image_files):
    # An exported test image comes back bit-identical; 16-bit data is windowed, not clipped.
    exported = h.read_upload(loaded, str(image_files["sample.png"]))
    np.testing.assert_array_equal(exported, loaded.images.images[loaded.images.sample_indices[0]])
    xray = h.read_upload(loaded, str(image_files["xray_16bit.png"]))
    assert (xray == 1.0).mean() < 0.2 and xray.std() > 0.05


@pytest.mark.parametrize("name", BAD_FILES)
def test_bad_uploads_give_a_message_in_the_users_language(loaded, outputs, image_files, name):
    messages = {}
    for lang in ("ja", "en"):
        with pytest.raises(gr.Error) as caught:
            _view(loaded, outputs, None, lang=lang, image=str(image_files[name]))
        messages[lang] = caught.value.message
        assert "Traceback" not in messages[lang]
    assert any("\u3040" <= char <= "\u30ff" for char in messages["ja"]), messages["ja"]
    assert messages["en"].isascii() or "×" in messages["en"], messages["en"]
    assert messages["ja"] != messages["en"]


def test_controls_are_checked_with_clear_messages(outputs, loaded, image_files):
    assert [value for _, value in target_choices(loaded, "ja")] == ["predicted", "normal", "abnormal"]
    assert [shown for shown, _ in target_choices(loaded, "ja")] == ["予測したクラス", "正常", "異常"]
    assert [parse_target(loaded, value) for value in ("predicted", "abnormal", "異常", "0", None)] \
        == [None, 1, 1, 0, None]
    assert parse_layer(loaded, None) == loaded.default_layer == "last_conv_layer"
    path = str(image_files["sample.png"])
    for kwargs, words in (({"target": "cat"}, "abnormal"), ({"layer": "dense"}, "last_conv_layer"),
                          ({"method": "magic"}, "gradcam"), ({"opacity": 3}, "0")):
        with pytest.raises(gr.Error) as caught:
            h.explain_api(loaded, outputs, path, lang="en", **kwargs)
        assert words in caught.value.message


def test_every_method_of_the_library_is_offered_and_works(outputs, loaded):
    import exercise_logic as el
    assert method_choices() == list(el.METHODS) and "gradcam" in method_choices()
    index = int(loaded.images.sample_indices[0])
    for method in method_choices():
        shown = _view(loaded, outputs, index, "abnormal", None, method, 0.5, "jet", "en")
        assert sum(shown.label.values()) == pytest.approx(1.0)
        assert _pixels(shown.overlay).shape == (224, 224, 3)
        assert h.explanation_text(loaded, None, "en", method).count("×") >= 2


def test_comparison_grid_has_eight_overlays_captioned_with_the_class_each_explains(outputs, loaded):
    items = h.comparison_grid(loaded, outputs, "predicted", None, "gradcam", 0.4, "jet", False, "en")
    assert len(items) == 8
    assert all(caption.startswith("true: ") and "pred: " in caption for _, caption in items)
    # "predicted": each tile explains its own predicted class, and says which.
    for _, caption in items:
        predicted = caption.split("pred: ")[1].split(" ")[0]
        assert f"explains: {predicted}" in caption, caption
    fixed = h.comparison_grid(loaded, outputs, "abnormal", None, "gradcam", 0.4, "jet", True, "ja")
    assert all("説明: 異常 (反実仮想)" in caption for _, caption in fixed)
    assert {_pixels(path).shape for path, _ in items} == {(224, 224, 3)}


def test_lesion_hit_and_outline():
    mask = np.zeros((28, 28), bool)
    mask[10:14, 5:9] = True
    heatmap = np.zeros((28, 28), np.float32)
    assert h.lesion_hit(heatmap, mask) is None            # flat map: no peak
    heatmap[12, 6] = 1.0
    assert h.lesion_hit(heatmap, mask) is True
    assert h.lesion_hit(heatmap, np.zeros_like(mask)) is None
    heatmap[20, 20] = 2.0
    assert h.lesion_hit(heatmap, mask) is False


def test_lesion_texts_and_outline(loaded):
    mask = np.zeros((28, 28), bool)
    mask[10:14, 5:9] = True
    heatmap = np.zeros((28, 28), np.float32)
    heatmap[20, 20] = 1.0
    assert "Miss" in h.lesion_text(loaded, heatmap, mask, True, "en")
    assert "ミス" in h.lesion_text(loaded, heatmap, mask, True, "ja")
    assert "synthetic" in h.lesion_text(loaded, heatmap, mask, False, "en")   # an upload
    drawn = draw_outline(np.zeros((224, 224, 3), np.uint8), mask)
    outline = (drawn == OUTLINE_RGB).all(axis=-1)
    assert outline[80:112, 40:72].sum() == outline.sum() > 0 and not outline[90:102, 50:62].any()


def test_banner_explanation_and_texts(loaded):
    banner = h.banner(loaded, "ja")
    assert "ROC-AUC" in banner and "合成胸部X線" in banner and "講義の CNN" in banner
    assert "11×11" in h.explanation_text(loaded, "last_conv_layer", "en")
    assert "診療" in message("explorer.notice", "ja") and "not for clinical use" in message("explorer.notice", "en")


def test_chestmnist_binary_is_preferred_when_present(demo_dirs, tmp_path):
    from exercise_logic.data.npz_format import write_medmnist_npz
    rng = np.random.default_rng(0)
    splits = {split: ((rng.random((4, 28, 28)) * 255).astype(np.uint8),
                      (rng.random((4, 14)) > 0.8).astype(np.uint8)) for split in ("train", "val", "test")}
    write_medmnist_npz(tmp_path / "chestmnist.npz", splits)
    from exercise_logic.data.synthetic import SYNTHETIC_SIZES
    store = ModelStore(tmp_path / "work", cache_dir=demo_dirs["cache"], root=tmp_path)
    assert store.dataset_keys()[:len(SYNTHETIC_SIZES)] == [f"synthetic-{size}" for size in SYNTHETIC_SIZES]
    assert "chestmnist-28" in store.dataset_keys() and store.default_dataset() == "chestmnist-28"


def test_transfer_model_never_downloads_weights(store, monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))  # no weights there
    with pytest.raises(gr.Error) as caught:
        store.get(DATASET, "transfer", lang="en")
    assert "never downloads" in caught.value.message


def test_safe_defaults(tmp_path):
    args = parse_args([])
    assert (args.host, args.share, args.port) == ("127.0.0.1", False, 7860)
    options = launch_options(tmp_path, tmp_path / "out", host=args.host, port=args.port, share=args.share)
    assert options["server_name"] == "127.0.0.1" and options["share"] is False
    assert options["run_history"] is False and options["max_file_size"]
    assert options["show_error"] is False


def test_default_target_is_abnormal_for_a_single_sigmoid_and_predicted_otherwise(loaded):
    """The lecture explains "abnormal"; "predicted" stays a choice."""
    import keras

    from exercise_logic.explorer.notebook import own_model
    assert loaded.default_target == "abnormal"
    assert "predicted" in [value for _, value in target_choices(loaded, "en")]
    keras.utils.set_random_seed(0)
    softmax = el.build_model((28, 28, 3), 4)
    own = own_model(softmax, loaded.images.images[:4])
    assert own.default_target == "predicted"


@pytest.fixture(scope="module")
def blank_for_normal(tmp_path_factory):
    """The hand-built model of tests/cam_reference.py: no positive evidence for "normal", ever."""
    from cam_reference import hand_built_model

    from exercise_logic.explorer.notebook import own_model
    x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1) / 20.0 + 0.05
    return own_model(hand_built_model(), np.concatenate([x, x[:, ::-1]]), labels=[1, 0],
                     workdir=tmp_path_factory.mktemp("hand-built"))


def test_a_blank_map_says_why_and_offers_the_counterfactual(outputs, blank_for_normal):
    for lang, words in (("en", ("blank", "no positive evidence for “normal”", "counterfactual map")),
                        ("ja", ("空です", "「正常」を支持する", "反実仮想マップ"))):
        shown = _view(blank_for_normal, outputs, 0, "normal", lang=lang)
        assert _pixels(shown.heatmap).reshape(-1, 3).std(axis=0).max() == 0   # one flat colour
        assert all(word in shown.note for word in words), shown.note
        assert shown.offer_counterfactual
        # One click later: the counterfactual map, which is not blank, and says what it is.
        counter = _view(blank_for_normal, outputs, 0, "normal", lang=lang, counterfactual=True)
        assert _pixels(counter.heatmap).reshape(-1, 3).std(axis=0).max() > 10
        assert not counter.offer_counterfactual and ("counterfactual" in counter.note or "反実仮想" in counter.note)
    # A map with evidence has no note; a method without a counterfactual map names those that have one.
    assert _view(blank_for_normal, outputs, 0, "abnormal", lang="en").note == ""
    scorecam = _view(blank_for_normal, outputs, 0, "normal", method="scorecam", lang="en")
    assert not scorecam.offer_counterfactual and ("blank" not in scorecam.note or "gradcam" in scorecam.note)
    with pytest.raises(gr.Error, match="no counterfactual map"):
        _view(blank_for_normal, outputs, 0, "normal", method="saliency", lang="en", counterfactual=True)


def test_pictures_keep_the_image_resolution(outputs, tmp_path):
    """A 224 px image and its map are shown at 224 px (never shrunk); 28 px is enlarged 8x."""
    import keras

    from exercise_logic.explorer.notebook import own_model
    keras.utils.set_random_seed(0)
    model = el.build_model((224, 224, 3), 1, "deeper")
    images = np.random.default_rng(0).random((2, 224, 224, 3), dtype=np.float32)
    own = own_model(model, images, workdir=tmp_path)
    shown = _view(own, outputs, 0, "abnormal", lang="en")
    assert {_pixels(path).shape for path in (shown.original, shown.heatmap, shown.overlay)} == {(224, 224, 3)}
    expected = h.render(images[0], el.gradcam(model, images[:1], target=1)[0])[1]
    np.testing.assert_array_equal(_pixels(shown.heatmap), expected)


def test_explore_checks_its_arguments_with_clear_messages(loaded, tmp_path):
    import keras

    from exercise_logic.explorer.notebook import own_model
    images = loaded.images.images[:4]
    flat = keras.Sequential([keras.Input((28, 28, 3)), keras.layers.Flatten(), keras.layers.Dense(1)])
    for arguments, words in (((loaded.model, np.zeros((2, 32, 32, 3), np.float32)), "model takes 28×28"),
                             ((flat, images), "no 2D convolution layer"),
                             ((loaded.model, images, [0, 1]), "one entry per image (4)"),
                             ((loaded.model, images, None, np.zeros((4, 5, 5))), "masks must have shape"),
                             ((loaded.model, images, None, None, ["a", "b", "c"]), "must name 2 classes")):
        with pytest.raises(ValueError, match=words.replace("(", r"\(").replace(")", r"\)")):
            own_model(*arguments, workdir=tmp_path)
    own = own_model(loaded.model, images, [1, 0, 1, 0], class_names=["healthy", "sick"], workdir=tmp_path)
    assert own.class_names("en") == ["healthy", "sick"] and own.default_target == "sick"
    assert set(own.metrics) >= {"accuracy", "roc_auc"} and "your model" in h.banner(own, "en")
