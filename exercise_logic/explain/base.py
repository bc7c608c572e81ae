"""The shared machinery of every explanation method.

:class:`Explainer` does the work every method shares: resolve the layer, pick
one score per image (the logit of its target class), run the whole batch
through one compiled ``tf.function`` and return maps in [0, 1].

:class:`BaseCAM` adds what every class-activation-map method shares: the
activations ``A`` and gradients ``G`` of a conv layer from one gradient tape,
ReLU, normalising each map by its max and bilinear upsampling to the input
size. A CAM method only says how it weights the channels
(:meth:`BaseCAM.channel_weights`) or, if it needs more, how it combines ``A``
and ``G`` (:meth:`BaseCAM.combine`).

:class:`PixelAttribution` does the same for methods that differentiate the
score with respect to the input pixels. The methods live in :mod:`.methods`,
the registry and public functions in :mod:`.api`.
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf

from ..streaming import as_images, image_batches, scaled_batch_size
from .layers import build_tap, output_kind, resolve_layer


class Explainer:
    """Shared machinery: targets, scores, compilation and batching.

    Parameters
    ----------
    model : keras.Model
        A built model (Sequential, functional or with a nested base model).
    layer : str, optional
        Name or path (``base/conv``) of the conv layer; default the last one.
    """

    name = "base"
    # Images per compiled call for images up to 64 px (proportionally fewer for
    # larger ones, see exercise_logic.streaming.scaled_batch_size); methods
    # with many passes per image use fewer.
    batch_size = 256

    def __init__(self, model, layer=None):
        self.model = model
        self.layer = resolve_layer(model, layer)
        self.output_kind = output_kind(model)
        self.num_outputs = int(model.outputs[0].shape[-1])
        self._tap = build_tap(model, self.layer)
        input_shape = tuple(model.inputs[0].shape[1:])
        self._compiled = tf.function(
            self._maps_and_logits,
            input_signature=[tf.TensorSpec((None,) + input_shape, tf.float32),
                             tf.TensorSpec((None,), tf.int32)])

    def _maps_and_logits(self, images, targets):
        """Compiled: (maps (N, H, W) in [0, 1], logits (N, outputs), explained class (N,))."""
        raise NotImplementedError

    def logits(self, images):
        """Logits of the model for a batch (inside a compiled function)."""
        return self._tap(images)[1]

    def scores(self, logits, targets):
        """The score to explain per image, and the class it explains.

        A target of -1 means the predicted class. For a single sigmoid unit,
        1 (abnormal) explains the logit z and 0 (normal) explains -z.
        """
        if self.num_outputs == 1:
            z = logits[:, 0]
            chosen = tf.where(targets < 0, tf.cast(z >= 0, tf.int32), targets)
            return tf.where(chosen == 0, -z, z), chosen
        chosen = tf.where(targets < 0, tf.argmax(logits, axis=-1, output_type=tf.int32), targets)
        return tf.gather(logits, chosen, axis=1, batch_dims=1), chosen

    def probabilities(self, logits, chosen):
        """The model's probability of the chosen class (for perturbation methods)."""
        if self.num_outputs == 1 or self.output_kind == "sigmoid":
            signed = self.scores(logits, chosen)[0]
            return tf.sigmoid(signed)
        return tf.gather(tf.nn.softmax(logits), chosen, axis=1, batch_dims=1)

    def explain_batches(self, images, target=None, batch_size=None):
        """Explain batch by batch: yield ``(slice, maps, logits, targets)`` per batch.

        Only one batch of float32 images and maps exists at a time, so a
        consumer that reduces each batch (a score per image, a statistic)
        explains a split of any size in the memory of one batch.

        Parameters
        ----------
        images : StreamedImages or array-like of float32, shape (N, H, W, C) or (H, W, C)
            A split's streamed images are converted one batch at a time.
        target : None, int or sequence of int
            As for :func:`exercise_logic.gradcam`.
        batch_size : int, optional
            Images per compiled call (default :attr:`batch_size`, scaled down
            for images over 64 px).

        Yields
        ------
        part : slice
            The images of this batch.
        maps : ndarray of float32, shape (n, H, W), values in [0, 1]
        logits : ndarray of float32, shape (n, outputs)
        targets : ndarray of int32, shape (n,)
        """
        images = as_images(images)
        targets = self._targets(target, len(images))
        step = batch_size or scaled_batch_size(self.batch_size, images.shape[1:3])
        for part, batch in image_batches(images, step):
            maps, logits, chosen = self._compiled(tf.constant(batch), tf.constant(targets[part]))
            yield part, maps.numpy(), logits.numpy(), chosen.numpy()

    def explain(self, images, target=None, batch_size=None):
        """Maps, logits and the target class actually explained, per image.

        ``images`` as for :meth:`explain_batches`; the maps of all images are
        returned together (4 bytes per pixel).

        Returns
        -------
        maps : ndarray of float32, shape (N, H, W), values in [0, 1]
        logits : ndarray of float32, shape (N, outputs)
        targets : ndarray of int32, shape (N,)
        """
        images = as_images(images)
        results = [outputs for _, *outputs in self.explain_batches(images, target, batch_size)]
        if not results:
            height, width = images.shape[1:3]
            return (np.zeros((0, height, width), np.float32),
                    np.zeros((0, self.num_outputs), np.float32), np.zeros(0, np.int32))
        return tuple(np.concatenate([part[i] for part in results]) for i in range(3))

    def __call__(self, images, target=None, batch_size=None):
        return self.explain(images, target, batch_size)[0]

    def _targets(self, target, count):
        classes = 2 if self.num_outputs == 1 else self.num_outputs
        values = class_indices(target, count, classes)
        return np.full(count, -1, np.int32) if values is None else values


def class_indices(target, count: int, classes: int):
    """Validate a ``target`` argument: None, one class index, or one per image.

    Returns None for None, else an int32 array of shape (count,).
    """
    if target is None:
        return None
    values = np.asarray(target)
    if values.ndim == 0:
        values = np.full(count, values)
    if values.shape != (count,):
        raise ValueError(f"target must be None, one class index or one per image "
                         f"({count}), got shape {values.shape}")
    if not np.issubdtype(values.dtype, np.integer) and not all(float(v).is_integer() for v in values):
        raise ValueError(f"target must hold class indices (integers), got {values!r}")
    values = values.astype(np.int32)
    if values.size and (values.min() < 0 or values.max() >= classes):
        raise ValueError(f"target class must be in 0..{classes - 1} for this model, got {values.tolist()}")
    return values


def normalise_by_max(maps):
    """Divide each (N, h, w) map by its max; an all-zero map stays zero, never NaN."""
    return tf.math.divide_no_nan(maps, tf.reduce_max(maps, axis=(1, 2), keepdims=True))


class BaseCAM(Explainer):
    """Shared work of class-activation-map methods on a conv layer.

    Parameters
    ----------
    counterfactual : bool
        Explain with the negated gradients -G (Selvaraju et al., 2017, section 5):
        the regions whose increase would *lower* the class score. Only for
        methods whose map follows the gradients (:attr:`uses_gradients`).
    """

    #: Whether the map is built from the gradients G (so that -G gives the counterfactual map).
    uses_gradients = True

    def __init__(self, model, layer=None, counterfactual: bool = False):
        if counterfactual and not self.uses_gradients:
            raise ValueError(f"{self.name} does not use gradients, so it has no counterfactual map; "
                             "use a gradient-based CAM method such as 'gradcam'")
        self.counterfactual = bool(counterfactual)
        super().__init__(model, layer)
        self._compiled_evidence = None

    def channel_weights(self, activations, gradients):
        """Per-image channel weights, shape (N, K), from A and G of shape (N, h, w, K)."""
        raise NotImplementedError

    def combine(self, activations, gradients, images, chosen):
        """The map before ReLU, shape (N, h, w): by default sum_k weight_k A_k."""
        return tf.einsum("nhwk,nk->nhw", activations, self.channel_weights(activations, gradients))

    def explained_scores(self, logits, targets):
        """The score whose gradients the map follows, and the explained class: ((N,), (N,)).

        By default the target's logit (:meth:`Explainer.scores`); a method
        explaining another function of the logits overrides this.
        """
        return self.scores(logits, targets)

    def activations_and_gradients(self, images, targets):
        """A, G = dS/dA (both (N, h, w, K)), logits and explained class, from one gradient tape."""
        with tf.GradientTape() as tape:
            # Watch the input: a frozen base has no trainable variables to record.
            tape.watch(images)
            activations, logits = self._tap(images)
            scores, chosen = self.explained_scores(logits, targets)
        # Each score depends on its own image only, so the gradient of their sum
        # gives every image its own gradients in one backward pass.
        return activations, tape.gradient(scores, activations), logits, chosen

    def _signed_maps(self, images, targets):
        """The maps before ReLU at the layer's resolution (N, h, w), logits and explained class."""
        activations, gradients, logits, chosen = self.activations_and_gradients(images, targets)
        if self.counterfactual:
            gradients = -gradients
        return self.combine(activations, gradients, images, chosen), logits, chosen

    def evidence(self, images, target=None):
        """How much positive evidence each map has, before ReLU and normalising.

        Returns ``max(ReLU(L)) / max|L|`` of the map ``L`` before ReLU, per image:
        0 when ReLU leaves nothing (an all-zero map), tiny when what it leaves is
        negligible next to the negative evidence; ndarray of float32, shape (N,).
        """
        if self._compiled_evidence is None:
            def ratio(images, targets):
                signed = self._signed_maps(images, targets)[0]
                return tf.math.divide_no_nan(tf.reduce_max(tf.nn.relu(signed), axis=(1, 2)),
                                             tf.reduce_max(tf.abs(signed), axis=(1, 2)))
            self._compiled_evidence = tf.function(ratio, input_signature=self._compiled.input_signature)
        images = as_images(images)
        targets = self._targets(target, len(images))
        ratios = [self._compiled_evidence(tf.constant(batch), tf.constant(targets[part])).numpy()
                  for part, batch in image_batches(images, scaled_batch_size(self.batch_size, images.shape[1:3]))]
        return np.concatenate(ratios) if ratios else np.zeros(0, np.float32)

    def _maps_and_logits(self, images, targets):
        signed, logits, chosen = self._signed_maps(images, targets)
        raw = tf.nn.relu(signed)
        upsampled = tf.image.resize(normalise_by_max(raw)[..., tf.newaxis], tf.shape(images)[1:3],
                                    method="bilinear")[..., 0]
        return tf.clip_by_value(upsampled, 0.0, 1.0), logits, chosen


class PixelAttribution(Explainer):
    """Shared work of input-gradient methods: the maps are at input resolution."""

    def input_gradients(self, images, targets):
        """dS/dx of each image's score, with the explained class: ((N, H, W, C), (N,))."""
        with tf.GradientTape() as tape:
            tape.watch(images)
            scores, chosen = self.scores(self.logits(images), targets)
        return tape.gradient(scores, images), chosen

    def attribute(self, images, chosen):
        """Non-negative (N, H, W) attributions for the chosen classes."""
        raise NotImplementedError

    def _maps_and_logits(self, images, targets):
        logits = self.logits(images)
        chosen = self.scores(logits, targets)[1]
        return normalise_by_max(self.attribute(images, chosen)), logits, chosen

