"""Turning images and heatmaps into pictures: overlays, panels and the lecture's figures.

:func:`overlay` returns a plain RGB uint8 array, usable by matplotlib, Pillow
and Gradio alike. Red means strong attention, blue weak (the ``jet`` colormap).
"""
from __future__ import annotations

import numpy as np

COLORMAPS = ("jet", "turbo", "inferno", "viridis", "magma")
OUTLINE_RGB = (255, 0, 255)  # lesion outlines: magenta is in none of the colormaps


def to_uint8_rgb(image) -> np.ndarray:
    """An image as (H, W, 3) uint8: float input is taken in [0, 1], grayscale is repeated."""
    image = np.asarray(image)
    if image.ndim == 4 and image.shape[0] == 1:
        image = image[0]
    if image.ndim == 2:
        image = image[..., np.newaxis]
    if image.ndim != 3 or image.shape[-1] not in (1, 3, 4):
        raise ValueError(f"image must be (H, W), (H, W, 1) or (H, W, 3), got {image.shape}")
    image = image[..., :3]
    if image.dtype != np.uint8:
        image = np.round(np.clip(image.astype(np.float32), 0.0, 1.0) * 255).astype(np.uint8)
    if image.shape[-1] == 1:
        image = np.repeat(image, 3, axis=-1)
    return image


def resize_heatmap(heatmap, height: int, width: int) -> np.ndarray:
    """Bilinear resize of a (h, w) map, with half-pixel centres like ``tf.image.resize``."""
    heatmap = np.asarray(heatmap, dtype=np.float32)
    if heatmap.shape == (height, width):
        return heatmap
    from PIL import Image
    return np.asarray(Image.fromarray(heatmap, mode="F").resize((width, height), Image.Resampling.BILINEAR))


def heatmap_to_rgb(heatmap, colormap: str = "jet") -> np.ndarray:
    """Colour a (H, W) map in [0, 1]: (H, W, 3) uint8."""
    import matplotlib
    if colormap not in matplotlib.colormaps:
        raise ValueError(f"unknown colormap {colormap!r}; try one of {', '.join(COLORMAPS)}")
    values = np.clip(np.nan_to_num(np.asarray(heatmap, dtype=np.float32)), 0.0, 1.0)
    return (matplotlib.colormaps[colormap](values)[..., :3] * 255).round().astype(np.uint8)


def overlay(image, heatmap, colormap: str = "jet", opacity: float = 0.4) -> np.ndarray:
    """Blend a coloured heatmap over an image.

    Parameters
    ----------
    image : array, (H, W), (H, W, 1) or (H, W, 3); float in [0, 1] or uint8
    heatmap : array of float, (h, w) in [0, 1]; resized bilinearly to (H, W)
    colormap : str
        A matplotlib colormap name (``'jet'`` as in the lecture).
    opacity : float in [0, 1]
        Weight of the heatmap (the lecture shows it with alpha 0.4).

    Returns
    -------
    ndarray of uint8, shape (H, W, 3)
    """
    if not 0.0 <= float(opacity) <= 1.0:
        raise ValueError(f"opacity must be in [0, 1], got {opacity!r}")
    base = to_uint8_rgb(image).astype(np.float32)
    colours = heatmap_to_rgb(resize_heatmap(heatmap, *base.shape[:2]), colormap).astype(np.float32)
    return np.round((1.0 - opacity) * base + opacity * colours).astype(np.uint8)


def enlarge(image, size: int) -> np.ndarray:
    """Nearest-neighbour enlargement of an RGB uint8 image to about ``size`` px (keeps pixels crisp)."""
    image = to_uint8_rgb(image)
    factor = max(1, size // max(image.shape[:2]))
    return np.repeat(np.repeat(image, factor, axis=0), factor, axis=1)


def draw_outline(rgb, mask, colour=None, thickness: int = 2) -> np.ndarray:
    """Draw the boundary of a (h, w) mask over an enlarged (H, W, 3) picture (magenta by default)."""
    rgb = np.array(rgb, copy=True)
    mask = np.asarray(mask, bool)
    factor = max(1, rgb.shape[0] // mask.shape[0])
    big = np.repeat(np.repeat(mask, factor, axis=0), factor, axis=1)[:rgb.shape[0], :rgb.shape[1]]
    inner = big.copy()
    for _ in range(thickness):
        padded = np.pad(inner, 1, constant_values=False)
        inner = (inner & padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:])
    rgb[big & ~inner] = OUTLINE_RGB if colour is None else colour
    return rgb


def explanation_pictures(image, heatmap, colormap: str = "jet", opacity: float = 0.4, mask=None,
                         display_size: int = 224) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(original, heatmap, overlay) as uint8 RGB pictures of one size, the lesion outlined on the overlay.

    The image is enlarged by a whole factor to about ``display_size`` (crisp
    pixels) and never shrunk: a 224 px image and its map keep every pixel.
    """
    original = enlarge(image, display_size)
    smooth = resize_heatmap(heatmap, *original.shape[:2])
    blended = overlay(original, smooth, colormap, opacity)
    if mask is not None and np.any(mask):
        blended = draw_outline(blended, mask)
    return original, heatmap_to_rgb(smooth, colormap), blended


def explanation_panel(image, heatmap, colormap: str = "jet", opacity: float = 0.4,
                      display_size: int = 224, gap: int = 8) -> np.ndarray:
    """Original, heatmap and overlay side by side, enlarged: (S, 3S + 2 gap, 3) uint8."""
    parts = explanation_pictures(image, heatmap, colormap, opacity, display_size=display_size)
    spacer = np.full((parts[0].shape[0], gap, 3), 255, np.uint8)
    return np.concatenate([parts[0], spacer, parts[1], spacer, parts[2]], axis=1)


def draw_map_over_image(axis, image, cam, mask=None, limit: float | None = None):
    """Draw a map over its image on a matplotlib axis: yellow-red positive, blue negative, the lesion outlined.

    Unlike :func:`overlay` nothing is clipped, so the pictures of a feedback
    page show what a wrong map really holds: negative values (blue), values
    above 1 (the colour bar goes past 1), NaN and inf (grey).

    Parameters
    ----------
    axis : matplotlib.axes.Axes
    image : array, (1, H, W, C), (H, W, C) or (H, W), float in [0, 1]
    cam : array of float, shape (H, W)
    mask : array of bool, shape (H, W), optional
        Lesion pixels, outlined in magenta.
    limit : float, optional
        The colour scale runs over [-limit, limit]; default max(1, max |cam|).

    Returns
    -------
    matplotlib.cm.ScalarMappable
        The colour scale, for ``figure.colorbar``.
    """
    import matplotlib
    cam = np.asarray(cam, np.float64)
    finite = np.isfinite(cam)
    if limit is None:
        limit = max(1.0, float(np.abs(cam[finite]).max()) if finite.any() else 1.0)
    base = to_uint8_rgb(image)
    fits = cam.shape == base.shape[:2]
    # a map of another shape is drawn alone: stretched over the image it would mislead
    axis.imshow(base if fits else np.full(cam.shape + (3,), 255, np.uint8), interpolation="nearest")
    signed = _signed_colormap(matplotlib)
    colours = signed((np.where(finite, cam, 0.0) / limit + 1) / 2)
    # the X-ray shows through where the map is 0; small values stay visible (a faint negative
    # value is the mistake to see); non-finite values are grey
    strength = np.clip(np.abs(np.where(finite, cam, 0.0)) / limit, 0, 1)
    colours[..., 3] = np.where(strength > 0.01, 0.35 + 0.5 * np.sqrt(strength), 0.0) if fits else 1.0
    colours[~finite] = (0.6, 0.6, 0.6, 0.9)
    axis.imshow(colours, interpolation="nearest")
    if fits and mask is not None and np.any(mask):
        axis.contour(np.asarray(mask, float), levels=[0.5], colors=[np.array(OUTLINE_RGB) / 255], linewidths=2.0)
    axis.set_xticks([])
    axis.set_yticks([])
    return matplotlib.cm.ScalarMappable(matplotlib.colors.Normalize(-limit, limit), signed)


def _signed_colormap(matplotlib):
    """Blue below 0, yellow to red above it: saturated enough to read over a grey X-ray."""
    negative = matplotlib.colors.LinearSegmentedColormap.from_list("", ["#0018b8", "#4d8dff"])(np.linspace(0, 1, 128))
    positive = matplotlib.colors.LinearSegmentedColormap.from_list("", ["#ffd84d", "#d40000"])(np.linspace(0, 1, 128))
    return matplotlib.colors.ListedColormap(np.vstack([negative, positive]), name="signed_map")


def save_png(array, path) -> None:
    from PIL import Image
    Image.fromarray(to_uint8_rgb(array)).save(path, format="PNG")


def _finish_figure(figure) -> None:
    import matplotlib.pyplot as plt
    figure.tight_layout()
    plt.show()
    if not plt.isinteractive():
        plt.close(figure)


def show_gradcam(model, image, last_conv_layer_name="last_conv_layer",
                 title_original="Original Image", title_gradcam="Grad-CAM", class_index=None):
    """The lecture's figure: the image and its Grad-CAM overlay. Returns the (H, W) map."""
    import matplotlib.pyplot as plt
    from .explain import compute_gradcam

    img_array = image[np.newaxis, ...] if np.ndim(image) == 3 else np.asarray(image)
    heatmap = compute_gradcam(model, img_array, last_conv_layer_name, class_index)
    figure, axes = plt.subplots(1, 2, figsize=(10, 5))
    axes[0].imshow(to_uint8_rgb(img_array[0]))
    axes[0].set_title(title_original)
    axes[1].imshow(overlay(img_array[0], heatmap))
    axes[1].set_title(title_gradcam)
    for axis in axes:
        axis.axis("off")
    _finish_figure(figure)
    return heatmap


def show_gradcam_comparison(model, images, labels=None, last_conv_layer_name="last_conv_layer",
                            cols=4, figsize=None, class_index=None):
    """The lecture's grid of overlays for several images, computed in one batch.

    Returns the list of (H, W) maps.
    """
    import matplotlib.pyplot as plt
    from .explain import gradcam, lecture_layer_and_target

    images = np.asarray(images)
    if len(images) == 0:
        raise ValueError("images is empty: pass at least one image, e.g. x_test[:8]")
    layer, class_index = lecture_layer_and_target(model, last_conv_layer_name, class_index)
    heatmaps = list(gradcam(model, images, layer=layer, target=class_index))
    rows = (len(images) + cols - 1) // cols
    figure, axes = plt.subplots(rows, cols, figsize=figsize or (cols * 4, rows * 4), squeeze=False)
    for index, axis in enumerate(axes.flat):
        axis.axis("off")
        if index < len(images):
            axis.imshow(overlay(images[index], heatmaps[index]))
            if labels is not None and index < len(labels):
                axis.set_title(str(labels[index]))
    _finish_figure(figure)
    return heatmaps
