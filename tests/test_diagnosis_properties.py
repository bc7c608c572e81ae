"""The diagnosis's property rules on hand-made maps (NumPy only, no model: milliseconds)."""
from __future__ import annotations

import numpy as np
import pytest

from exercise_logic.diagnosis import Case, diagnose, differs
from exercise_logic.diagnosis import properties as props

RNG = np.random.default_rng(0)
SIZE = (12, 12)


def _case(key, grid, *, group=None, class_index=None, binary=True, image_grid=None):
    """A case whose grids are all ``grid`` (the correct one), but for the image gradients."""
    grid = np.asarray(grid, np.float64)
    image_grid = RNG.normal(size=SIZE) if image_grid is None else image_grid
    grids = {name: (image_grid if name.startswith("image") or name == "Grad-CAM of the image" else grid * 1.0)
             for name in props.EARLY}
    grids["pooled over channels"] = grid ** 2            # every wrong grid differs from the correct one
    grids["pooled over rows"] = grid[::-1]
    grids["pooled over columns"] = grid[:, ::-1]
    grids["max-pooled gradients"] = grid + 0.5 * np.abs(grid).max()
    grids["gradients times activations"] = grid.T
    grids["weights on the gradients"] = np.roll(grid, 1, axis=0)
    grids["default class"] = grids["default class (binary models only)"] = -grid if class_index == 0 else grid
    grids["last conv layer"] = np.roll(grid, 1, axis=1)
    return Case(key=key, group=key if group is None else group, binary=binary, class_index=class_index,
                reference=props.reference_map(grid, SIZE), grids=grids, last_grid_size=grid.shape)


def _cases():
    """Both classes of a binary model on two images, and a map whose reference is all 0."""
    grids = [RNG.normal(size=(4, 4)) for _ in range(2)]
    cases = []
    for i, grid in enumerate(grids):
        cases += [_case(f"img{i}-c1", grid, group=f"img{i}", class_index=1),
                  _case(f"img{i}-c0", -grid, group=f"img{i}", class_index=0)]
    cases.append(_case("negative", -np.abs(RNG.normal(size=(4, 4))) - 0.1, class_index=1))
    return cases


def _finish(case, grid_name="correct", rectify="relu", method="bilinear", normalise=True):
    cam = props.rectify(case.grids[grid_name], rectify)
    if normalise:
        cam = cam / cam.max() if cam.max() > 0 else cam / cam.max() if cam.max() < 0 else cam
    return props.resize(cam, case.size, method)


def test_resize_matrices_interpolate_between_pixel_centres():
    grid = np.arange(4.0).reshape(2, 2)
    big = props.resize(grid, (4, 4))
    assert big[0, 0] == 0 and big[-1, -1] == 3 and np.allclose(big[1, :2], [0.5, 0.75])
    assert props.resize(grid, (4, 4), "nearest")[1, 2] == 1 and props.resize(grid, (2, 2)) is not grid


def test_a_correct_answer_is_never_named():
    cases = _cases()
    result = diagnose({c.key: c.reference for c in cases}, cases)
    assert result.status == "correct" and result.mistakes == ()


def test_negative_values_name_relu_missing():
    cases = _cases()
    maps = {c.key: _finish(c, rectify="none") for c in cases}
    result = diagnose(maps, cases)
    assert result.mistakes == ("no_relu",) and "negative" in result.findings[0].evidence_en


def test_a_negative_map_divided_by_its_negative_maximum_flips_and_is_named():
    cases = _cases()
    maps = {c.key: props.resize(c.grids["correct"] / (c.grids["correct"].max() + 1e-8), c.size) for c in cases}
    assert maps["negative"].min() >= 1 - 1e-6 and maps["negative"].max() > 1      # 1..N, as issue 19 saw
    assert diagnose(maps, cases).mistakes == ("no_relu",)
    only = [c for c in cases if c.key == "negative"]
    result = diagnose({"negative": maps["negative"]}, only)
    assert result.mistakes == ("no_relu",) and "from 1 to" in result.findings[0].evidence_en


def test_the_same_map_for_both_classes_names_class_index_ignored():
    cases = _cases()
    maps = {c.key: _finish(c, "default class") for c in cases}
    result = diagnose(maps, cases)
    assert result.mistakes == ("class_index_ignored",)
    assert "class_index=1 and 0 are the same" in result.findings[0].evidence_en
    assert props.same_maps(maps["img0-c0"], maps["img0-c1"])


def test_detail_at_the_input_resolution_names_the_wrong_tensor():
    cases = _cases()
    maps = {c.key: np.maximum(c.grids["image gradients, mean over colours"], 0) for c in cases}
    maps = {k: m / m.max() for k, m in maps.items()}
    result = diagnose(maps, cases)
    assert result.mistakes == ("wrong_tensor",)
    case = cases[0]
    assert props.finer_than_grid(maps[case.key], [case.grid_size]) > props.DETAIL
    assert props.finer_than_grid(case.reference, [case.grid_size]) < 1e-6     # an upsampled grid has none


def test_two_mistakes_at_once_are_two_names():
    cases = _cases()
    maps = {c.key: _finish(c, rectify="none", method="nearest") for c in cases}
    assert set(diagnose(maps, cases).mistakes) == {"no_relu", "nearest"}


def test_when_nothing_fits_it_is_said():
    cases = _cases()
    maps = {c.key: RNG.random(SIZE) for c in cases}
    assert diagnose(maps, cases).status == "unknown"


def test_grid_free_properties_name_what_they_see_when_no_recipe_fits():
    cases = _cases()
    # no ReLU plus a finish the recipe does not know (squared): only the negative values are sure
    maps = {c.key: _finish(c, rectify="none") ** 3 for c in cases}
    result = diagnose(maps, cases)
    assert result.mistakes == ("no_relu",) and result.complete is False


@pytest.mark.parametrize("cam, rejected", [(np.full(SIZE, np.nan), True), (np.zeros((3, 3)), True)])
def test_differs_rejects_bad_maps(cam, rejected):
    assert differs(cam, _cases()[0].reference) is rejected


def test_diagnosis_round_trips_through_json():
    from exercise_logic.diagnosis import Diagnosis
    cases = _cases()
    result = diagnose({c.key: _finish(c, rectify="none") for c in cases}, cases)
    assert Diagnosis.from_dict(result.to_dict()) == result
