"""Reading a user's image file and preprocessing it exactly like the training data.

Any Pillow-readable image is accepted: grayscale, RGB, RGBA, palette, 16-bit,
any size, EXIF-rotated. Problems raise :class:`ImageInputError`, whose message
exists in Japanese and English so a UI can show it in the user's language.
"""
from __future__ import annotations

import os
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_PIXELS = 4096 * 4096
MIN_SIDE = 8

# Refuse decompression bombs before decoding: a 97 kB PNG can hold 10000x10000 pixels.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS


class ImageInputError(ValueError):
    """An input image that cannot be used, with a message in Japanese and English."""

    def __init__(self, ja: str, en: str):
        super().__init__(f"{ja} / {en}")
        self.messages = {"ja": ja, "en": en}

    def message(self, lang: str = "ja") -> str:
        return self.messages.get(lang, self.messages["en"])


def open_image(source) -> Image.Image:
    """Open a path, file object or PIL image, refusing huge and broken files early."""
    if isinstance(source, Image.Image):
        image = source
    else:
        name = os.path.basename(str(getattr(source, "name", source)))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                image = Image.open(source)
                image.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ImageInputError(
                f"{name}: 画像が大きすぎます（上限 {MAX_PIXELS:,} 画素）。縮小してから読み込んでください。",
                f"{name}: the image is too large (limit {MAX_PIXELS:,} pixels); shrink it first.") from None
        except UnidentifiedImageError:
            raise ImageInputError(
                f"{name}: 画像ファイルとして読めません。PNG や JPEG などの画像を選んでください。",
                f"{name}: this is not a readable image file; choose a PNG, JPEG or similar image.") from None
        except (OSError, SyntaxError, ValueError) as error:
            raise ImageInputError(
                f"{name}: 画像ファイルが壊れているか途中で切れています（{error}）。",
                f"{name}: the image file is damaged or truncated ({error}).") from None
    if image.width * image.height > MAX_PIXELS:
        raise ImageInputError(
            f"画像が大きすぎます（{image.width}×{image.height}）。",
            f"the image is too large ({image.width}x{image.height}).")
    if min(image.size) < MIN_SIDE:
        raise ImageInputError(
            f"画像が小さすぎます（{image.width}×{image.height}）。{MIN_SIDE} 画素四方以上の画像を使ってください。",
            f"the image is too small ({image.width}x{image.height}); use at least {MIN_SIDE}x{MIN_SIDE} pixels.")
    return image


def _to_unit_float(image: Image.Image, gray: bool) -> np.ndarray:
    """(H, W[, 3]) float32 in [0, 1]: 16-bit and float data windowed by percentiles,
    transparency composited onto black, palettes expanded."""
    if getattr(image, "n_frames", 1) > 1:
        image.seek(0)  # animated images: the first frame
    image = ImageOps.exif_transpose(image)
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        values = np.asarray(image, dtype=np.float32)
        low, high = np.percentile(values, (0.5, 99.5))
        scaled = np.clip((values - low) / (high - low), 0, 1) if high > low else np.zeros_like(values)
        return scaled if gray else np.repeat(scaled[..., None], 3, axis=-1)
    if image.mode in ("P", "PA", "LA", "RGBA", "La", "RGBa") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        black = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
        image = Image.alpha_composite(black, rgba)
    image = image.convert("L" if gray else "RGB")
    return np.asarray(image, dtype=np.float32) / 255.0


def preprocess_image(source, size: int = 28, as_rgb: bool = True, gray: bool = True) -> np.ndarray:
    """Read an image and turn it into one model input.

    The image is converted to grayscale (``gray=True``, as chest X-ray data) or
    RGB, padded with black to a square (radiographs keep their proportions),
    resized to ``size`` with antialiasing and scaled to [0, 1].

    Returns
    -------
    ndarray of float32, shape (size, size, 3) with ``as_rgb`` else (size, size, 1)
    """
    pixels = _to_unit_float(open_image(source), gray)
    if pixels.ndim == 2:
        pixels = pixels[..., np.newaxis]
    height, width = pixels.shape[:2]
    side = max(height, width)
    square = np.zeros((side, side, pixels.shape[2]), np.float32)
    top, left = (side - height) // 2, (side - width) // 2
    square[top:top + height, left:left + width] = pixels
    channels = [np.asarray(Image.fromarray(square[..., c], mode="F").resize(
        (size, size), Image.Resampling.LANCZOS if side > size else Image.Resampling.BILINEAR))
        for c in range(square.shape[2])]
    result = np.clip(np.stack(channels, axis=-1), 0.0, 1.0).astype(np.float32)
    # Quantise like the uint8 training data, so an exported sample round-trips exactly.
    result = np.round(result * 255) / 255
    if as_rgb and result.shape[-1] == 1:
        result = np.repeat(result, 3, axis=-1)
    return result.astype(np.float32)
