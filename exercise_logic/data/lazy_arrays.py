"""Arrays kept compact and decoded row by row: the streamed form of a split.

A MedMNIST split holds uint8 pixels (1 byte per pixel); the model takes
float32 RGB (12 bytes per pixel). Converting every split at once made loading
128 px ChestMNIST take 13 times the memory of its pixels. Here the pixels stay
uint8 (memory-mapped when the file allows it) and are converted when they are
indexed, one batch at a time:

- :class:`StreamedImages` is ``Split.images``: it looks like the float32
  ``(N, S, S, C)`` array the lecture code expects (``len``, ``shape``,
  ``images[i]``, ``images[a:b]``, ``images[index_array]``), but indexing
  converts only the selected images, and ``np.asarray(images)`` converts all
  of them only after checking that they fit in memory.
- :class:`PackedMasks` does the same for lesion masks stored one bit per pixel.

The library's heavy paths (training, evaluation, the CAM engine,
deletion/insertion, the scorecard) read such arrays in batches, so memory
stays near the uint8 pixels whatever the image size. Plain NumPy arrays work
everywhere a streamed array does.

>>> import numpy as np
>>> images = StreamedImages(np.full((4, 28, 28), 255, np.uint8))
>>> images.shape, images.dtype, images[1:3].shape, float(images[0].max())
((4, 28, 28, 3), dtype('float32'), (2, 28, 28, 3), 1.0)
"""
from __future__ import annotations

import numpy as np

from .memory import check_fits


def model_input(pixels, as_rgb: bool = True) -> np.ndarray:
    """The model's input for uint8 pixels: float32 in [0, 1], with a channel axis.

    Parameters
    ----------
    pixels : array-like of uint8, shape (N, S, S) or (N, S, S, C)
    as_rgb : bool
        Repeat a single grayscale channel three times, as the lecture does.

    Returns
    -------
    ndarray of float32, shape (N, S, S, 3) with ``as_rgb`` (grayscale or RGB
    input), else (N, S, S, C) with C = 1 for grayscale.
    """
    pixels = np.asarray(pixels)
    if pixels.ndim == 3:
        pixels = pixels[..., np.newaxis]
    channels = 3 if as_rgb and pixels.shape[-1] == 1 else pixels.shape[-1]
    converted = np.empty(pixels.shape[:-1] + (channels,), np.float32)
    # One pass, no float temporaries: uint8 -> float32 is exact, then a float32
    # division by 255, the same operation as ``pixels.astype(np.float32) / 255``.
    np.divide(pixels, np.float32(255.0), out=converted, casting="unsafe")
    return converted


class LazyRows:
    """A read-only array-like of rows decoded from a compact store when indexed.

    Subclasses say how stored rows become array rows (:meth:`decode`), their
    ``dtype`` and the shape of one decoded row.

    Parameters
    ----------
    store : ndarray or numpy.memmap, shape (N, ...)
        The compact rows.
    rows : ndarray of int, optional
        Use only these rows of ``store``, in this order (see :meth:`take`).
    """

    dtype = np.dtype(np.float32)
    what, what_ja = "arrays", "配列"

    def __init__(self, store, rows=None):
        self.store = store
        self.rows = None if rows is None else np.asarray(rows, np.int64)

    def decode(self, stored: np.ndarray) -> np.ndarray:
        """Decoded rows for stored rows ``(n, ...)``."""
        raise NotImplementedError

    @property
    def row_shape(self) -> tuple:
        raise NotImplementedError

    def __len__(self) -> int:
        return len(self.store) if self.rows is None else len(self.rows)

    @property
    def shape(self) -> tuple:
        return (len(self),) + tuple(self.row_shape)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def nbytes(self) -> int:
        """Bytes of the decoded array (what ``np.asarray`` would allocate)."""
        return int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize

    def __repr__(self) -> str:
        return f"{type(self).__name__}(shape={self.shape}, dtype={self.dtype}, stored as {self.store.dtype})"

    def take(self, indices) -> "LazyRows":
        """The selected rows as another lazy array (nothing is decoded or copied)."""
        positions = np.arange(len(self))[np.asarray(indices)]
        if positions.ndim != 1:
            raise IndexError("take() needs a 1-D index array or boolean mask")
        return self._with_rows(positions if self.rows is None else self.rows[positions])

    def _with_rows(self, rows) -> "LazyRows":
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone.rows = rows
        return clone

    def _stored(self, first):
        """Stored rows for an index along the first axis (contiguous slices stay views)."""
        if self.rows is None and isinstance(first, slice):
            return self.store[first]
        positions = np.arange(len(self))[first]
        return self.store[positions if self.rows is None else self.rows[positions]]

    def __getitem__(self, key):
        key = key if isinstance(key, tuple) else (key,)
        first, rest = (key[0], key[1:]) if key else (slice(None), ())
        if first is Ellipsis or first is None:
            return np.asarray(self)[key]
        stored = self._stored(first)
        single = np.ndim(stored) == len(self.store.shape) - 1
        stored = stored[np.newaxis] if single else stored
        check_fits(len(stored) * int(np.prod(self.row_shape)) * self.dtype.itemsize,
                   {"ja": f"{self.what_ja} {len(stored)} 件の変換", "en": f"{len(stored)} decoded {self.what}"},
                   {"ja": "少しずつ（1 バッチずつ）取り出してください。", "en": "take smaller slices, a batch at a time."})
        decoded = self.decode(stored)
        decoded = decoded[0] if single else decoded
        return decoded[rest] if single or not rest else decoded[(slice(None),) + rest]

    def __array__(self, dtype=None, copy=None):
        if copy is False:
            raise ValueError(f"a {type(self).__name__} cannot become an array without decoding (a copy)")
        check_fits(self.nbytes,
                   {"ja": f"{self.what_ja} {len(self)} 件（形 {self.shape[1:]}）すべての変換",
                    "en": f"all {len(self)} decoded {self.what} of shape {self.shape[1:]}"},
                   {"ja": "images[start:stop] で 1 バッチずつ取り出すか、バッチ単位で読むライブラリの関数"
                          "（train_or_load、evaluate、gradcam など）にそのまま渡してください。",
                    "en": "read batches (images[start:stop]) or pass them as they are to the library's "
                          "functions (train_or_load, evaluate, gradcam...), which read them batch by batch."})
        decoded = self.decode(self._stored(slice(None)))
        return decoded if dtype is None else decoded.astype(dtype, copy=False)

    def batches(self, batch_size: int):
        """Yield ``(slice, decoded rows)`` in order, ``batch_size`` rows at a time."""
        for start in range(0, len(self), batch_size):
            part = slice(start, min(start + batch_size, len(self)))
            yield part, self[part]


class StreamedImages(LazyRows):
    """uint8 images seen as the model's float32 input, ``(N, S, S, C)`` in [0, 1].

    Parameters
    ----------
    pixels : ndarray or numpy.memmap of uint8, shape (N, S, S) or (N, S, S, C)
        Kept as they are: a memory-mapped file stays on disk.
    as_rgb : bool
        Repeat grayscale to 3 channels, as the lecture does.
    rows : ndarray of int, optional
        A subset of the images (see :meth:`LazyRows.take`).

    Notes
    -----
    ``images[i]``, ``images[a:b]`` and ``images[index_array]`` return float32
    arrays of the selected images only, exactly :func:`model_input` of their
    pixels. ``np.asarray(images)`` converts every image (12 bytes per
    grayscale pixel) after checking that it fits in memory; the result is not
    kept, so each call converts again.
    """

    what, what_ja = "images", "画像"

    def __init__(self, pixels, as_rgb: bool = True, rows=None):
        if pixels.dtype != np.uint8 or pixels.ndim not in (3, 4):
            raise ValueError(f"pixels must be uint8 of shape (N, S, S) or (N, S, S, C), "
                             f"got {pixels.dtype} {pixels.shape}")
        super().__init__(pixels, rows)
        self.as_rgb = bool(as_rgb)

    @property
    def pixels(self) -> np.ndarray:
        """The uint8 pixels of these images (all of the store when no subset is taken)."""
        return self.store if self.rows is None else self.store[self.rows]

    @property
    def row_shape(self) -> tuple:
        height, width = self.store.shape[1:3]
        channels = self.store.shape[3] if self.store.ndim == 4 else 1
        return height, width, 3 if self.as_rgb and channels == 1 else channels

    @property
    def grayscale(self) -> bool:
        """Whether the stored pixels have a single channel."""
        return self.store.ndim == 3 or self.store.shape[3] == 1

    def with_channels(self, channels: int) -> "StreamedImages":
        """These grayscale images with 1 or 3 channels, as a model takes them (nothing is decoded)."""
        if not self.grayscale or channels not in (1, 3):
            raise ValueError(f"only grayscale images can be given 1 or 3 channels, got {channels} channels "
                             f"for pixels of shape {self.store.shape[1:]}")
        clone = self._with_rows(self.rows)
        clone.as_rgb = channels == 3
        return clone

    @property
    def pixel_bytes(self) -> int:
        """Bytes of the uint8 pixels (what streaming keeps)."""
        return len(self) * int(np.prod(self.store.shape[1:]))

    def decode(self, stored):
        return model_input(stored, self.as_rgb)


class PackedMasks(LazyRows):
    """Boolean masks ``(N, H, W)`` stored one bit per pixel (``numpy.packbits`` along W)."""

    dtype = np.dtype(bool)
    what, what_ja = "masks", "マスク"

    def __init__(self, packed, width: int, rows=None):
        super().__init__(packed, rows)
        self.width = int(width)

    @classmethod
    def pack(cls, masks) -> "PackedMasks":
        masks = np.asarray(masks, bool)
        return cls(np.packbits(masks, axis=-1), masks.shape[-1])

    @property
    def row_shape(self) -> tuple:
        return self.store.shape[1], self.width

    def decode(self, stored):
        return np.unpackbits(stored, axis=-1, count=self.width).view(bool)
