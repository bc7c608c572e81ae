"""The single source of truth of the Grad-CAM assignment's grading.

``CHECK_SOURCE`` is plain Python text. It is pasted into every hidden test
block of the notebooks (so the in-kernel hidden tests are self-contained) and
exec'd by the out-of-process cross-check (``grader/crosscheck.py``), so both
judge exactly the same cases with exactly the same comparison.

The comparison uses only ndarray methods, Python operators and ``assert``
statements: nothing a student can replace by monkeypatching ``np.allclose``,
``np.testing`` or a notebook helper.
"""
from __future__ import annotations

ASSIGNMENTS = {"ja": "gradcam_ja", "en": "gradcam_en"}
NOTEBOOK = "gradcam"                      # the notebook's file stem in every assignment
SOLUTION_CELL = "compute_gradcam"         # grade_id of the graded answer cell
SETUP_CELL = "setup"                      # grade_id of the locked setup cell (longer time limit)
MANUAL_CELLS = {"q1_where": 2, "q2_plausible": 2, "q3_clinic": 2}

# Lecture CNNs the hidden tests use: name -> (height, width, outputs, seed).
# Built with exercise_logic.build_model(..., model_type='simple'): Flatten + Dense head.
MODELS = {
    "bin_a": (28, 28, 1, 101),
    "bin_b": (28, 28, 1, 202),
    "multi": (28, 28, 4, 303),
    "bin_wide": (24, 32, 1, 404),
    "multi_tall": (36, 20, 3, 505),
}

# Test cells: grade_id -> (points, cases). A case is
# (model, image, layer, class_index): image is a seed for uniform noise or
# "zeros"; layer is "last" (last_conv_layer) or "first" (the first conv);
# "known" is the hand-made model of the visible test, whose answer is known.
TEST_CELLS = {
    "test_gradcam_basic": (2, [
        ("bin_a", 1, "last", None),
        ("bin_b", 2, "last", None),
    ]),
    "test_gradcam_known": (1, [
        ("known", "ramp", "last", 1),
        ("known", "ramp", "last", 0),
        ("bin_a", "zeros", "last", None),
        ("bin_b", 3, "last", 1),
    ]),
    "test_gradcam_classes": (3, [
        ("bin_a", 4, "last", 0),
        ("bin_a", 4, "last", 1),
        ("multi", 5, "last", 0),
        ("multi", 5, "last", 1),
        ("multi", 5, "last", 2),
        ("multi", 5, "last", 3),
        ("multi", 6, "last", None),
    ]),
    "test_gradcam_layers": (2, [
        ("bin_b", 7, "first", 1),
        ("multi", 8, "first", 2),
        ("bin_a", 9, "last", 0),
    ]),
    "test_gradcam_shapes": (2, [
        ("bin_wide", 10, "last", None),
        ("bin_wide", 10, "last", 0),
        ("multi_tall", 11, "last", 1),
        ("multi_tall", 12, "first", None),
    ]),
}
AUTO_POINTS = sum(points for points, _ in TEST_CELLS.values())

# The visible tests' own models and images (build_source.VISIBLE builds exactly
# these), per test cell. Feedback pages show a student's maps on these cases
# only: hidden cases stay hidden.
VISIBLE_MODELS = {
    "visible_basic": (28, 28, 1, 1),
    "visible_classes": (28, 28, 4, 2),
    "visible_layers": (28, 28, 1, 3),
    "visible_shapes": (24, 32, 1, 4),
}
FEEDBACK_CASES = {
    "test_gradcam_basic": [("visible_basic", 0, "last", None)],
    "test_gradcam_known": [("known", "ramp", "last", 1), ("known", "ramp", "last", 0)],
    "test_gradcam_classes": [("visible_classes", 1, "last", c) for c in (None, 0, 1, 2, 3)],
    "test_gradcam_layers": [("visible_layers", 2, "first", None)],
    "test_gradcam_shapes": [("visible_shapes", 3, "last", None)],
}
# More cases on the visible tests' models, never drawn: both classes of the
# binary model on one image, an all-zero image and the other class of another
# layer give the diagnosis (and a notebook's self-check, which sees no hidden
# case) properties to reason from: the same map for both classes, NaN where
# the map is all zero, another layer's map.
DIAGNOSIS_CASES = [("visible_basic", 0, "last", 0), ("visible_basic", 0, "last", 1),
                   ("visible_basic", "zeros", "last", None), ("visible_layers", 2, "first", 0)]

# -- Feedback X-ray cases ---------------------------------------------------------
# Pictures a student recognises: per test cell, the visible test's model on a
# synthetic chest X-ray with a lesion (image "xray-<seed>", made at release by
# exercise_logic.data.synthetic.lesion_xray(height, width, seed)). They are no
# hidden test's input; the page draws the student's map on them with the lesion
# outlined, and the noise-image pair of FEEDBACK_CASES only where the X-ray
# shows no difference. The known test's X-ray case explains "normal" (class 0)
# on the basic test's X-ray, so the diagnosis sees both classes of one image.
XRAY_PREFIX = "xray-"
XRAY_CASES = {
    "test_gradcam_basic": [("visible_basic", "xray-1", "last", None)],
    "test_gradcam_known": [("visible_basic", "xray-1", "last", 0)],
    "test_gradcam_classes": [("visible_classes", "xray-3", "last", 2)],
    "test_gradcam_layers": [("visible_layers", "xray-4", "first", None)],
    "test_gradcam_shapes": [("visible_shapes", "xray-5", "last", None)],
}


def is_xray(image) -> bool:
    return isinstance(image, str) and image.startswith(XRAY_PREFIX)


def xray_cases() -> list[tuple]:
    """Every distinct feedback X-ray case, in a fixed order."""
    return _distinct(XRAY_CASES.values())
# -- end of the feedback X-ray cases -----------------------------------------------

# After min-max scaling both maps, correct implementations (NumPy or TF,
# probability or logit of a sigmoid, normalise-then-resize or resize-then-
# normalise) differ by < 1e-5; every listed mistake by > 0.05 (see the tests).
ATOL = 2e-3

CHECK_SOURCE = r'''
def _gc_build(name, library=None):
    """A hidden-test model, built exactly the same way in every process."""
    import keras
    if library is None:
        import exercise_logic as library
    if name == "known":
        # Conv 1x1 (weight 1) -> Flatten -> Dense(1, weights 1, sigmoid): dz/dA = 1,
        # so Grad-CAM of an image of positive values is the image divided by its max.
        model = keras.Sequential([
            keras.layers.Input(shape=(4, 6, 1)),
            keras.layers.Conv2D(1, 1, use_bias=False, kernel_initializer="ones", name="last_conv_layer"),
            keras.layers.Flatten(),
            keras.layers.Dense(1, activation="sigmoid", kernel_initializer="ones")])
        return model
    height, width, outputs, seed = _GC_MODELS[name]
    keras.utils.set_random_seed(seed)
    return library.build_model((height, width, 3), outputs)


def _gc_image(model, image):
    import numpy
    shape = (1,) + tuple(int(d) for d in model.inputs[0].shape[1:])
    if image == "zeros":
        return numpy.zeros(shape, numpy.float32)
    if image == "ramp":
        return (numpy.arange(1, 25, dtype=numpy.float32) / 24.0).reshape(shape)
    return numpy.random.default_rng(image).random(shape, dtype=numpy.float32)


def _gc_layer(model, layer):
    if layer == "last":
        return "last_conv_layer"
    import keras
    return [l.name for l in model.layers if isinstance(l, keras.layers.Conv2D)][0]


def _gc_compare(got, ref, label):
    """Judge one map against the reference; raise AssertionError with a bilingual message."""
    import numpy
    ref = numpy.asarray(ref, dtype=numpy.float64)
    try:
        got = numpy.array(got, dtype=numpy.float64)
    except Exception as error:
        raise AssertionError(f"{label}: 戻り値を数値配列に変換できません / the result is not a numeric array ({error})")
    assert type(got) is numpy.ndarray, f"{label}: 戻り値が配列ではありません / not an array"
    assert tuple(got.shape) == tuple(ref.shape), (
        f"{label}: 形状が {tuple(got.shape)} です。(H, W) = {tuple(ref.shape)} であるべきです / "
        f"shape {tuple(got.shape)}, expected (H, W) = {tuple(ref.shape)}")
    assert ((got - got) == 0).all(), f"{label}: NaN か inf を含みます / contains NaN or inf"
    low, high, top = got.min().item(), got.max().item(), ref.max().item()
    assert low >= -1e-6 and high <= 1 + 1e-4, (
        f"{label}: 値が [0, 1] の範囲外です（{low:.3g}..{high:.3g}） / values outside [0, 1]")
    if top <= 1e-6:
        assert high <= 1e-6, f"{label}: ヒートマップは全て 0 のはずです / the map should be all zeros"
        return
    assert high >= top - 2e-3, (
        f"{label}: 最大値 {high:.3g}: 最大値で割って正規化していますか？ / max {high:.3g}: "
        "did you divide by the maximum?")
    span_got, span_ref = high - low, top - ref.min().item()
    scaled_got = (got - low) / span_got if span_got > 1e-12 else got * 0
    scaled_ref = (ref - ref.min()) / span_ref if span_ref > 1e-12 else ref * 0
    error = (scaled_got - scaled_ref).__abs__().max().item()
    assert error <= _GC_ATOL, (
        f"{label}: 参照実装との差が大きすぎます（最大 {error:.3f}） / differs from the reference "
        f"by up to {error:.3f}")


def _gc_label(case):
    model, image, layer, class_index = case
    return f"[model={model}, image={image}, layer={layer}, class_index={class_index}]"
'''

KERNEL_SOURCE = r'''
def _gc_reference():
    # A private copy of exercise_logic under another name: whatever the student
    # patched in the imported exercise_logic, this copy is pristine.
    import importlib.util
    import sys
    alias = "_gc_reference_exercise_logic"
    if alias not in sys.modules:
        origin = importlib.util.find_spec("exercise_logic").origin
        spec = importlib.util.spec_from_file_location(
            alias, origin, submodule_search_locations=[origin.rsplit("/", 1)[0]])
        module = importlib.util.module_from_spec(spec)
        sys.modules[alias] = module
        spec.loader.exec_module(module)
    return sys.modules[alias]


def _gc_hidden_check(student_fn, cases):
    # Run the student's function on each case with the reference behind tripwires.
    # nbgrader scores a test cell 0 when it writes anything to stderr, so
    # warnings and logs of correct code must not reach it.
    import io
    import logging
    import sys
    import warnings
    warnings.simplefilter("ignore")
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    real_stderr = sys.stderr
    sys.stderr = io.StringIO()
    try:
        _gc_hidden_run(student_fn, cases)
    finally:
        sys.stderr = real_stderr


def _gc_hidden_run(student_fn, cases):
    import sys
    library = _gc_reference()
    reference = library.compute_gradcam
    models, inputs = {}, []
    for case in cases:
        name, image, layer, class_index = case
        if name not in models:
            models[name] = _gc_build(name, library)
        model = models[name]
        img = _gc_image(model, image)
        inputs.append((model, img, _gc_layer(model, layer), class_index,
                       reference(model, img, _gc_layer(model, layer), class_index)))

    def tripwire(*args, **kwargs):
        raise AssertionError("compute_gradcam は exercise_logic の Grad-CAM を呼ばずに自分で実装してください / "
                             "implement compute_gradcam yourself: exercise_logic's Grad-CAM is not allowed here")
    saved = []
    for name, module in list(sys.modules.items()):
        if not (name.startswith("exercise_logic") or name.startswith("_gc_reference_exercise_logic")):
            continue
        for attr in ("compute_gradcam", "gradcam", "cam_engine", "show_gradcam", "show_gradcam_comparison"):
            if attr in vars(module):
                saved.append((module, attr, vars(module)[attr]))
        for cls_name in ("BaseCAM", "GradCAM"):
            cls = vars(module).get(cls_name)
            if isinstance(cls, type):
                for attr in ("__init__", "explain", "__call__", "_maps_and_logits", "channel_weights"):
                    if attr in vars(cls):
                        saved.append((cls, attr, vars(cls)[attr]))
    for owner, attr, _ in saved:
        setattr(owner, attr, tripwire)
    try:
        results = [student_fn(model, img.copy(), layer, class_index)
                   for model, img, layer, class_index, _ in inputs]
    finally:
        for owner, attr, value in saved:
            setattr(owner, attr, value)
    for case, (_, _, _, _, ref), got in zip(cases, inputs, results):
        _gc_compare(got, ref, _gc_label(case))
'''


def check_namespace() -> dict:
    """CHECK_SOURCE exec'd into a fresh namespace (for the grader and the fast tests)."""
    namespace = {"_GC_MODELS": {**MODELS, **VISIBLE_MODELS}, "_GC_ATOL": ATOL}
    exec(compile(CHECK_SOURCE, "<gradcam-checks>", "exec"), namespace)
    return namespace


def hidden_block(grade_id: str) -> str:
    """The text of one test cell's hidden block."""
    _, cases = TEST_CELLS[grade_id]
    return ("### BEGIN HIDDEN TESTS\n"
            f"_GC_MODELS = {MODELS!r}\n_GC_ATOL = {ATOL!r}\n"
            + CHECK_SOURCE.strip() + "\n\n" + KERNEL_SOURCE.strip() + "\n\n"
            f"_gc_hidden_check(compute_gradcam, {cases!r})\n"
            "### END HIDDEN TESTS\n")


def all_cases() -> list[tuple]:
    """Every distinct hidden case, in a fixed order."""
    return _distinct(cases for _, cases in TEST_CELLS.values())


def feedback_cases() -> list[tuple]:
    """Every distinct feedback (visible-test) case, in a fixed order."""
    return _distinct(FEEDBACK_CASES.values())


def visible_cases() -> list[tuple]:
    """The feedback cases and the diagnosis's extra ones: every case on the visible tests' models."""
    return _distinct([feedback_cases(), DIAGNOSIS_CASES])


def _distinct(groups) -> list[tuple]:
    seen = []
    for cases in groups:
        for case in cases:
            if case not in seen:
                seen.append(case)
    return seen
