"""The graded checks of the Grad-CAM assignment: how a hidden case is built and judged.

One definition of each check, used three ways:

- the notebook builder pastes this file's code (everything below this docstring)
  into every hidden test block (``spec.hidden_block``), so the in-kernel hidden
  tests are self-contained: they import nothing of the kit but ``exercise_logic``;
- the cross-check (``grader/crosscheck.py``) imports it to build the cases and to
  compare the maps, in a process that never runs student code;
- the cross-check's child gets a copy of this file and imports it to build the
  models it runs the student's answer on.

Rules, because the code runs in the student's kernel namespace:

- every top-level name starts with ``_gc_`` or ``_GC_`` (no clash with a student's
  names), and every import is inside a function (nothing else is bound);
- the hidden block defines everything again right before it runs, so nothing a
  student defined earlier under these names is used;
- what is looked up after the student's function has run is bound before it runs
  (``_gc_hidden_run``, ``_gc_compare``'s ``atol``), so the function cannot rebind
  it either;
- the comparison uses only ndarray methods, Python operators and ``assert``:
  nothing a student can replace by monkeypatching ``np.allclose``,
  ``np.testing`` or a notebook helper.
"""

# The models the checks build: name -> (height, width, outputs, seed), made by
# exercise_logic.build_model(..., model_type='simple'): Flatten + Dense head.
# "known" is the hand-made model of the visible test, whose answer is known.
_GC_HIDDEN_MODELS = {
    "bin_a": (28, 28, 1, 101),
    "bin_b": (28, 28, 1, 202),
    "multi": (28, 28, 4, 303),
    "bin_wide": (24, 32, 1, 404),
    "multi_tall": (36, 20, 3, 505),
}
# The visible tests' own models (build_source.VISIBLE builds exactly these):
# feedback pages show a student's maps on these only, so hidden cases stay hidden.
_GC_VISIBLE_MODELS = {
    "visible_basic": (28, 28, 1, 1),
    "visible_classes": (28, 28, 4, 2),
    "visible_layers": (28, 28, 1, 3),
    "visible_shapes": (24, 32, 1, 4),
}
_GC_MODELS = {**_GC_HIDDEN_MODELS, **_GC_VISIBLE_MODELS}

# After min-max scaling both maps, correct implementations (NumPy or TF,
# probability or logit of a sigmoid, normalise-then-resize or resize-then-
# normalise) differ by < 1e-5; every listed mistake by > 0.05 (see the tests).
_GC_ATOL = 2e-3


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
    """The input batch of one image: uniform noise of seed ``image``, or "zeros", or the known "ramp"."""
    import numpy
    shape = (1,) + tuple(int(d) for d in model.inputs[0].shape[1:])
    if image == "zeros":
        return numpy.zeros(shape, numpy.float32)
    if image == "ramp":
        return (numpy.arange(1, 25, dtype=numpy.float32) / 24.0).reshape(shape)
    return numpy.random.default_rng(image).random(shape, dtype=numpy.float32)


def _gc_layer(model, layer):
    """The name of a case's layer: "last" is last_conv_layer, "first" the first conv layer."""
    if layer == "last":
        return "last_conv_layer"
    import keras
    return [l.name for l in model.layers if isinstance(l, keras.layers.Conv2D)][0]  # noqa: E741


def _gc_compare(got, ref, label, atol=_GC_ATOL):
    """Judge one map against the reference; raise AssertionError with a bilingual message.

    ``atol`` is bound when this is defined, before any student code of the cell runs.
    """
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
    assert error <= atol, (
        f"{label}: 参照実装との差が大きすぎます（最大 {error:.3f}） / differs from the reference "
        f"by up to {error:.3f}")


def _gc_label(case):
    """How a failure message names its case (never the reference's values)."""
    model, image, layer, class_index = case
    return f"[model={model}, image={image}, layer={layer}, class_index={class_index}]"


def _gc_reference():
    """A private copy of exercise_logic under another name: pristine, whatever the student patched."""
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
    """The in-kernel hidden test of one cell: raise AssertionError unless every case matches.

    nbgrader scores a test cell 0 when it writes anything to stderr, so
    warnings and logs of correct code must not reach it.
    """
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
    """Run the student's function on each case with the reference behind tripwires, then compare."""
    import sys
    # bound now: the student's function runs before the comparison and shares these globals
    compare, label = _gc_compare, _gc_label
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
        compare(got, ref, label(case))
