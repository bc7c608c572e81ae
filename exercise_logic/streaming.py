"""Feeding images to Keras one batch at a time: the streaming input pipeline.

:class:`ImageBatches` is a :class:`keras.utils.PyDataset` over any array-like
of images whose slices are float32 batches: a split's
:class:`~exercise_logic.data.lazy_arrays.StreamedImages` (uint8 pixels,
normalised and expanded to RGB per batch) or a plain float32 array. Only the
batch in use and the few that Keras prefetches exist as float32.

>>> data = load_dataset("synthetic", size=128)                     # doctest: +SKIP
>>> model.fit(ImageBatches(data.train.images, data.train.labels, 32, shuffle=True),
...           validation_data=ImageBatches(data.val.images, data.val.labels, 256))  # doctest: +SKIP
"""
from __future__ import annotations

import numpy as np
from keras.utils import PyDataset

from .data.lazy_arrays import LazyRows


#: Batch sizes in the library are chosen for images of up to this side; larger
#: images go proportionally fewer to a batch, so that a batch's float32 images
#: and activations take about the same memory at 224 px as at 64 px.
REFERENCE_SIDE = 64


def scaled_batch_size(batch_size: int, image_shape) -> int:
    """``batch_size`` for images up to 64 x 64 px, proportionally fewer (at least 1) for larger ones.

    >>> scaled_batch_size(256, (28, 28)), scaled_batch_size(256, (128, 128)), scaled_batch_size(256, (224, 224))
    (256, 64, 20)
    """
    height, width = image_shape[:2]
    return max(1, min(int(batch_size), int(batch_size) * REFERENCE_SIDE ** 2 // (height * width)))


def as_images(images):
    """``images`` ready to slice into float32 batches: a streamed array as it is,
    anything else as a float32 array (a single ``(H, W, C)`` image gets a batch axis)."""
    if isinstance(images, LazyRows):
        if images.ndim != 4:
            raise ValueError(f"images must have shape (N, H, W, C), got {images.shape}")
        return images
    images = np.asarray(images, dtype=np.float32)
    if images.ndim == 3:
        images = images[np.newaxis]
    if images.ndim != 4:
        raise ValueError(f"images must have shape (N, H, W, C) or (H, W, C), got {images.shape}")
    return images


def image_batches(images, batch_size: int, scaled: bool = False):
    """Yield ``(slice, float32 batch)`` over ``images`` (see :func:`as_images`), in order.

    ``scaled=True`` takes ``batch_size`` as meant for 64 x 64 px images
    (:func:`scaled_batch_size`).
    """
    images = as_images(images)
    if scaled:
        batch_size = scaled_batch_size(batch_size, images.shape[1:3])
    for start in range(0, len(images), batch_size):
        part = slice(start, min(start + batch_size, len(images)))
        yield part, np.asarray(images[part], np.float32)


class ImageBatches(PyDataset):
    """Batches of ``(images, labels)``, or of images alone, for ``fit``/``predict``.

    Parameters
    ----------
    images : StreamedImages or array-like of float32, shape (N, H, W, C)
    labels : array-like, shape (N, ...), optional
        Omit for ``predict``.
    batch_size : int
    shuffle : bool
        Visit the images in a new random order every epoch (training). The
        order comes from ``seed`` alone, so training is reproducible; within a
        batch the images are read in storage order (faster on a memory map).
    seed : int
    """

    def __init__(self, images, labels=None, batch_size: int = 128, shuffle: bool = False, seed: int = 0):
        super().__init__(workers=1, use_multiprocessing=False)
        self.images = as_images(images)
        self.labels = None if labels is None else np.asarray(labels)
        if self.labels is not None and len(self.labels) != len(self.images):
            raise ValueError(f"{len(self.images)} images but {len(self.labels)} labels")
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self._random = np.random.default_rng(seed)
        self._order = None
        self.on_epoch_end()

    def __len__(self) -> int:
        return -(-len(self.images) // self.batch_size)

    def on_epoch_end(self):
        if self.shuffle:
            self._order = self._random.permutation(len(self.images))

    def __getitem__(self, index: int):
        if not 0 <= index < len(self):
            raise IndexError(f"batch {index} of {len(self)}")
        part = slice(index * self.batch_size, min((index + 1) * self.batch_size, len(self.images)))
        if self._order is not None:
            part = np.sort(self._order[part])
        batch = np.asarray(self.images[part], np.float32)
        return batch if self.labels is None else (batch, self.labels[part])
