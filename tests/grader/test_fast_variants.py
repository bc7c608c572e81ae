"""The fast layer: hidden tests run directly (no nbgrader) on correct answers, each mistake and cheats.

Runs each hidden test block's exact text (from spec.hidden_block) in a
namespace holding the variant's compute_gradcam, as the notebook does.
"""
from __future__ import annotations

import contextlib
import sys

import numpy as np
import pytest

from assignments.gradcam import build_source, graded_checks as checks, spec as spec_module
from variants import CHEATS, CORRECT, EXPECTED_FAILS, MISTAKES, VARIANTS

DIRECT = [name for name in VARIANTS if name not in ("x_blank", "x_infinite_loop", "x_os_exit")]


def _namespace(source: str, name: str) -> dict:
    namespace = {"__name__": "__main__"}
    exec(compile(source, f"<{name}>", "exec"), namespace)
    return namespace


@contextlib.contextmanager
def restored_modules():
    """Undo what tampering variants patch (exercise_logic, numpy) in this test process."""
    names = [n for n in sys.modules if n.startswith("exercise_logic") or n in ("numpy", "numpy.testing")]
    saved = {n: dict(vars(sys.modules[n])) for n in names}
    try:
        yield
    finally:
        for n, attributes in saved.items():
            module_dict = vars(sys.modules[n])
            for key, value in attributes.items():
                if module_dict.get(key) is not value:
                    module_dict[key] = value


def failing_cells(name: str) -> set[str]:
    failed = set()
    with restored_modules():
        namespace = _namespace(VARIANTS[name], name)
        for grade_id in spec_module.TEST_CELLS:
            try:
                exec(compile(spec_module.hidden_block(grade_id), f"<{grade_id}>", "exec"), namespace)
            except AssertionError:
                failed.add(grade_id)
    return failed


@pytest.mark.parametrize("name", DIRECT)
def test_hidden_tests_judge_each_variant(name):
    assert failing_cells(name) == EXPECTED_FAILS[name]


def test_every_listed_mistake_loses_points():
    for name in MISTAKES:
        assert EXPECTED_FAILS[name], name
    assert set(MISTAKES) == {"m_no_relu", "m_abs", "m_max_pool", "m_channel_pool", "m_weights_on_grads",
                             "m_saliency", "m_no_norm", "m_sum_norm", "m_ignore_class", "m_nearest",
                             "m_hw_swap"}


@pytest.mark.parametrize("name", list(CORRECT))
def test_visible_tests_pass_for_correct_answers(name):
    import exercise_logic as el
    import keras
    namespace = _namespace(VARIANTS[name], name)
    namespace.update(np=np, keras=keras, el=el)
    for grade_id in spec_module.TEST_CELLS:
        exec(compile(build_source.VISIBLE[grade_id], grade_id, "exec"), namespace)


def test_tolerance_margins():
    """Correct answers are within 1e-4 of the reference after min-max; mistakes >= 0.05 away."""
    import exercise_logic as el
    models = {name: checks._gc_build(name, el) for name in ("bin_a", "multi", "bin_wide")}
    cases = [("bin_a", 1, "last", None), ("bin_a", 4, "last", 0), ("multi", 5, "last", 2),
             ("bin_wide", 10, "last", None)]

    def scaled(a):
        a = np.asarray(a, np.float64)
        span = a.max() - a.min()
        return (a - a.min()) / span if span > 0 else a * 0

    def gap(fn):
        worst = 0.0
        for model_name, image, layer, class_index in cases:
            model = models[model_name]
            img = checks._gc_image(model, image)
            ref = el.compute_gradcam(model, img, checks._gc_layer(model, layer), class_index)
            got = np.asarray(fn(model, img, checks._gc_layer(model, layer), class_index))
            if got.shape != ref.shape:
                return np.inf
            worst = max(worst, np.abs(scaled(got) - scaled(ref)).max())
        return worst

    for name in CORRECT:
        assert gap(_namespace(VARIANTS[name], name)["compute_gradcam"]) < 1e-4, name
    for name in ("m_abs", "m_max_pool", "m_channel_pool", "m_weights_on_grads", "m_saliency", "m_nearest",
                 "m_ignore_class"):
        assert gap(_namespace(VARIANTS[name], name)["compute_gradcam"]) > 0.05, name
    assert spec_module.ATOL < 0.05


def test_hidden_models_are_not_saturated():
    import exercise_logic as el
    for name, image, layer, class_index in spec_module.all_cases():
        if name == "known":
            continue
        model = checks._gc_build(name, el)
        head = model.layers[-1]
        features = checks._gc_image(model, image)
        for layer_ in model.layers[:-1]:
            features = layer_(features)
        logits = np.asarray(features @ head.kernel + head.bias)
        assert np.abs(logits).max() < 5, (name, image, logits)


def test_all_zero_map_stays_zero_and_known_answer():
    import exercise_logic as el
    model = checks._gc_build("bin_a", el)
    zero = el.compute_gradcam(model, checks._gc_image(model, "zeros"))
    assert np.all(zero == 0)
    known = checks._gc_build("known")
    ramp = checks._gc_image(known, "ramp")
    np.testing.assert_allclose(el.compute_gradcam(known, ramp, class_index=1), ramp[0, :, :, 0] / ramp.max(),
                               atol=1e-6)


def test_cheats_are_listed():
    assert {"x_delegate", "x_delegate_alias", "x_tamper_numpy", "x_tamper_reference", "x_blank",
            "x_infinite_loop", "x_os_exit"} == set(CHEATS)
