"""Naming the likely mistake: each known mistake is named, a correct answer never gets one, nothing is guessed.

The fast layer: every answer runs directly in this process on the cross-check's
cases (hidden and visible), as the sandboxed child would run it; the maps are
diagnosed against the cases that ``crosscheck.prepare`` described.
"""
from __future__ import annotations

import numpy as np
import pytest

from exercise_logic import diagnosis
from exercise_logic.diagnosis import MISTAKES, STEPS, properties
from exercise_logic.messages import LANGUAGES
from grader import crosscheck
from variants import BASE, CORRECT, MISTAKES as MISTAKE_VARIANTS, _edit

# The mistake each variant of variants.py makes (the end-to-end and fast layers build these).
NAMED = {
    "m_no_relu": "no_relu", "m_abs": "abs", "m_max_pool": "max_pooled_gradients",
    "m_channel_pool": "wrong_pooling_axis", "m_weights_on_grads": "weights_on_gradients",
    "m_saliency": "wrong_tensor", "m_no_norm": "no_normalisation", "m_sum_norm": "sum_normalisation",
    "m_ignore_class": "class_index_ignored", "m_nearest": "nearest", "m_hw_swap": "height_width_swapped",
}

# More ways to make the listed mistakes, and the mistakes only the diagnosis knows.
RELU = "cam = tf.nn.relu(cam)"
NORMALISE = "    peak = tf.reduce_max(cam)\n    if peak > 0:\n        cam = cam / peak\n"
RESIZE = 'cam = tf.image.resize(cam[..., tf.newaxis], (height, width), method="bilinear")[..., 0]'
MORE = {
    "no_relu, min-max scaled": ("no_relu", _edit(
        (RELU, "pass"), ("if peak > 0:\n        cam = cam / peak",
                         "cam = tf.math.divide_no_nan(cam - tf.reduce_min(cam), peak - tf.reduce_min(cam))"))),
    "no_relu, normalised after upsampling": ("no_relu", _edit(
        (RELU, "pass"), (NORMALISE, ""), ("    return cam.numpy()", NORMALISE + "    return cam.numpy()"))),
    "sum, after upsampling": ("sum_normalisation", _edit(
        (NORMALISE, ""), ("    return cam.numpy()",
                          ("    cam = cam / tf.reduce_sum(cam) if tf.reduce_sum(cam) > 0 else cam\n"
                           "    return cam.numpy()")))),
    "pooled over rows only": ("wrong_pooling_axis", _edit(
        ("tf.reduce_mean(grads, axis=(1, 2))", "tf.reduce_mean(grads, axis=1)"),
        ("activations * weights[:, None, None, :]", "activations * weights[:, None, :, :]"))),
    "NaN for an all-zero map": ("nan_on_zero", _edit(("    if peak > 0:\n        cam = cam / peak",
                                                      "    cam = cam / peak"))),
    "layer hard-coded": ("layer_ignored", _edit(("if layer.name == last_conv_layer_name:",
                                                 'if layer.name == "last_conv_layer":'))),
    "gradients times activations": ("gradients_not_pooled", _edit(
        ("weights = tf.reduce_mean(grads, axis=(1, 2))", "weights = grads"),
        ("activations * weights[:, None, None, :]", "activations * weights"))),
}
TWO_AT_ONCE = {
    "no ReLU and nearest upsampling": ({"no_relu", "nearest"},
                                       _edit((RELU, "pass"), ('method="bilinear"', 'method="nearest"'))),
}
UNKNOWN = {
    "a random map": BASE.replace("    return cam.numpy()",
                                 "    return np.random.default_rng(7).random(cam.shape).astype('float32')"),
}


@pytest.fixture(scope="module")
def lab(prepared, spec):
    """The cross-check's cases, rebuilt here, and a way to diagnose an answer run on them directly."""
    import exercise_logic as el
    import json
    from assignments.gradcam import graded_checks as checks
    cases = json.loads((prepared / "cases.json").read_text())
    models = {name: checks._gc_build(name, el) for name in {case["model"] for case in cases}}
    inputs = crosscheck.load_maps(prepared / "inputs.npz")
    references = crosscheck.load_maps(prepared / "references.npz")
    facts = diagnosis.load_cases(prepared / "diagnosis.npz")

    def diagnose(source: str) -> dict:
        namespace = {"__name__": "__main__"}
        exec(compile(source, "<answer>", "exec"), namespace)
        maps = {}
        for case in cases:
            model = models[case["model"]]
            try:
                maps[case["key"]] = np.asarray(namespace["compute_gradcam"](
                    model, inputs[case["key"]].copy(), checks._gc_layer(model, case["layer"]),
                    case["class_index"]), np.float64)
            except Exception:  # noqa: BLE001 - an answer may raise on some cases
                pass
        return diagnosis.diagnose(maps, facts, lambda key, cam: crosscheck.rejected(cam, references[key])).to_dict()

    return {"diagnose": diagnose, "facts": facts, "references": references, "cases": cases, "models": models,
            "inputs": inputs, "layer": checks._gc_layer}


@pytest.mark.parametrize("name", list(NAMED))
def test_every_mistake_the_tests_build_is_named(lab, name):
    assert set(NAMED) == set(MISTAKE_VARIANTS)
    found = lab["diagnose"](MISTAKE_VARIANTS[name])
    assert found["status"] == "matched" and found["mistakes"] == [NAMED[name]], found


@pytest.mark.parametrize("name", list(CORRECT))
def test_a_correct_answer_is_never_given_a_mistake(lab, name):
    found = lab["diagnose"](CORRECT[name])
    assert (found["status"], found["mistakes"], found["cases"]) == ("correct", [], len(lab["cases"]))


@pytest.mark.parametrize("name", list(MORE))
def test_other_forms_and_other_mistakes_are_named(lab, name):
    expected, source = MORE[name]
    found = lab["diagnose"](source)
    assert found["status"] == "matched" and found["mistakes"] == [expected], found


@pytest.mark.parametrize("name", list(TWO_AT_ONCE))
def test_two_mistakes_at_once_are_two_names(lab, name):
    expected, source = TWO_AT_ONCE[name]
    found = lab["diagnose"](source)
    assert found["status"] == "matched" and set(found["mistakes"]) == expected, found
    assert set(found["evidence"]) == expected


@pytest.mark.parametrize("name", list(UNKNOWN))
def test_nothing_is_guessed(lab, name):
    found = lab["diagnose"](UNKNOWN[name])
    assert found["status"] == "unknown" and found["mistakes"] == [], found


def test_an_all_zero_answer_and_an_answer_that_always_raises(lab):
    zeros = 'import numpy as np\ndef compute_gradcam(model, img, layer="last_conv_layer", class_index=None):\n' \
            '    return np.zeros(img.shape[1:3])\n'
    assert lab["diagnose"](zeros)["mistakes"] == ["all_zero"]
    raises = 'def compute_gradcam(model, img, layer="last_conv_layer", class_index=None):\n    raise ValueError\n'
    assert lab["diagnose"](raises)["status"] == "no-maps"


def test_the_case_reference_is_the_library_reference(lab):
    for case in lab["facts"]:
        assert np.abs(case.reference - lab["references"][case.key]).max() < 1e-5, case.key


def test_each_wrong_grid_differs_from_the_correct_one_somewhere(lab):
    """A wrong grid whose maps equal the reference on every case could never be told apart."""
    for name in properties.EARLY:
        if name == "correct":
            continue
        assert any(diagnosis.differs(properties.reference_map(case.grids[name], case.size), case.reference)
                   for case in lab["facts"] if case.grids[name].shape <= case.size), name


def test_names_and_hints_are_bilingual_and_give_no_code():
    for mistake in MISTAKES.values():
        assert mistake.step in STEPS
        for lang in LANGUAGES:
            assert mistake.name(lang) and mistake.hint(lang)
            assert not any(token in mistake.hint(lang) for token in ("tf.", "np.", "reduce_", "=", "()")), lang
            assert mistake.hint_at_step(lang).startswith(mistake.step_name(lang) + ": ")


# -- the corpus: answers written as other people would (tests/grader/corpus) ------
import corpus  # noqa: E402

ISSUE_19 = {  # the three answers the kit's own signatures missed
    "m01_no_relu_max_eps.py": ["no_relu"],
    "m04_class_ignored_binary_only.py": ["class_index_ignored"],
    "m06_wrong_tensor_input_gradcam.py": ["wrong_tensor"],
}


@pytest.fixture(scope="module")
def corpus_found(lab):
    return {name: lab["diagnose"](source) for name, (source, _) in corpus.answers().items()}


def test_the_corpus_is_large_and_varied():
    expected = [mistakes for _, mistakes in corpus.answers().values()]
    assert len(expected) >= 30
    assert sum(not m for m in expected) >= 5 and sum(len(m) == 1 for m in expected) >= 15
    assert sum(len(m) >= 2 for m in expected) >= 5
    assert {key for m in expected for key in m} == set(MISTAKES) - {"all_zero"}


def test_the_corpus_mistakes_are_named_and_correct_answers_get_none(corpus_found):
    figures = corpus.score(corpus_found)
    assert figures["names_on_correct"] == 0, corpus_found
    assert figures["share_right"] >= 0.9, figures
    assert figures["wrong_names"] <= 0.05 * figures["mistakes"], figures


@pytest.mark.parametrize("name", list(ISSUE_19))
def test_the_answers_issue_19_found_are_named(corpus_found, name):
    found = corpus_found[name]
    assert found["status"] == "matched" and found["mistakes"] == ISSUE_19[name], found
    assert found["evidence"][ISSUE_19[name][0]][1]


def test_two_mistakes_of_the_corpus_are_two_names(corpus_found):
    for name, (_, mistakes) in corpus.answers().items():
        if len(mistakes) >= 2:
            assert corpus_found[name]["status"] == "matched", (name, corpus_found[name])
            assert set(corpus_found[name]["mistakes"]) == set(mistakes), (name, corpus_found[name])


def test_the_visible_cases_alone_name_the_corpus_mistakes(lab, corpus_found, spec):
    """A self-check sees only the feedback cases: they too must name the mistakes, never on correct answers."""
    shown = {crosscheck.case_key(case) for case in spec.visible_cases()}
    facts = [case for case in lab["facts"] if case.key in shown]
    found = {}
    for name, (source, _) in corpus.answers().items():
        namespace = {"__name__": "__main__"}
        exec(compile(source, name, "exec"), namespace)
        maps = {}
        for case in lab["cases"]:
            if case["key"] in shown:
                model = lab["models"][case["model"]]
                maps[case["key"]] = namespace["compute_gradcam"](
                    model, lab["inputs"][case["key"]].copy(), lab["layer"](model, case["layer"]), case["class_index"])
        found[name] = diagnosis.diagnose(maps, facts).to_dict()
    figures = corpus.score(found)
    assert figures["names_on_correct"] == 0 and figures["share_right"] >= 0.9, figures
