"""The feedback page's evidence: the student's maps come from the sandboxed child, only visible-test cases
are drawn, nothing on those cases can cost points, and no hidden case or reference code reaches the page."""
from __future__ import annotations

import json
import re

import numpy as np
import pytest

from exercise_logic.map_differences import as_map
from grader import crosscheck, feedback_images
from grader.feedback import diagnosis_html, failed_tests_html
from grader.report import leaks_in_feedback
from variants import BASE, VARIANTS

HIDDEN_MODELS = ("bin_a", "bin_b", "multi", "bin_wide", "multi_tall")
# Something goes wrong only on the first visible test's image (seed 0), which no hidden case uses.
ON_VISIBLE_IMAGE = ("    if abs(float(img_array[0, 0, 0, 0]) - float(np.random.default_rng(0).random((1, 28, 28, 3), "
                    "dtype=np.float32)[0, 0, 0, 0])) < 1e-7:\n        {action}\n")


def _notebook(source: str) -> dict:
    return {"cells": [{"cell_type": "code", "metadata": {"nbgrader": {"grade_id": "compute_gradcam"}},
                       "source": source}]}


def _misbehaving_on_visible_image(action: str) -> str:
    head = '    """Grad-CAM heatmap of one image: an (H, W) float array in [0, 1]."""\n'
    return BASE.replace(head, head + ON_VISIBLE_IMAGE.format(action=action))


@pytest.fixture(scope="module")
def swapped(prepared):
    """A real cross-check (sandboxed child) of an answer with height and width swapped."""
    return crosscheck.check_notebook(_notebook(VARIANTS["m_hw_swap"]), prepared, timeout=120)


def test_the_child_returns_the_visible_cases_and_the_mistake(swapped, prepared, spec):
    assert swapped["score"] == 7 and swapped["status"] == "ok"
    assert swapped["diagnosis"]["status"] == "matched"
    assert swapped["diagnosis"]["mistakes"] == ["height_width_swapped"]
    maps = crosscheck.load_maps(crosscheck.maps_folder(prepared) / f"{swapped['maps']}.npz")
    assert set(maps) == {crosscheck.case_key(case) for case in spec.feedback_cases() + spec.xray_cases()}
    assert maps[crosscheck.case_key(spec.FEEDBACK_CASES["test_gradcam_shapes"][0])].shape == (32, 24)
    assert maps[crosscheck.case_key(spec.XRAY_CASES["test_gradcam_shapes"][0])].shape == (32, 24)
    assert swapped["feedback_errors"] == {}


@pytest.mark.parametrize("action, outcome", [("import os; os._exit(3)", "exit-3"),
                                             ("while True: pass", "timeout")])
def test_what_happens_on_a_visible_case_never_costs_points(prepared, action, outcome):
    result = crosscheck.check_notebook(_notebook(_misbehaving_on_visible_image(action)), prepared, timeout=25)
    assert result["score"] == 10 and result["status"] == "ok", result
    assert result["feedback_errors"]["visible_basic-0-last-None"] == outcome
    assert result["diagnosis"]["status"] == "correct"


def test_the_page_draws_only_visible_cases_and_shows_no_hidden_code(swapped, prepared, spec):
    page = diagnosis_html(swapped) + failed_tests_html(swapped, prepared)
    assert "高さと幅の取り違え / height and width swapped" in page and "step 6, upsample" in page
    failed = [grade_id for grade_id, points in swapped["cells"].items() if points == 0]
    assert set(failed) == {"test_gradcam_known", "test_gradcam_shapes"}
    assert page.count("<h4>") == len(failed) and page.count("<table class='gc-maps gc-xray'>") == len(failed)
    # on the (square) X-ray of the known test the swap shows nothing: only the 4x6 noise image shows it
    assert page.count("<table class='gc-maps'>") == 1
    assert "your map&#x27;s shape is (32, 24), the reference&#x27;s (24, 32)" in page
    inputs = crosscheck.load_maps(prepared / "inputs.npz")
    key = crosscheck.case_key(spec.FEEDBACK_CASES["test_gradcam_known"][0])
    assert feedback_images.data_uri(feedback_images.image_png(inputs[key])) in page
    for case in spec.all_cases():                              # no hidden image is drawn
        if case[0] in HIDDEN_MODELS:
            assert feedback_images.data_uri(feedback_images.image_png(inputs[crosscheck.case_key(case)])) not in page
            assert f"model={case[0]}" not in page
    assert leaks_in_feedback(page) == []
    for code in ("GradientTape", "reduce_mean", "def compute_gradcam", "_gc_", "tf.image.resize"):
        assert code not in page


def test_each_picture_is_a_small_png(swapped, prepared):
    page = failed_tests_html(swapped, prepared)
    uris = re.findall(r'src="(data:image/png;base64,[^"]+)"', page)
    assert len(uris) == 2 + 2 + 3                  # two X-ray pairs; the noise image (shapes differ: no difference)
    assert all(len(uri) < 40_000 for uri in uris)


@pytest.fixture(scope="module")
def no_relu(prepared):
    return crosscheck.check_notebook(_notebook(VARIANTS["m_no_relu"]), prepared, timeout=120)


def test_no_relu_is_shown_on_the_xray_with_what_differs(no_relu, prepared, spec):
    """Each failed test: the maps over an X-ray with the lesion outlined and a line on what differs; the
    noise image only for the tests whose X-ray map happens to match (there only it shows the mistake)."""
    page = failed_tests_html(no_relu, prepared)
    failed = [grade_id for grade_id, points in no_relu["cells"].items() if points == 0]
    assert len(failed) == 5 and page.count("<table class='gc-maps gc-xray'>") == 5
    assert "your map has negative values (blue" in page and "where the reference is 0" in page
    assert "参照が 0 の場所に負の値（青" in page
    maps = crosscheck.load_maps(crosscheck.maps_folder(prepared) / f"{no_relu['maps']}.npz")
    references = crosscheck.load_maps(prepared / "references.npz")
    xray_passes = [g for g in failed if not crosscheck.rejected(maps[crosscheck.case_key(spec.XRAY_CASES[g][0])],
                                                                references[crosscheck.case_key(spec.XRAY_CASES[g][0])])]
    assert xray_passes, "some X-ray map of no ReLU matches: the noise image is needed there"
    assert page.count("<table class='gc-maps'>") == len(xray_passes)


def test_the_xray_pictures_draw_the_lesion_and_the_negative_values(prepared, spec):
    """The picture of a map with negative values differs from the one with them clipped, and the outline is drawn."""
    from PIL import Image
    import io
    key = crosscheck.case_key(spec.XRAY_CASES["test_gradcam_basic"][0])
    image = crosscheck.load_maps(prepared / "inputs.npz")[key]
    mask = crosscheck.load_maps(prepared / "masks.npz")[key]
    assert mask.any() and image.shape == (1, 28, 28, 3)
    cam = np.linspace(-0.5, 1, 28 * 28).reshape(28, 28)

    def pixels(cam, mask):
        return np.asarray(Image.open(io.BytesIO(feedback_images.xray_png(image, cam, mask))).convert("RGB"), int)
    drawn, clipped, unmasked = pixels(cam, mask), pixels(np.maximum(cam, 0), mask), pixels(cam, mask & False)
    blue = lambda rgb: (rgb[..., 2] - rgb[..., 0] > 40).sum()  # noqa: E731 (the colour bar has some too)
    assert blue(drawn) > blue(clipped) + 500
    magenta = lambda rgb: ((rgb[..., 0] > 180) & (rgb[..., 2] > 180) & (rgb[..., 1] < 90)).sum()  # noqa: E731
    assert magenta(drawn) > 10 and magenta(unmasked) == 0


def test_the_xray_cases_are_no_hidden_tests_inputs(spec):
    hidden = spec.all_cases()
    for case in spec.xray_cases():
        assert spec.is_xray(case[1]) and case[0] in spec.VISIBLE_MODELS
        assert all(not spec.is_xray(other[1]) for other in hidden)
    assert set(spec.XRAY_CASES) == set(spec.TEST_CELLS)


def test_a_missing_map_and_a_non_map_are_described(prepared, spec):
    key = crosscheck.case_key(spec.FEEDBACK_CASES["test_gradcam_basic"][0])
    result = {"cells": {"test_gradcam_basic": 0}, "maps": None, "feedback_errors": {key: "ValueError: boom"}}
    assert "ValueError: boom" in failed_tests_html(result, prepared)
    assert as_map(np.zeros((2, 3, 4))) is None and as_map(None) is None
    assert as_map(np.ones((1, 5, 6))).shape == (5, 6)


def test_an_unknown_mistake_is_said_as_such():
    text = diagnosis_html({"diagnosis": {"status": "unknown", "mistakes": [], "cases": 28}})
    assert "既知の間違いのどれにも当てはまりません" in text and "None of the known mistakes fits" in text
    assert diagnosis_html({"diagnosis": {"status": "correct", "mistakes": [], "cases": 28}}) == ""


def test_the_feedback_cases_are_the_visible_tests_own(spec):
    """Each visible test's model and image is exactly a FEEDBACK_CASES case of that test cell."""
    import exercise_logic as el
    import keras
    from assignments.gradcam import build_source
    from assignments.gradcam import graded_checks as checks
    for grade_id, cases in spec.FEEDBACK_CASES.items():
        calls = []

        def recording(model, img_array, last_conv_layer_name="last_conv_layer", class_index=None, calls=calls):
            calls.append((model, np.array(img_array), last_conv_layer_name, class_index))
            return np.zeros(np.shape(img_array)[1:3]) if class_index != 1 else img_array[0, :, :, 0] / img_array.max()

        namespace = {"compute_gradcam": recording, "np": np, "keras": keras, "el": el}
        try:
            exec(compile(build_source.VISIBLE[grade_id], grade_id, "exec"), namespace)
        except AssertionError:
            pass                                               # the recording answer is not a correct one
        assert calls, grade_id
        for case, (model, image, layer, class_index) in zip(cases, calls):
            built = checks._gc_build(case[0], el)
            # layer names are made per build: compare the layer's position
            position = [item.name for item in model.layers].index(layer)
            assert position == [item.name for item in built.layers].index(checks._gc_layer(built, case[2]))
            assert class_index == case[3]
            np.testing.assert_array_equal(image, checks._gc_image(built, case[1]))
            for ours, theirs in zip(built.get_weights(), model.get_weights()):
                np.testing.assert_array_equal(ours, theirs)
        assert len(calls) == len(cases), grade_id


def test_prepare_marks_each_case_graded_or_shown(prepared):
    assert (prepared / "diagnosis.npz").exists() and (prepared / "references.npz").exists()
    cases = json.loads((prepared / "cases.json").read_text())
    assert any(case["feedback"] and not case["hidden"] for case in cases)
    assert all(case["hidden"] or case["feedback"] for case in cases)
