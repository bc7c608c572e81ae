"""Every explanation method against its published formula, done image by image."""
import keras
import numpy as np
import pytest
import tensorflow as tf

import exercise_logic as el
from exercise_logic.explain.methods import SmoothGrad
from cam_reference import flat_tap, hand_built_model


def activations_and_gradients(model, image, target):
    """A, G (h, w, K) of the last conv layer, and the score, for one image of a binary model."""
    tap = flat_tap(model, "last_conv_layer")
    head = model.layers[-1]
    x = tf.constant(image[np.newaxis])
    with tf.GradientTape() as tape:
        conv, features = tap(x)
        tape.watch(conv)
        z = (tf.matmul(features, head.kernel) + head.bias)[0, 0]
        score = z if target == 1 else -z
    return conv[0].numpy().astype(np.float64), tape.gradient(score, conv)[0].numpy().astype(np.float64)


def finish(cam, size):
    """ReLU, divide by max, bilinear upsampling: the shared contract."""
    cam = np.maximum(cam, 0)
    if cam.max() > 0:
        cam = cam / cam.max()
    return tf.image.resize(cam[..., None].astype(np.float32), size).numpy()[..., 0]


def grad_cam_pp(A, G):
    alpha = G ** 2 / (2 * G ** 2 + A.sum(axis=(0, 1)) * G ** 3 + 1e-7)
    alpha[G == 0] = 0
    return (A * (alpha * np.maximum(G, 0)).sum(axis=(0, 1))).sum(-1)


def x_grad_cam(A, G):
    return (A * (A / (A.sum(axis=(0, 1)) + 1e-7) * G).sum(axis=(0, 1))).sum(-1)


FORMULAS = {
    "gradcam": lambda A, G: (A * G.mean(axis=(0, 1))).sum(-1),
    "gradcam++": grad_cam_pp,
    "xgradcam": x_grad_cam,
    "hirescam": lambda A, G: (A * G).sum(-1),
    "layercam": lambda A, G: (A * np.maximum(G, 0)).sum(-1),
}


@pytest.fixture(scope="module")
def binary_model():
    keras.utils.set_random_seed(11)
    return el.build_model((28, 28, 3), 1)


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(5).random((4, 28, 28, 3), dtype=np.float32)


@pytest.mark.parametrize("method", sorted(FORMULAS))
def test_gradient_cam_methods_match_their_formulas(method, binary_model, images):
    targets = [1, 0, 1, 0]
    maps = el.gradcam(binary_model, images, target=targets, method=method)
    for image, target, heatmap in zip(images, targets, maps):
        A, G = activations_and_gradients(binary_model, image, target)
        np.testing.assert_allclose(heatmap, finish(FORMULAS[method](A, G), (28, 28)), atol=2e-5)


def test_score_cam_matches_one_masked_image_per_forward_pass(binary_model, images):
    maps = el.gradcam(binary_model, images[:2], target=[1, 0], method="scorecam")
    for image, target, heatmap in zip(images[:2], [1, 0], maps):
        A, _ = activations_and_gradients(binary_model, image, target)
        weights = []
        for k in range(A.shape[-1]):
            mask = tf.image.resize(A[..., k:k + 1].astype(np.float32), (28, 28)).numpy()
            span = mask.max() - mask.min()
            mask = (mask - mask.min()) / span if span > 0 else np.zeros_like(mask)
            p = float(binary_model(image[np.newaxis] * mask, training=False)[0, 0])
            weights.append(p if target == 1 else 1 - p)
        np.testing.assert_allclose(heatmap, finish((A * np.array(weights)).sum(-1), (28, 28)), atol=1e-4)


def input_gradient(model, image, target):
    x = tf.constant(image[np.newaxis])
    with tf.GradientTape() as tape:
        tape.watch(x)
        head = model.layers[-1]
        features = x
        for layer in model.layers[:-1]:
            features = layer(features, training=False)
        z = (tf.matmul(features, head.kernel) + head.bias)[0, 0]
        score = z if target == 1 else -z
    return tape.gradient(score, x)[0].numpy(), float(score)


def test_pixel_methods_match_their_formulas(binary_model, images):
    saliency = el.gradcam(binary_model, images[:2], target=[1, 0], method="saliency")
    ig = el.gradcam(binary_model, images[:2], target=[1, 0], method="integrated_gradients")
    for index, target in enumerate([1, 0]):
        gradient, score = input_gradient(binary_model, images[index], target)
        expected = np.abs(gradient).max(axis=-1)
        np.testing.assert_allclose(saliency[index], expected / expected.max(), atol=1e-5)
        steps = [input_gradient(binary_model, images[index] * (t + 0.5) / 32, target)[0] for t in range(32)]
        attribution = (images[index] * np.mean(steps, axis=0)).sum(-1)
        # completeness: attributions add up to score(x) - score(black baseline)
        baseline = input_gradient(binary_model, np.zeros_like(images[index]), target)[1]
        assert attribution.sum() == pytest.approx(score - baseline, rel=0.05, abs=0.05)
        np.testing.assert_allclose(ig[index], np.abs(attribution) / np.abs(attribution).max(), atol=1e-4)


def test_smoothgrad_without_noise_is_saliency_and_is_deterministic(binary_model, images):
    quiet = SmoothGrad(binary_model)
    quiet.noise_level = 0.0
    np.testing.assert_allclose(quiet(images, target=1), el.gradcam(binary_model, images, target=1,
                                                                   method="saliency"), atol=1e-5)
    first = el.gradcam(binary_model, images, method="smoothgrad")
    np.testing.assert_array_equal(first, el.gradcam(binary_model, images, method="smoothgrad"))
    assert not np.allclose(first, el.gradcam(binary_model, images, method="saliency"))


@pytest.mark.parametrize("method", sorted(set(el.CAM_METHODS) - {"kpcacam"}))  # class-agnostic: below
def test_hand_built_model_known_answer(method):
    """Both channels equal x, gradients +1 and -0.5: every class-weighting CAM method must return x / max(x)."""
    model = hand_built_model()
    x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1) / 20.0 + 0.05
    heatmap = el.gradcam(model, x, layer="conv", target=1, method=method)[0]
    np.testing.assert_allclose(heatmap, x[0, ..., 0] / x.max(), atol=1e-5)


@pytest.mark.parametrize("method", sorted(el.METHODS))
def test_every_method_keeps_the_map_contract(method, images):
    keras.utils.set_random_seed(2)
    model = el.build_model((28, 28, 3), 4, "deeper")
    maps, logits, explained = el.cam_engine(model, method=method).explain(images, target=[0, 1, 2, 3])
    assert maps.shape == (4, 28, 28) and maps.dtype == np.float32 and logits.shape == (4, 4)
    assert np.isfinite(maps).all() and maps.min() >= 0 and maps.max() <= 1
    assert explained.tolist() == [0, 1, 2, 3]


@pytest.mark.parametrize("method", sorted(set(el.explain.COUNTERFACTUAL_METHODS) & set(FORMULAS)))
def test_counterfactual_maps_match_their_formula_on_negated_gradients(method, binary_model, images):
    """Selvaraju et al.'s counterfactual explanation: the method's formula with -G."""
    targets = [1, 0, 1, 0]
    maps = el.gradcam(binary_model, images, target=targets, method=method, counterfactual=True)
    for image, target, heatmap in zip(images, targets, maps):
        A, G = activations_and_gradients(binary_model, image, target)
        np.testing.assert_allclose(heatmap, finish(FORMULAS[method](A, -G), (28, 28)), atol=2e-5)


@pytest.mark.parametrize("method", sorted(el.explain.COUNTERFACTUAL_METHODS))
def test_counterfactual_of_normal_on_the_hand_built_model(method):
    """"normal" (score -z) has gradients (-1, +0.5): the linear methods' map is all zero, and
    every counterfactual map (gradients (1, -0.5)) is x / max(x): where more x lowers "normal"."""
    model = hand_built_model()
    x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1) / 20.0 + 0.05
    if method in ("gradcam", "xgradcam", "hirescam"):  # LayerCAM and Grad-CAM++ keep ReLU(G) > 0
        assert el.gradcam(model, x, layer="conv", target=0, method=method).max() == 0
    counterfactual = el.gradcam(model, x, layer="conv", target=0, method=method, counterfactual=True)[0]
    np.testing.assert_allclose(counterfactual, x[0, ..., 0] / x.max(), atol=1e-5)


def test_counterfactual_is_refused_where_it_is_not_defined(binary_model, images):
    assert not {"scorecam", "kpcacam"} & set(el.explain.COUNTERFACTUAL_METHODS)  # no gradients
    assert not set(el.PIXEL_METHODS) & set(el.explain.COUNTERFACTUAL_METHODS)
    for method in ("scorecam", "kpcacam", "saliency"):
        with pytest.raises(ValueError, match="counterfactual"):
            el.gradcam(binary_model, images, method=method, counterfactual=True)


def test_blank_maps_all_zero_and_negligible():
    """Blank: no positive evidence (all zero) or a positive part under 0.1% of the negative one."""
    model = hand_built_model()
    x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1) / 20.0 + 0.05
    assert el.explain.blank_maps(model, x, "conv", target=0).tolist() == [True]
    assert el.explain.blank_maps(model, x, "conv", target=1).tolist() == [False]
    assert el.explain.blank_maps(model, x, "conv", target=0, counterfactual=True).tolist() == [False]
    # One pixel with a tiny positive value next to strongly negative ones: the normalised map is
    # not all zero (its peak is 1), yet the evidence is negligible.
    nearly = x.copy()
    nearly[0, 0, 0, 0] = -1e-5      # "normal" = ReLU(-0.5 x): positive only where x < 0
    assert el.gradcam(model, nearly, layer="conv", target=0).max() == pytest.approx(1.0)
    assert el.explain.blank_maps(model, nearly, "conv", target=0).tolist() == [True]
    nearly[0, 0, 0, 0] = -0.01      # a real (if small) positive region is not blank
    assert el.explain.blank_maps(model, nearly, "conv", target=0).tolist() == [False]
    # Pixel methods: blank only when all zero.
    assert el.explain.blank_maps(model, x, None, target=1, method="saliency").tolist() == [False]
