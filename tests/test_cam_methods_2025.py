"""ShapleyCAM, Finer-CAM and KPCA-CAM against their papers' formulas, image by image.

The hand-made models end in global average pooling and one Dense layer, so
the logits are z = W^T mean_ij A_ij + b and every formula has a closed form.
"""
import keras
import numpy as np
import pytest
import tensorflow as tf

import exercise_logic as el
from exercise_logic.explain.methods import FinerCAM, KPCACAM
from cam_reference import hand_built_model


def gap_model(classes, seed, scale=3.0):
    """8x8x3 -> Conv2D(5, 3, relu) 'conv' -> GAP -> Dense(classes) (sigmoid for 1, else softmax)."""
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(5, 3, activation="relu", name="conv"),
                              keras.layers.GlobalAveragePooling2D(),
                              keras.layers.Dense(classes, activation="sigmoid" if classes == 1 else "softmax")])
    kernel, bias = model.layers[-1].get_weights()
    rng = np.random.default_rng(seed)
    model.layers[-1].set_weights([scale * rng.standard_normal(kernel.shape).astype(np.float32),
                                  rng.standard_normal(bias.shape).astype(np.float32)])
    return model


def images_of(count, seed=0):
    return np.random.default_rng(seed).random((count, 8, 8, 3), dtype=np.float32)


def activations(model, images):
    """A (N, 6, 6, 5) of the conv layer, float64."""
    return model.layers[0](images).numpy().astype(np.float64)


def finish(cam, size=(8, 8)):
    cam = np.maximum(cam, 0)
    if cam.max() > 0:
        cam = cam / cam.max()
    return tf.image.resize(cam[..., None].astype(np.float32), size).numpy()[..., 0]


def head(model):
    kernel, bias = (weight.astype(np.float64) for weight in model.layers[-1].get_weights())
    return kernel, bias


def softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


# --- ShapleyCAM ---------------------------------------------------------------------------

def test_shapleycam_matches_gradient_minus_half_hessian_times_activations_multiclass():
    """ReST S = z_c + log p_c: G = J^T (2 e_c - p) and H A = -J^T (diag p - p p^T) J A, with J A = z - b."""
    model = gap_model(4, seed=1)
    images = images_of(4)
    targets = [0, 1, 2, 3]
    maps = el.gradcam(model, images, layer="conv", target=targets, method="shapleycam")
    kernel, bias = head(model)
    differs = 0.0
    for A, target, heatmap in zip(activations(model, images), targets, maps):
        positions = A.shape[0] * A.shape[1]
        z = A.mean(axis=(0, 1)) @ kernel + bias
        p = softmax(z)
        e = np.eye(4)[target]
        gradient = kernel @ (2 * e - p) / positions                        # dS/dA_ijk, same at every ij
        hessian_times_a = -kernel @ ((np.diag(p) - np.outer(p, p)) @ (z - bias)) / positions
        weights = gradient - 0.5 * hessian_times_a
        np.testing.assert_allclose(heatmap, finish((A * weights).sum(-1)), atol=2e-5)
        differs = max(differs, np.abs(heatmap - finish((A * kernel[:, target]).sum(-1))).max())
    assert differs > 0.05  # the Hessian term matters: ShapleyCAM is not Grad-CAM here


def test_shapleycam_on_a_single_sigmoid_uses_rest_of_the_signed_logit():
    """s = +-z; S = s + log sigmoid(s): G = (1 + sigmoid(-s)) ds/dA, H A = -sigmoid(s) sigmoid(-s) (s - b) ds/dA."""
    model = gap_model(1, seed=2)
    images = images_of(4, seed=3)
    targets = [1, 0, 1, 0]
    engine = el.cam_engine(model, "conv", "shapleycam")
    # The raw weights before normalising: compare the signed maps of the engine itself.
    signed = engine._signed_maps(tf.constant(images), tf.constant(targets, tf.int32))[0].numpy()
    kernel, bias = head(model)
    for A, target, cam in zip(activations(model, images), targets, signed):
        sign = 1.0 if target == 1 else -1.0
        positions = A.shape[0] * A.shape[1]
        s = sign * (A.mean(axis=(0, 1)) @ kernel[:, 0] + bias[0])
        ds = sign * kernel[:, 0] / positions
        weights = (1 + sigmoid(-s)) * ds + 0.5 * sigmoid(s) * sigmoid(-s) * (s - sign * bias[0]) * ds
        np.testing.assert_allclose(cam, (A * weights).sum(-1), rtol=1e-4, atol=1e-6)


def test_shapleycam_hessian_term_by_finite_differences_on_the_lecture_cnn():
    """The lecture CNN (Flatten, Dense-ReLU, Dense): H A = (G(A + eA) - G(A - eA)) / 2e, found without nested tapes."""
    keras.utils.set_random_seed(11)
    model = el.build_model((28, 28, 3), 1)
    images = np.random.default_rng(5).random((2, 28, 28, 3), dtype=np.float32)
    names = [layer.name for layer in model.layers]
    cut = names.index("last_conv_layer") + 1
    final = model.layers[-1]

    def rest_gradient(A):
        A = tf.constant(A, tf.float32)
        with tf.GradientTape() as tape:
            tape.watch(A)
            features = A
            for layer in model.layers[cut:-1]:
                features = layer(features, training=False)
            z = (tf.matmul(features, final.kernel) + final.bias)[0, 0]
            score = z + tf.math.log_sigmoid(z)   # abnormal
        return tape.gradient(score, A).numpy().astype(np.float64)

    maps = el.gradcam(model, images, target=1, method="shapleycam")
    for image, heatmap in zip(images, maps):
        A = image[np.newaxis]
        for layer in model.layers[:cut]:
            A = layer(A, training=False)
        A = A.numpy().astype(np.float64)
        step = 1e-2
        hessian_times_a = (rest_gradient(A * (1 + step)) - rest_gradient(A * (1 - step))) / (2 * step)
        weights = (rest_gradient(A) - 0.5 * hessian_times_a).mean(axis=(1, 2))[0]
        np.testing.assert_allclose(heatmap, finish((A[0] * weights).sum(-1), (28, 28)), atol=1e-3)


# --- Finer-CAM ----------------------------------------------------------------------------

def test_finercam_matches_its_weighted_logit_difference():
    """S = sum_j p_j (z_c - alpha z_j) / sum_j p_j over the 3 classes with the closest logits."""
    model = gap_model(6, seed=4)
    images = images_of(6, seed=5)
    targets = [0, 1, 2, 3, 4, 5]
    kernel, bias = head(model)
    for alpha in (1.0, 0.6):
        engine = FinerCAM(model, "conv", alpha=alpha)
        maps = engine(images, targets)
        for A, target, heatmap in zip(activations(model, images), targets, maps):
            positions = A.shape[0] * A.shape[1]
            z = A.mean(axis=(0, 1)) @ kernel + bias
            p = softmax(z)
            order = [j for j in np.argsort(np.abs(z - z[target]), kind="stable") if j != target][:3]
            weights = p[order]
            score_gradient = np.zeros(6)                   # dS/dz by hand, softmax weights included
            dp = np.diag(p) - np.outer(p, p)               # dp_i / dz_l
            numerator = np.sum(weights * (z[target] - alpha * z[order]))
            total = weights.sum()
            for l in range(6):
                d_numerator = sum(dp[j, l] * (z[target] - alpha * z[j]) + p[j] * ((l == target) - alpha * (l == j))
                                  for j in order)
                d_total = sum(dp[j, l] for j in order)
                score_gradient[l] = (d_numerator * total - numerator * d_total) / total ** 2
            channel_weights = kernel @ score_gradient / positions
            np.testing.assert_allclose(heatmap, finish((A * channel_weights).sum(-1)), atol=2e-5)


def test_finercam_of_a_single_sigmoid_is_gradcam_and_refuses_other_alphas():
    model = gap_model(1, seed=6)
    images = images_of(4, seed=7)
    finer, grad = el.cam_engine(model, "conv", "finercam"), el.cam_engine(model, "conv", "gradcam")
    for target in (0, 1):
        targets = tf.constant([target] * 4, tf.int32)
        # The same signed map, before normalising (which would hide a positive rescaling).
        np.testing.assert_allclose(finer._signed_maps(tf.constant(images), targets)[0].numpy(),
                                   grad._signed_maps(tf.constant(images), targets)[0].numpy(), atol=1e-6)
        np.testing.assert_allclose(el.gradcam(model, images, "conv", target, method="finercam"),
                                   el.gradcam(model, images, "conv", target), atol=1e-6)
    with pytest.raises(ValueError, match="alpha=1"):
        FinerCAM(model, "conv", alpha=0.5)
    with pytest.raises(ValueError, match="comparisons"):
        FinerCAM(gap_model(3, seed=6), "conv", comparisons=0)
    # Two classes: the one other class is the comparison, so S = z_c - z_other exactly.
    pair = gap_model(2, seed=8)
    kernel, bias = head(pair)
    maps = el.gradcam(pair, images, "conv", [0, 1, 0, 1], method="finercam")
    for A, target, heatmap in zip(activations(pair, images), [0, 1, 0, 1], maps):
        difference = kernel[:, target] - kernel[:, 1 - target]
        np.testing.assert_allclose(heatmap, finish((A * difference).sum(-1)), atol=2e-5)


# --- KPCA-CAM -----------------------------------------------------------------------------

def kpca_reference(A, kernel="sigmoid"):
    """scikit-learn's KernelPCA(n_components=1).fit_transform on the centred (h w, K) activations."""
    points = A.reshape(-1, A.shape[-1])
    points = points - points.mean(axis=0)
    inner = points @ points.T
    matrix = np.tanh(inner / points.shape[1] + 1) if kernel == "sigmoid" else inner
    n = len(matrix)
    centring = np.eye(n) - np.full((n, n), 1 / n)
    values, vectors = np.linalg.eigh(centring @ matrix @ centring)
    top = vectors[:, -1] * np.sign(vectors[np.argmax(np.abs(vectors[:, -1])), -1])  # svd_flip
    return (top * np.sqrt(max(values[-1], 0))).reshape(A.shape[:2]), values


def test_kpcacam_is_the_first_kernel_principal_component():
    model = gap_model(3, seed=9)
    images = images_of(6, seed=10)
    maps = el.gradcam(model, images, "conv", 0, method="kpcacam")
    np.testing.assert_array_equal(maps, el.gradcam(model, images, "conv", 2, method="kpcacam"))  # class-agnostic
    for A, heatmap in zip(activations(model, images), maps):
        projection, values = kpca_reference(A)
        assert values[-1] - values[-2] > 1e-3 * values[-1]  # a unique top component
        np.testing.assert_allclose(heatmap, finish(projection), atol=1e-4)


def test_kpcacam_with_a_linear_kernel_on_the_hand_built_model():
    """Both channels equal x: the first principal component is x - mean(x), so the map is ReLU(x - mean) / max."""
    model = hand_built_model()
    x = (np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1) / 16.0) ** 2 + 0.05  # skewed: its peak is positive
    heatmap = KPCACAM(model, "conv", kernel="linear")(x, 1)[0]
    expected = np.maximum(x[0, ..., 0] - x.mean(), 0)
    np.testing.assert_allclose(heatmap, expected / expected.max(), atol=1e-5)
    with pytest.raises(ValueError, match="kernel"):
        KPCACAM(model, "conv", kernel="poly")
    with pytest.raises(ValueError, match="gamma"):
        KPCACAM(model, "conv", gamma=0)


def test_kpcacam_pools_a_grid_larger_than_its_limit_and_upsamples_the_component():
    """Above ``max_points`` grid points, the component of the average-pooled activations, upsampled."""
    class SmallLimit(KPCACAM):
        max_points = 9  # the 6x6 grid is pooled 2x2 to 3x3, as 224 px's 109x109 is pooled 4x4
    model = gap_model(1, seed=11)
    images = images_of(3, seed=12)
    maps = SmallLimit(model, "conv")(images, 1)
    assert not np.allclose(maps, KPCACAM(model, "conv")(images, 1), atol=1e-3)
    for A, heatmap in zip(activations(model, images), maps):
        pooled = A.reshape(3, 2, 3, 2, A.shape[-1]).mean(axis=(1, 3))
        projection, _ = kpca_reference(pooled)
        upsampled = tf.image.resize(projection[..., None].astype(np.float32), (6, 6)).numpy()[..., 0]
        np.testing.assert_allclose(heatmap, finish(upsampled), atol=1e-4)


def test_kpcacam_keeps_the_lecture_cnns_224_px_grid_within_its_limit():
    engine = KPCACAM(el.build_model((224, 224, 1), 1))
    grid = engine.model.get_layer(engine.layer).output.shape[1:3]  # 109 x 109
    pooled = engine.pooled(tf.zeros((1, *grid, 4)))
    assert grid[0] * grid[1] > KPCACAM.max_points >= pooled.shape[1] * pooled.shape[2] > KPCACAM.max_points / 4
