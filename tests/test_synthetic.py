"""The procedural synthetic chest X-ray generator (fast: no training).

The empirical difficulty (lecture CNN test ROC-AUC in 0.85-0.97) is checked by
``bench/synthetic_difficulty.py``, not here.
"""
from __future__ import annotations

import hashlib

import numpy as np
import pytest
from scipy import ndimage

from exercise_logic.data import synthetic as syn
from exercise_logic.data.synthetic import (MARKER_CORNER, SYNTHETIC_SIZES, SyntheticXrays,
                                           generate_chest_xrays, generate_splits, marker_region)


def _with_lungs(n, size, seed=0, abnormal_fraction=0.45, marker_strength=None):
    """Generate as :func:`generate_chest_xrays` does, plus the lung-field masks."""
    return syn._generate(n, size, np.random.SeedSequence(seed), abnormal_fraction,
                         marker_strength, with_lungs=True)


def _assert_equal(a: SyntheticXrays, b: SyntheticXrays):
    for field in ("images", "labels", "masks", "markers"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field), err_msg=field)


# SHA-256 of images, masks, labels, markers and lung fields, computed with the
# generator of GENERATOR_VERSION 1 (the vectorised renderer before it was split
# into painter functions). A change here must come with a new GENERATOR_VERSION.
GOLDEN_DIGESTS = {
    # (n, size, seed, marker_strength, abnormal_fraction)
    (40, 28, 0, None, 0.45): "79e01a8640aeccd8248d544c5b899b20f8cbbb281a1e26e781f527ecf8fb593b",
    (30, 64, 3, 0.5, 0.45): "c96bf0d749a065398bbc10d625b35a95e7dd5983ea99e5b1f22af7e057dbd6e6",
    (70, 128, 7, 0.95, 0.45): "65bcc36e764e0208bd3f2fbb55a58c9c47d0492739690bc85a36bb445dd1f2be",
    (25, 28, 11, 1.0, 1.0): "cb5a8ac4b6a17b9d5912f7c0832a7c182ed9c1dd6d84cb650fea184447da4dae",
}


@pytest.mark.parametrize("case", sorted(GOLDEN_DIGESTS, key=str))
def test_output_is_bit_identical_for_this_generator_version(case):
    n, size, seed, strength, fraction = case
    data, lungs = _with_lungs(n, size, seed, fraction, strength)
    digest = hashlib.sha256()
    for array in (data.images, data.masks, data.labels, data.markers, lungs):
        digest.update(np.ascontiguousarray(array).tobytes())
    assert syn.GENERATOR_VERSION == 1, "new generator version: recompute GOLDEN_DIGESTS"
    assert digest.hexdigest() == GOLDEN_DIGESTS[case]


@pytest.fixture(scope="module")
def batch28():
    return _with_lungs(600, 28, seed=5, marker_strength=0.5)


def test_same_seed_is_bit_identical_and_other_seed_differs():
    a = generate_chest_xrays(40, size=28, seed=3, marker_strength=0.5)
    b = generate_chest_xrays(40, size=28, seed=3, marker_strength=0.5)
    _assert_equal(a, b)
    c = generate_chest_xrays(40, size=28, seed=4, marker_strength=0.5)
    assert not np.array_equal(a.images, c.images)
    s1 = generate_splits(size=28, seed=1, n_train=30, n_val=10, n_test=20)
    s2 = generate_splits(size=28, seed=1, n_train=30, n_val=10, n_test=20)
    for split in ("train", "val", "test"):
        _assert_equal(s1[split], s2[split])


@pytest.mark.parametrize("size", SYNTHETIC_SIZES)
def test_shapes_dtypes_and_ranges(size):
    n = 70 if size == 128 else 12          # 70 > one 128x128 chunk (12 > 224x224's): exercises chunking
    data = generate_chest_xrays(n, size=size, seed=0, marker_strength=0.5)
    assert isinstance(data, SyntheticXrays) and len(data) == n
    assert data.images.shape == (n, size, size) and data.images.dtype == np.uint8
    assert data.labels.shape == (n,) and data.labels.dtype == np.uint8
    assert data.masks.shape == (n, size, size) and data.masks.dtype == bool
    assert data.markers.shape == (n,) and data.markers.dtype == bool
    assert set(np.unique(data.labels)) <= {0, 1}
    assert data.labels.sum() == round(0.45 * n)
    # A radiograph, not a flat image: dark air and bright tissue.
    assert data.images.min() < 40 and data.images.max() > 150
    air = data.images[:, : size // 8, -size // 8:].mean()        # top-right corner
    centre = data.images[:, size // 2 - size // 8: size // 2 + size // 8,
                         size // 2 - size // 16: size // 2 + size // 16].mean()  # mediastinum
    assert air + 60 < centre


def test_empty_and_all_abnormal_requests():
    empty = generate_chest_xrays(0, size=64)
    assert empty.images.shape == (0, 64, 64) and empty.masks.shape == (0, 64, 64)
    assert empty.labels.shape == (0,) and empty.markers.shape == (0,)
    sick = generate_chest_xrays(10, abnormal_fraction=1.0)
    assert sick.labels.all() and sick.masks.any(axis=(1, 2)).all()
    healthy = generate_chest_xrays(10, abnormal_fraction=0.0)
    assert not healthy.labels.any() and not healthy.masks.any()


@pytest.mark.parametrize("size", SYNTHETIC_SIZES)
def test_masks_nonempty_exactly_for_abnormal_and_inside_lungs(size):
    n = 600 if size == 28 else 60
    data, lungs = _with_lungs(n, size, seed=2)
    has_lesion = data.masks.any(axis=(1, 2))
    np.testing.assert_array_equal(has_lesion, data.labels == 1)
    assert not (data.masks & ~lungs).any()
    assert lungs.any(axis=(1, 2)).all()


def test_lungs_are_two_fields_left_and_right_of_the_midline(batch28):
    _, lungs = batch28
    half = lungs.shape[-1] // 2
    assert lungs[:, :, :half].any(axis=(1, 2)).all() and lungs[:, :, half:].any(axis=(1, 2)).all()
    # Lung fields are darker than the mediastinum between them.
    data, _ = batch28
    img = data.images.astype(np.float32)
    mediastinum = img[:, 8:18, 13:15].mean()
    assert img[lungs].mean() + 20 < mediastinum


def test_lesions_are_brighter_than_their_lung_surroundings(batch28):
    data, lungs = batch28
    img = data.images.astype(np.float32)
    diffs = []
    for i in np.flatnonzero(data.labels == 1):
        mask = data.masks[i]
        ring = ndimage.binary_dilation(mask, iterations=2) & ~mask & lungs[i]
        if ring.sum() >= 3:
            diffs.append(img[i][mask].mean() - img[i][ring].mean())
    assert len(diffs) > 100
    assert np.mean(diffs) > 5 and np.mean(np.array(diffs) > 0) > 0.7


def test_difficulty_ingredients_exist(batch28):
    """Small lesions exist (a 1-4 pixel mask at 28x28) next to large ones."""
    data, _ = batch28
    area = data.masks[data.labels == 1].sum(axis=(1, 2))
    assert (area <= 4).mean() > 0.05 and (area >= 20).mean() > 0.1


def test_marker_region_is_the_top_left_corner_outside_the_lungs(batch28):
    for size in SYNTHETIC_SIZES:
        region = marker_region(size)
        assert region.shape == (size, size) and region.dtype == bool
        rows, cols = np.nonzero(region)
        (r0, r1), (c0, c1) = MARKER_CORNER
        assert rows.min() == 0 and cols.min() == 0
        assert rows.max() < size // 2 and cols.max() < size // 2
        assert 0 < region.mean() < 0.1 + (r1 - r0) * (c1 - c0)
    _, lungs = batch28
    assert not (lungs & marker_region(28)).any()


@pytest.mark.parametrize("size", SYNTHETIC_SIZES)
def test_marker_only_changes_pixels_inside_the_marker_region(size):
    n = 20
    plain = generate_chest_xrays(n, size=size, seed=7)
    marked = generate_chest_xrays(n, size=size, seed=7, marker_strength=1.0)
    np.testing.assert_array_equal(plain.labels, marked.labels)
    np.testing.assert_array_equal(plain.masks, marked.masks)
    np.testing.assert_array_equal(marked.markers, marked.labels == 1)
    region = marker_region(size)
    np.testing.assert_array_equal(plain.images[:, ~region], marked.images[:, ~region])
    with_marker = marked.markers
    inside_marked = marked.images[with_marker][:, region].astype(np.float32)
    inside_plain = plain.images[with_marker][:, region].astype(np.float32)
    # The glyph is (near) white and brighter than anything else in the corner.
    assert (inside_marked.max(axis=1) >= 200).all()
    assert (inside_marked.max(axis=1) - inside_plain.max(axis=1) > 30).all()
    np.testing.assert_array_equal(plain.images[~with_marker], marked.images[~with_marker])


@pytest.mark.parametrize("strength, expected", [(0.0, 0.5), (0.95, 0.975), (1.0, 1.0)])
def test_marker_label_agreement(strength, expected):
    data = generate_chest_xrays(4000, size=28, seed=11, marker_strength=strength)
    agreement = (data.markers == (data.labels == 1)).mean()
    assert abs(agreement - expected) < 0.03
    assert 0.4 < data.markers.mean() < 0.6


def test_no_marker_when_strength_is_none():
    data = generate_chest_xrays(300, size=28, seed=1)
    assert not data.markers.any()
    splits = generate_splits(size=28, seed=1, n_train=100, n_val=50, n_test=50)
    assert not any(s.markers.any() for s in splits.values())


def test_splits_shortcut_on_train_and_val_only():
    splits = generate_splits(size=28, seed=0, n_train=3000, n_val=1000, n_test=2000,
                             marker_strength=0.95)
    assert set(splits) == {"train", "val", "test"}
    assert [len(splits[k]) for k in ("train", "val", "test")] == [3000, 1000, 2000]
    for name in ("train", "val"):
        s = splits[name]
        assert (s.markers == (s.labels == 1)).mean() > 0.94
    test = splits["test"]
    assert abs((test.markers == (test.labels == 1)).mean() - 0.5) < 0.04
    assert 0.45 < test.markers.mean() < 0.55
    for s in splits.values():
        assert s.labels.sum() == round(0.45 * len(s))
    # Independent streams: the splits do not repeat each other.
    assert not np.array_equal(splits["train"].images[:100], splits["val"].images[:100])
    assert not np.array_equal(splits["val"].images[:100], splits["test"].images[:100])


@pytest.mark.parametrize("kwargs, name", [
    (dict(n=5, size=32), "size"),
    (dict(n=5, size=28.0), "size"),
    (dict(n=-1), "n"),
    (dict(n=2.5), "n"),
    (dict(n=5, seed=-3), "seed"),
    (dict(n=5, abnormal_fraction=1.5), "abnormal_fraction"),
    (dict(n=5, abnormal_fraction=-0.1), "abnormal_fraction"),
    (dict(n=5, abnormal_fraction=float("nan")), "abnormal_fraction"),
    (dict(n=5, marker_strength=1.2), "marker_strength"),
    (dict(n=5, marker_strength=-0.5), "marker_strength"),
    (dict(n=5, marker_strength="yes"), "marker_strength"),
])
def test_invalid_arguments_raise_value_error(kwargs, name):
    with pytest.raises(ValueError, match=name) as info:
        generate_chest_xrays(**kwargs)
    bad = [v for k, v in kwargs.items() if k == name][0]
    assert repr(bad) in str(info.value)


def test_invalid_split_arguments_and_sizes_name_the_allowed_values():
    with pytest.raises(ValueError, match=r"size must be one of \(28, 64, 128, 224\), got 100"):
        generate_splits(size=100)
    with pytest.raises(ValueError, match="n_val"):
        generate_splits(n_val=-5)
    with pytest.raises(ValueError, match=r"marker_strength must be None or a float in \[0, 1\]"):
        generate_splits(marker_strength=2.0)
    with pytest.raises(ValueError, match="size"):
        marker_region(27)


def test_packed_masks_are_the_masks_bit_packed_chunk_by_chunk():
    plain = generate_splits(size=224, seed=4, n_train=25, n_val=2, n_test=3)
    packed = generate_splits(size=224, seed=4, n_train=25, n_val=2, n_test=3, packed_masks=True)
    for name in plain:
        np.testing.assert_array_equal(packed[name].images, plain[name].images)
        assert packed[name].masks.shape == (len(plain[name]), 224, 28)
        np.testing.assert_array_equal(np.unpackbits(packed[name].masks, axis=-1).astype(bool),
                                      plain[name].masks)
    assert plain["train"].masks.any()
