"""The explanation methods. Each says only what makes it different.

CAM methods (on a conv layer's activations A and gradients G, shapes (N, h, w, K)):

- Grad-CAM (Selvaraju et al., 2017): w_k = mean_ij G_ijk.
- Grad-CAM++ (Chattopadhay et al., 2018): w_k = sum_ij a_ijk ReLU(G_ijk), with
  a = G^2 / (2 G^2 + sum_ab A_abk G^3).
- XGrad-CAM (Fu et al., 2020): w_k = sum_ij A_ijk G_ijk / sum_ij A_ijk.
- HiResCAM (Draelos & Carin, 2020): map = sum_k G_k * A_k, element-wise.
- LayerCAM (Jiang et al., 2021): map = sum_k ReLU(G_k) * A_k.
- Score-CAM (Wang et al., 2020): w_k = p(class | image x normalised upsampled A_k),
  with every masked image of the batch in one forward pass.
- ShapleyCAM (Cai, 2025): w_k = mean_ij (G - 0.5 H A)_ijk, the gradient plus the
  Hessian-vector term of a second-order Shapley approximation, for the paper's
  ReST score S = z_c + log p_c (the logit plus the log-probability; for a
  single sigmoid unit s + log sigmoid(s) with s = +-z). H A comes from a
  second gradient tape (a forward-over-backward product), one per batch.
- Finer-CAM (Zhang et al., 2025): Grad-CAM of
  S = sum_j p_j (z_c - alpha z_j) / sum_j p_j over the (up to) three classes j
  whose logits are closest to the target's, p = softmax(z), alpha = 1: what
  tells the class apart from the classes it is most easily confused with. For a
  single sigmoid unit the only other class is "the other one", whose logit is
  0 (softmax([0, z]) = sigmoid(z)), so S = +-z and Finer-CAM *is* Grad-CAM;
  alpha != 1 is refused there (only the difference z of the two logits exists).
- KPCA-CAM (Karmani et al., 2024): the first kernel principal component of the
  activations, one (h w, K) point cloud per image: kernel k(a, b) =
  tanh(gamma a.b + 1) with gamma = 1 / K on the centred activations, the
  centred kernel matrix's top eigenvector v times sqrt(lambda), its sign fixed
  so that its largest entry is positive (scikit-learn's KernelPCA, which
  pytorch-grad-cam calls). Class-agnostic: the same map for every target.

Every CAM method but Score-CAM and KPCA-CAM can give the *counterfactual* map
(``counterfactual=True``; Selvaraju et al., 2017, section 5): the same formula on
the negated gradients -G, so it shows the regions whose increase would lower
the class score. For Grad-CAM: ReLU(sum_k w_k A_k) with w_k = mean_ij (-G_ijk).

Pixel-space methods (gradients of the score with respect to the input):

- Saliency (Simonyan et al., 2014): max_c |dS/dx|.
- SmoothGrad (Smilkov et al., 2017): the saliency averaged over noisy copies.
- Integrated Gradients (Sundararajan et al., 2017): |sum_c (x - x0) * mean_t dS/dx(x0 + t (x - x0))|
  against a black baseline x0.
"""
from __future__ import annotations

import math

import tensorflow as tf

from .base import BaseCAM, PixelAttribution

EPSILON = 1e-7


class GradCAM(BaseCAM):
    """Grad-CAM (Selvaraju et al., 2017): w_k = spatial mean of the gradients."""

    name = "gradcam"

    def channel_weights(self, activations, gradients):
        return tf.reduce_mean(gradients, axis=(1, 2))


class GradCAMPlusPlus(BaseCAM):
    name = "gradcam++"

    def channel_weights(self, activations, gradients):
        squared = gradients ** 2
        denominator = 2 * squared + tf.reduce_sum(activations, axis=(1, 2), keepdims=True) * gradients ** 3
        alpha = tf.where(gradients != 0, squared / (denominator + EPSILON), 0.0)
        return tf.reduce_sum(alpha * tf.nn.relu(gradients), axis=(1, 2))


class XGradCAM(BaseCAM):
    name = "xgradcam"

    def channel_weights(self, activations, gradients):
        total = tf.reduce_sum(activations, axis=(1, 2), keepdims=True)
        return tf.reduce_sum(activations / (total + EPSILON) * gradients, axis=(1, 2))


class HiResCAM(BaseCAM):
    name = "hirescam"

    def combine(self, activations, gradients, images, chosen):
        return tf.reduce_sum(gradients * activations, axis=-1)


class LayerCAM(BaseCAM):
    name = "layercam"

    def combine(self, activations, gradients, images, chosen):
        return tf.reduce_sum(tf.nn.relu(gradients) * activations, axis=-1)


class ScoreCAM(BaseCAM):
    name = "scorecam"
    uses_gradients = False
    batch_size = 16  # x K channels masked images per forward pass

    def combine(self, activations, gradients, images, chosen):
        channels = tf.shape(activations)[-1]
        size = tf.shape(images)[1:3]
        upsampled = tf.image.resize(activations, size, method="bilinear")  # (N, H, W, K)
        low = tf.reduce_min(upsampled, axis=(1, 2), keepdims=True)
        high = tf.reduce_max(upsampled, axis=(1, 2), keepdims=True)
        masks = tf.math.divide_no_nan(upsampled - low, high - low)
        masks = tf.transpose(masks, (0, 3, 1, 2))[..., tf.newaxis]  # (N, K, H, W, 1)
        masked = tf.reshape(images[:, tf.newaxis] * masks,
                            tf.concat([[-1], tf.shape(images)[1:]], axis=0))
        repeated = tf.repeat(chosen, channels)
        weights = tf.reshape(self.probabilities(self.logits(masked), repeated), (-1, channels))
        return tf.einsum("nhwk,nk->nhw", activations, weights)


class Saliency(PixelAttribution):
    name = "saliency"

    def attribute(self, images, chosen):
        gradients, _ = self.input_gradients(images, chosen)
        return tf.reduce_max(tf.abs(gradients), axis=-1)


class SmoothGrad(PixelAttribution):
    name = "smoothgrad"
    samples = 16
    noise_level = 0.15  # noise std as a fraction of each image's value range
    batch_size = 32

    def attribute(self, images, chosen):
        spread = tf.reduce_max(images, axis=(1, 2, 3)) - tf.reduce_min(images, axis=(1, 2, 3))
        noisy = tf.repeat(images, self.samples, axis=0)
        sigma = tf.repeat(spread, self.samples)[:, tf.newaxis, tf.newaxis, tf.newaxis] * self.noise_level
        # A fixed seed: the same image always gets the same map.
        noisy += sigma * tf.random.stateless_normal(tf.shape(noisy), seed=(17, 42))
        gradients, _ = self.input_gradients(noisy, tf.repeat(chosen, self.samples))
        saliency = tf.reduce_max(tf.abs(gradients), axis=-1)
        return tf.reduce_mean(tf.reshape(saliency, tf.concat([[-1, self.samples], tf.shape(images)[1:3]], 0)),
                              axis=1)


class IntegratedGradients(PixelAttribution):
    name = "integrated_gradients"
    steps = 32
    batch_size = 16

    def attribute(self, images, chosen):
        fractions = (tf.range(self.steps, dtype=tf.float32) + 0.5) / self.steps  # midpoint rule
        path = images[:, tf.newaxis] * fractions[tf.newaxis, :, tf.newaxis, tf.newaxis, tf.newaxis]
        flat = tf.reshape(path, tf.concat([[-1], tf.shape(images)[1:]], axis=0))
        gradients, _ = self.input_gradients(flat, tf.repeat(chosen, self.steps))
        mean_gradients = tf.reduce_mean(tf.reshape(gradients, tf.shape(path)), axis=1)
        return tf.abs(tf.reduce_sum(images * mean_gradients, axis=-1))


class ShapleyCAM(GradCAM):
    """ShapleyCAM: Grad-CAM's spatial mean of the gradients, corrected by -0.5 H A, for the ReST score."""

    name = "shapleycam"
    batch_size = 128  # the second-order tape keeps both passes' intermediates

    def explained_scores(self, logits, targets):
        scores, chosen = self.scores(logits, targets)
        if self.num_outputs == 1 or self.output_kind == "sigmoid":
            return scores + tf.math.log_sigmoid(scores), chosen
        return scores + tf.gather(tf.nn.log_softmax(logits), chosen, axis=1, batch_dims=1), chosen

    def activations_and_gradients(self, images, targets):
        with tf.GradientTape() as outer:
            outer.watch(images)
            activations, gradients, logits, chosen = super().activations_and_gradients(images, targets)
        # (H A)_i = sum_j A_j d G_j / d A_i, with A held fixed as the vector.
        hessian_times_activations = outer.gradient(
            gradients, activations, output_gradients=tf.stop_gradient(activations),
            unconnected_gradients=tf.UnconnectedGradients.ZERO)
        return activations, gradients - 0.5 * hessian_times_activations, logits, chosen


class FinerCAM(GradCAM):
    """Finer-CAM: Grad-CAM of the target's logit against its closest classes' logits.

    Parameters
    ----------
    alpha : float
        How strongly the compared classes' logits are subtracted (the paper's
        and pytorch-grad-cam's default 1). Only 1 for a single-sigmoid model.
    comparisons : int
        How many of the closest classes are compared (default 3, at most
        classes - 1).

    The softmax weights p_j are differentiated too, as in pytorch-grad-cam's
    ``FinerWeightedTarget``.
    """

    name = "finercam"

    def __init__(self, model, layer=None, counterfactual: bool = False, alpha: float = 1.0,
                 comparisons: int = 3):
        super().__init__(model, layer, counterfactual)
        if self.num_outputs == 1 and alpha != 1:
            raise ValueError(f"finercam on a single-sigmoid model compares 'abnormal' with 'normal', whose "
                             f"logits differ by z: only alpha=1 is defined there, got alpha={alpha!r}")
        if isinstance(comparisons, bool) or not isinstance(comparisons, int) or comparisons < 1:
            raise ValueError(f"comparisons must be a positive integer, got {comparisons!r}")
        self.alpha = float(alpha)
        self.comparisons = min(comparisons, max(1, self.num_outputs - 1))

    def explained_scores(self, logits, targets):
        scores, chosen = self.scores(logits, targets)
        if self.num_outputs == 1:
            return scores, chosen  # z - 0 for abnormal, 0 - z for normal: the logit difference
        # The classes whose logits are closest to the target's (the target itself excluded).
        distance = tf.abs(logits - scores[:, tf.newaxis])
        distance = tf.where(tf.one_hot(chosen, self.num_outputs) > 0, float("inf"), distance)
        closest = tf.math.top_k(-distance, k=self.comparisons).indices
        weights = tf.gather(tf.nn.softmax(logits), closest, batch_dims=1)
        compared = tf.gather(logits, closest, batch_dims=1)
        difference = tf.reduce_sum(weights * (scores[:, tf.newaxis] - self.alpha * compared), axis=1)
        return difference / (tf.reduce_sum(weights, axis=1) + 1e-9), chosen


class KPCACAM(BaseCAM):
    """KPCA-CAM: the first kernel principal component of each image's activations.

    Parameters
    ----------
    kernel : {'sigmoid', 'linear'}
        The kernel (the paper's and pytorch-grad-cam's default 'sigmoid';
        'linear' gives the first principal component, i.e. Eigen-CAM).
    gamma : float, optional
        Kernel coefficient; default 1 / channels (scikit-learn's).

    Notes
    -----
    The eigendecomposition is cubic in the grid's points, so a grid of more than
    :attr:`max_points` is average-pooled to at most that many first and the
    component upsampled back (bilinear): the lecture CNN's last grid at 224 px
    has 109 x 109 points, minutes and 0.5 GB per image unpooled.
    """

    name = "kpcacam"
    uses_gradients = False
    batch_size = 64  # one (h w) x (h w) kernel matrix and its eigendecomposition per image
    KERNELS = ("sigmoid", "linear")
    max_points = 1024

    def __init__(self, model, layer=None, counterfactual: bool = False, kernel: str = "sigmoid",
                 gamma=None):
        if kernel not in self.KERNELS:
            raise ValueError(f"kernel must be one of {self.KERNELS}, got {kernel!r}")
        if gamma is not None and not float(gamma) > 0:
            raise ValueError(f"gamma must be positive, got {gamma!r}")
        self.kernel, self.gamma = kernel, gamma
        super().__init__(model, layer, counterfactual)

    def activations_and_gradients(self, images, targets):
        activations, logits = self._tap(images)  # no gradients: no backward pass
        return activations, None, logits, self.scores(logits, targets)[1]

    def kernel_matrix(self, points):
        """(N, n, n) kernel of (N, n, K) points."""
        gamma = self.gamma or 1.0 / float(points.shape[-1])
        inner = tf.matmul(points, points, transpose_b=True)
        return inner if self.kernel == "linear" else tf.tanh(gamma * inner + 1.0)

    def pooled(self, activations):
        """Activations average-pooled to at most :attr:`max_points` grid points."""
        height, width = activations.shape[1:3]
        factor = math.ceil(math.sqrt(height * width / self.max_points))
        return activations if factor == 1 else tf.nn.avg_pool2d(activations, factor, factor, "SAME")

    def combine(self, activations, gradients, images, chosen):
        grid = activations.shape[1:3]
        activations = self.pooled(activations)
        shape = tf.shape(activations)
        points = tf.reshape(activations, (shape[0], shape[1] * shape[2], activations.shape[-1]))
        points -= tf.reduce_mean(points, axis=1, keepdims=True)
        kernel = self.kernel_matrix(points)
        # Centre the kernel in feature space: K - 1K - K1 + 1K1, with 1 = ones / n.
        kernel -= tf.reduce_mean(kernel, axis=1, keepdims=True)
        kernel -= tf.reduce_mean(kernel, axis=2, keepdims=True)
        values, vectors = tf.linalg.eigh(kernel)  # ascending
        top = vectors[:, :, -1]
        largest = tf.gather(top, tf.argmax(tf.abs(top), axis=1), batch_dims=1)
        sign = tf.where(largest < 0, -1.0, 1.0)
        projection = top * (sign * tf.sqrt(tf.nn.relu(values[:, -1])))[:, tf.newaxis]
        component = tf.reshape(projection, shape[:3])
        if activations.shape[1:3] == grid:
            return component
        return tf.image.resize(component[..., tf.newaxis], grid, method="bilinear")[..., 0]
