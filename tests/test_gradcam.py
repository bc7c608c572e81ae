"""The batched Grad-CAM engine against an independent per-image implementation."""
import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import layers

import exercise_logic as el
from cam_reference import flat_tap, hand_built_model
from exercise_logic.explain import cam_engine


# -- an independent, straightforward per-image Grad-CAM --------------------------------
def _logit_head(model):
    """Split off the last Dense layer and compute its pre-activation by hand."""
    head = model.layers[-1]
    return lambda features: tf.matmul(features, head.kernel) + head.bias


def reference_gradcam(activation_and_features, head, image, target, binary):
    """Textbook Grad-CAM for one (H, W, C) image, following the paper step by step."""
    x = tf.constant(image[np.newaxis], tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(x)
        conv, features = activation_and_features(x)
        logits = head(features)[0]
        if binary:
            score = logits[0] if target == 1 else -logits[0]
        else:
            score = logits[target]
    grads = tape.gradient(score, conv)[0].numpy()
    conv = conv[0].numpy()
    alpha = grads.mean(axis=(0, 1))
    cam = np.maximum((conv * alpha).sum(axis=-1), 0)
    if cam.max() > 0:
        cam = cam / cam.max()
    resized = tf.image.resize(cam[..., None], image.shape[:2], method="bilinear")
    return resized.numpy()[..., 0]


def nested_tap(model, base_name, conv_name):
    base = model.get_layer(base_name)
    inner = keras.Model(base.inputs, [base.get_layer(conv_name).output, base.outputs[0]])

    def run(x):
        conv = None
        for layer in model.layers[:-1]:
            if isinstance(layer, layers.InputLayer):
                continue
            if layer is base:
                conv, x = inner(x, training=False)
            else:
                x = layer(x, training=False)
        return conv, x
    return run


def small_mobilenet():
    return keras.applications.MobileNetV2(input_shape=(32, 32, 3), alpha=0.35, include_top=False,
                                          weights=None)


def build(kind, seed):
    keras.utils.set_random_seed(seed)
    if kind == "simple-binary":
        model = el.build_model((28, 28, 3), 1)
        return model, flat_tap(model, "last_conv_layer"), "last_conv_layer", True
    if kind == "simple-5-class":
        model = el.build_model((28, 28, 3), 5)
        first_conv = model.layers[0].name  # explain the first conv layer here
        return model, flat_tap(model, first_conv), first_conv, False
    if kind == "deeper-multilabel":
        model = el.build_model((28, 28, 3), 3, "deeper", multi_label=True)
        return model, flat_tap(model, "last_conv_layer"), "last_conv_layer", False
    if kind == "nested-sequential":
        model = keras.Sequential([layers.Input((28, 28, 3)), layers.Resizing(32, 32), small_mobilenet(),
                                  layers.GlobalAveragePooling2D(), layers.Dense(4, activation="softmax")])
        base = model.layers[1].name
        return model, nested_tap(model, base, "block_6_project"), f"{base}/block_6_project", False
    if kind == "nested-functional":
        inputs = keras.Input((28, 28, 3))
        base = small_mobilenet()
        x = layers.GlobalAveragePooling2D()(base(layers.Resizing(32, 32)(inputs)))
        model = keras.Model(inputs, layers.Dense(1, activation="sigmoid")(x))
        return model, nested_tap(model, base.name, "Conv_1"), "Conv_1", True
    raise KeyError(kind)


KINDS = ["simple-binary", "simple-5-class", "deeper-multilabel", "nested-sequential", "nested-functional"]


@pytest.mark.parametrize("kind", KINDS)
def test_batched_engine_equals_per_image_reference(kind):
    model, tap, layer, binary = build(kind, seed=KINDS.index(kind))
    images = np.random.default_rng(1).random((6, 28, 28, 3), dtype=np.float32)
    classes = 2 if binary else int(model.outputs[0].shape[-1])
    targets = [i % classes for i in range(len(images))]
    maps = el.gradcam(model, images, layer=layer, target=targets)
    assert maps.shape == (6, 28, 28) and maps.dtype == np.float32
    head = _logit_head(model)
    for image, target, heatmap in zip(images, targets, maps):
        expected = reference_gradcam(tap, head, image, target, binary)
        np.testing.assert_allclose(heatmap, expected, atol=1e-5)


def test_branching_functional_model_at_top_level():
    keras.utils.set_random_seed(3)
    inputs = keras.Input((20, 24, 3))
    a = layers.Conv2D(8, 3, padding="same", activation="relu", name="conv_a")(inputs)
    b = layers.Conv2D(8, 5, padding="same", activation="relu", name="conv_b")(inputs)
    merged = layers.Conv2D(16, 3, activation="relu", name="merge_conv")(layers.Add()([a, b]))
    outputs = layers.Dense(3, activation="softmax")(layers.Flatten()(layers.MaxPooling2D()(merged)))
    model = keras.Model(inputs, outputs)
    probe = keras.Model(inputs, [merged, model.layers[-1].input])
    images = np.random.default_rng(2).random((3, 20, 24, 3), dtype=np.float32)
    maps = el.gradcam(model, images, target=[0, 1, 2])
    assert maps.shape == (3, 20, 24)  # non-square input, height before width
    for image, target, heatmap in zip(images, [0, 1, 2], maps):
        expected = reference_gradcam(lambda x: probe(x), _logit_head(model), image, target, False)
        np.testing.assert_allclose(heatmap, expected, atol=1e-5)


def test_known_answer_on_a_hand_built_model():
    model = hand_built_model()
    x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1) / 20.0
    abnormal, normal = el.gradcam(model, np.repeat(x, 2, axis=0), target=[1, 0])
    np.testing.assert_allclose(abnormal, x[0, ..., 0] / x.max(), atol=1e-6)
    np.testing.assert_array_equal(normal, np.zeros((4, 4), np.float32))  # zeros, never NaN


def test_saturated_sigmoid_still_explains_and_model_is_untouched():
    model = hand_built_model()
    kernel, bias = model.layers[2].get_weights()
    model.layers[2].set_weights([kernel * 100.0, bias])  # logit ~ 120: sigmoid is exactly 1.0
    x = np.full((1, 4, 4, 1), 0.3, np.float32)
    assert model.predict(x, verbose=0)[0, 0] == 1.0
    heatmap = el.gradcam(model, x, target=1)[0]
    assert np.isfinite(heatmap).all() and heatmap.max() == pytest.approx(1.0)
    assert model.layers[-1].activation.__name__ == "sigmoid"


def test_properties_and_mixed_targets():
    model, *_ = build("simple-binary", seed=7)
    images = np.random.default_rng(3).random((5, 28, 28, 3), dtype=np.float32)
    abnormal = el.gradcam(model, images, target=1)
    normal = el.gradcam(model, images, target=0)
    for maps in (abnormal, normal):
        assert maps.dtype == np.float32 and maps.shape == (5, 28, 28)
        assert np.isfinite(maps).all() and maps.min() >= 0 and maps.max() <= 1
    assert not np.allclose(abnormal, normal)
    mixed = el.gradcam(model, images, target=[1, 0, 1, 0, 0])
    one_by_one = np.stack([el.gradcam(model, image, target=t)[0]
                           for image, t in zip(images, [1, 0, 1, 0, 0])])
    np.testing.assert_allclose(mixed, one_by_one, atol=1e-6)
    predicted = (model.predict(images, verbose=0)[:, 0] >= 0.5).astype(int)
    np.testing.assert_allclose(el.gradcam(model, images), el.gradcam(model, images, target=predicted),
                               atol=1e-6)


def test_compiled_once_for_every_batch_size():
    model, *_ = build("simple-5-class", seed=0)
    engine = cam_engine(model)
    for count in (1, 3, 17, 2):
        engine(np.zeros((count, 28, 28, 3), np.float32), target=[1] * count)
    assert engine._compiled.experimental_get_tracing_count() == 1
    assert cam_engine(model) is engine


def test_lecture_wrapper_semantics():
    model, *_ = build("simple-binary", seed=5)
    image = np.random.default_rng(4).random((1, 28, 28, 3), dtype=np.float32)
    np.testing.assert_array_equal(el.compute_gradcam(model, image), el.gradcam(model, image, target=1)[0])
    np.testing.assert_array_equal(el.compute_gradcam(model, image, class_index=0),
                                  el.gradcam(model, image, target=0)[0])
    assert el.compute_gradcam(model, image[0]).shape == (28, 28)


def test_layer_lookup_and_bad_arguments():
    model, _, path, _ = build("nested-sequential", seed=0)
    assert el.conv_layer_names(model)[-1].endswith("/Conv_1")
    images = np.zeros((2, 28, 28, 3), np.float32)
    by_name = el.gradcam(model, images, layer="block_6_project", target=1)
    np.testing.assert_array_equal(by_name, el.gradcam(model, images, layer=path, target=1))
    with pytest.raises(ValueError, match="no layer 'nope'.*conv layers of this model"):
        el.gradcam(model, images, layer="nope")
    with pytest.raises(ValueError, match="target class must be in 0..3"):
        el.gradcam(model, images, target=4)
    with pytest.raises(ValueError, match="one per image"):
        el.gradcam(model, images, target=[0, 1, 2])
    with pytest.raises(ValueError, match="must have shape"):
        el.gradcam(model, np.zeros((28, 28)))
    with pytest.raises(ValueError, match="method must be one of"):
        el.gradcam(model, images, method="magic")
