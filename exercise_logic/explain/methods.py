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

Every CAM method but Score-CAM can give the *counterfactual* map
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
