"""The radiologists' boxes of NIH ChestX-ray14, on ChestMNIST's images.

ChestMNIST is NIH ChestX-ray14 resized; 984 of NIH's findings (8 kinds, on
880 images) carry a radiologist's bounding box. Two files, neither in
MedMNIST's ``.npz``, put those boxes on ChestMNIST's images:

- **the box list** ``BBox_List_2017.csv`` from NIH's ChestX-ray14 release
  (https://nihcc.app.box.com/v/ChestXray-NIHCC): the header
  ``Image Index,Finding Label,Bbox [x,y,w,h],,,`` then one box per row, e.g.
  ``00013118_008.png,Atelectasis,225.08,547.02,86.78,79.19``: x, y (top left),
  width and height in the original 1024x1024 pixels;
- **the image record** MedMNIST publishes for each dataset (its README,
  "a CSV file for each MedMNIST subset", linked to a Google Drive folder):
  columns ``split,index,image_id``, the split and index of each ChestMNIST
  image and the NIH file name it was made from. Saved here as
  ``chestmnist_image_ids.csv``.

Both live in the MedMNIST folder (``$MEDMNIST_ROOT`` or ``~/.medmnist``)
beside ``chestmnist.npz``. MedMNIST+ resizes the 1024x1024 originals without
cropping, so a box scales by ``size / 1024`` on both axes.
"""
from __future__ import annotations

import csv
import dataclasses
import os
from pathlib import Path

import numpy as np

from .lazy_arrays import LazyRows
from .medmnist_files import MEDMNIST_SIZES, DatasetUnavailableError, default_root

BOX_LIST = "BBox_List_2017.csv"
IMAGE_IDS = "chestmnist_image_ids.csv"
NIH_SIDE = 1024  # ChestX-ray14's images are 1024x1024 pixels
BOX_FINDINGS = ("Atelectasis", "Cardiomegaly", "Effusion", "Infiltrate", "Mass", "Nodule",
                "Pneumonia", "Pneumothorax")
BOX_HEADER = ("Image Index", "Finding Label", "Bbox [x", "y", "w", "h]")
IDS_HEADER = ("split", "index", "image_id")
SPLITS = ("train", "val", "test")
NIH_RELEASE = "https://nihcc.app.box.com/v/ChestXray-NIHCC"
MEDMNIST_RECORDS = "https://github.com/MedMNIST/MedMNIST#dataset (\"a CSV file for each MedMNIST subset\")"


class BoxFileError(ValueError):
    """A box list or image record that cannot be read: which file, what was wrong, what to do."""

    def __init__(self, path, problem: str, remedy: str):
        self.path, self.problem, self.remedy = Path(path), problem, remedy
        super().__init__(f"{path}: {problem}. {remedy}")


class BoxFilesMissing(DatasetUnavailableError):
    """The box list or the image record is not in the MedMNIST folder."""


def get_files_hint(folder: Path) -> str:
    """How an instructor gets the two files, and where they go."""
    return (f"Put NIH's {BOX_LIST} (ChestX-ray14 release, {NIH_RELEASE}) and MedMNIST's ChestMNIST "
            f"image record (columns split,index,image_id; {MEDMNIST_RECORDS}) saved as {IMAGE_IDS} "
            f"in {folder} (or set MEDMNIST_ROOT to the folder that holds them).")


def _stem(name: str) -> str:
    """An NIH file name without its extension: MedMNIST's record may write either form."""
    name = name.strip()
    return name[:-4] if name.lower().endswith(".png") else name


def _rows(path: Path, what: str):
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            return list(csv.reader(handle))
    except UnicodeDecodeError:
        raise BoxFileError(path, f"is not a text CSV file (expected {what})",
                           "Download it again; do not open and re-save it as a spreadsheet.") from None


@dataclasses.dataclass(frozen=True)
class Box:
    """One radiologist's box: ``x, y`` (top left), ``w, h`` in NIH's 1024-pixel coordinates."""
    image: str
    finding: str
    x: float
    y: float
    w: float
    h: float


def read_box_list(path) -> list[Box]:
    """Read NIH's ``BBox_List_2017.csv``.

    Accepts the file as released (its header cell ``Bbox [x,y,w,h]`` splits
    into four columns, followed by empty ones) and copies whose empty
    trailing columns were dropped.

    Raises
    ------
    BoxFileError
        Wrong header, a row without four numbers, an unknown finding, or a box
        that does not start inside the 1024x1024 image (one that runs past
        its edge is clipped when drawn).
    """
    path = Path(path)
    rows = _rows(path, BOX_LIST)
    if not rows or tuple(cell.strip() for cell in rows[0][:6]) != BOX_HEADER \
            or any(cell.strip() for cell in rows[0][6:]):
        found = ",".join(rows[0]) if rows else "an empty file"
        raise BoxFileError(path, f"does not start with NIH's box-list header "
                                 f"'Image Index,Finding Label,Bbox [x,y,w,h]' (found {found!r})",
                           f"Use {BOX_LIST} as released with ChestX-ray14 ({NIH_RELEASE}).")
    boxes = []
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) < 6 or any(cell.strip() for cell in row[6:]):
            raise BoxFileError(path, f"line {line} has {len(row)} columns, not image, finding, x, y, w, h",
                               f"Use {BOX_LIST} as released ({NIH_RELEASE}).")
        image, finding = row[0].strip(), row[1].strip()
        if finding not in BOX_FINDINGS:
            raise BoxFileError(path, f"line {line} has the finding {finding!r}, not one of "
                                     f"{', '.join(BOX_FINDINGS)}", f"Use {BOX_LIST} as released ({NIH_RELEASE}).")
        try:
            x, y, w, h = (float(cell) for cell in row[2:6])
        except ValueError:
            raise BoxFileError(path, f"line {line} has a coordinate that is not a number: {row[2:6]}",
                               f"Use {BOX_LIST} as released ({NIH_RELEASE}).") from None
        if not (w > 0 and h > 0 and 0 <= x < NIH_SIDE and 0 <= y < NIH_SIDE):
            raise BoxFileError(path, f"line {line}: the box x={x}, y={y}, w={w}, h={h} does not start inside "
                                     f"the {NIH_SIDE}x{NIH_SIDE} image with a positive size",
                               f"Use {BOX_LIST} as released ({NIH_RELEASE}).")
        boxes.append(Box(image, finding, x, y, w, h))
    if not boxes:
        raise BoxFileError(path, "has a header but no boxes", f"Use {BOX_LIST} as released ({NIH_RELEASE}).")
    return boxes


def read_image_ids(path) -> dict[tuple[str, int], str]:
    """Read MedMNIST's image record: ``{(split, index): NIH image name}``.

    Raises
    ------
    BoxFileError
        Not the columns ``split,index,image_id`` (e.g. the ``chestmnist.csv``
        that ``medmnist``'s ``save()`` writes, which names PNG files, not NIH
        images), an unknown split, or a repeated (split, index).
    """
    path = Path(path)
    rows = _rows(path, IMAGE_IDS)
    remedy = (f"Use MedMNIST's ChestMNIST image record ({MEDMNIST_RECORDS}), saved as {IMAGE_IDS}; "
              "it has the header split,index,image_id.")
    if not rows or tuple(cell.strip() for cell in rows[0]) != IDS_HEADER:
        found = ",".join(rows[0]) if rows else "an empty file"
        raise BoxFileError(path, f"does not have the columns split,index,image_id (found {found!r})", remedy)
    names = {}
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != 3 or row[0].strip() not in SPLITS or not row[1].strip().isdigit() or not row[2].strip():
            raise BoxFileError(path, f"line {line} is not split (train/val/test), index, image name: {row}",
                               remedy)
        key = (row[0].strip(), int(row[1]))
        if key in names:
            raise BoxFileError(path, f"line {line} repeats {key[0]} image {key[1]}", remedy)
        names[key] = row[2].strip()
    return names


def box_corners(xywh, size: int) -> np.ndarray:
    """Boxes in NIH's 1024-pixel coordinates scaled onto ``size``-pixel images.

    Parameters
    ----------
    xywh : array-like of float, shape (N, 4) or (4,)
        x, y (top left), width, height at 1024x1024.
    size : int
        The ChestMNIST side: 28, 64, 128 or 224.

    Returns
    -------
    ndarray of float64, shape (N, 4)
        x0, y0, x1, y1 at ``size`` pixels: MedMNIST+ resizes without
        cropping, so both axes scale by ``size / 1024``.
    """
    if size not in MEDMNIST_SIZES:
        raise ValueError(f"size must be one of {MEDMNIST_SIZES}, got {size!r}")
    xywh = np.atleast_2d(np.asarray(xywh, np.float64))
    if xywh.shape[1:] != (4,):
        raise ValueError(f"xywh must have shape (N, 4), got {xywh.shape}")
    scale = size / NIH_SIDE
    return np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1) * scale


def box_mask(corners, size: int) -> np.ndarray:
    """The pixels of a ``size`` x ``size`` image that boxes overlap, shape (size, size), bool.

    A pixel (row r, column c) covers [c, c+1) x [r, r+1); any overlap counts,
    so a box never vanishes however small (a 40-pixel nodule is 1.1 px at 28 px).
    """
    mask = np.zeros((size, size), bool)
    for x0, y0, x1, y1 in np.atleast_2d(corners):
        left, top = int(np.clip(np.floor(x0), 0, size - 1)), int(np.clip(np.floor(y0), 0, size - 1))
        right, bottom = int(np.clip(np.ceil(x1), left + 1, size)), int(np.clip(np.ceil(y1), top + 1, size))
        mask[top:bottom, left:right] = True
    return mask


class BoxMasks(LazyRows):
    """The boxes of a split's images as masks ``(N, size, size)``, drawn when indexed.

    Images without a box (of the chosen finding) give all-False masks.
    """

    dtype = np.dtype(bool)
    what, what_ja = "box masks", "ボックスのマスク"

    def __init__(self, corners_by_index: dict[int, np.ndarray], n_images: int, size: int, rows=None):
        super().__init__(np.arange(n_images), rows)
        self.corners_by_index, self.size = corners_by_index, int(size)

    @property
    def row_shape(self) -> tuple:
        return self.size, self.size

    def decode(self, stored):
        masks = np.zeros((len(stored), self.size, self.size), bool)
        for row, index in enumerate(stored):
            if int(index) in self.corners_by_index:
                masks[row] = box_mask(self.corners_by_index[int(index)], self.size)
        return masks


@dataclasses.dataclass(frozen=True)
class ChestBoxes:
    """NIH's boxes on ChestMNIST's images: one entry per box.

    Attributes
    ----------
    split : ndarray of str, shape (B,)
        The ChestMNIST split of each box's image.
    index : ndarray of int64, shape (B,)
        The image's index in that split.
    image, finding : ndarray of str, shape (B,)
        NIH's file name and the finding.
    xywh : ndarray of float64, shape (B, 4)
        The box at 1024x1024.
    unmatched : tuple of str
        Box images that the image record does not list (none with the real files).
    """
    split: np.ndarray
    index: np.ndarray
    image: np.ndarray
    finding: np.ndarray
    xywh: np.ndarray
    unmatched: tuple = ()

    def __len__(self) -> int:
        return len(self.index)

    def indices(self, split: str) -> np.ndarray:
        """Sorted indices of the split's images that carry at least one box."""
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        return np.unique(self.index[self.split == split])

    def held_out(self) -> dict[str, np.ndarray]:
        """The boxed images of the train and val splits: what training must not see."""
        return {split: self.indices(split) for split in ("train", "val")}

    def corners(self, size: int) -> np.ndarray:
        """Every box at ``size`` pixels: (B, 4) x0, y0, x1, y1 (see :func:`box_corners`)."""
        return box_corners(self.xywh, size)

    def masks(self, split: str, n_images: int, size: int, finding: str | None = None) -> BoxMasks:
        """The boxes of a split of ``n_images`` images as lazy masks (N, size, size).

        ``finding`` keeps that finding's boxes only; an image with several
        boxes gets their union.
        """
        if finding is not None and finding not in BOX_FINDINGS:
            raise ValueError(f"finding must be one of {BOX_FINDINGS}, got {finding!r}")
        chosen = (self.split == split) & ((self.finding == finding) if finding else True)
        if np.any(self.index[chosen] >= n_images):
            raise ValueError(f"the image record lists {split} images beyond the {n_images} of the split: "
                             "it belongs to another version of ChestMNIST")
        corners = self.corners(size)[chosen]
        by_index: dict[int, list] = {}
        for index, box in zip(self.index[chosen], corners):
            by_index.setdefault(int(index), []).append(box)
        return BoxMasks({index: np.array(boxes) for index, boxes in by_index.items()}, n_images, size)


def box_files(root=None) -> tuple[Path, Path]:
    """Where the box list and the image record are looked for: the MedMNIST folder."""
    folder = Path(root).expanduser() if root is not None else default_root()
    return folder / BOX_LIST, folder / IMAGE_IDS


def box_files_present(root=None) -> bool:
    return all(path.exists() for path in box_files(root))


def match_boxes(boxes: list[Box], image_ids: dict[tuple[str, int], str]) -> ChestBoxes:
    """Put each box on the ChestMNIST image made from its NIH image."""
    where = {_stem(name): key for key, name in image_ids.items()}
    matched = [(where[_stem(box.image)], box) for box in boxes if _stem(box.image) in where]
    unmatched = tuple(sorted({box.image for box in boxes if _stem(box.image) not in where}))
    return ChestBoxes(np.array([key[0] for key, _ in matched], dtype="<U5"),
                      np.array([key[1] for key, _ in matched], np.int64),
                      np.array([box.image for _, box in matched], dtype=str),
                      np.array([box.finding for _, box in matched], dtype=str),
                      np.array([[box.x, box.y, box.w, box.h] for _, box in matched], np.float64).reshape(-1, 4),
                      unmatched)


def load_chest_boxes(root: str | os.PathLike | None = None) -> ChestBoxes:
    """NIH's boxes on ChestMNIST, from the two files in the MedMNIST folder.

    Raises
    ------
    BoxFilesMissing
        A file is not there (the message says which, where to get it and where to put it).
    BoxFileError
        A file is not in its format, or no box matches an image of the record.
    """
    box_path, ids_path = box_files(root)
    missing = [path for path in (box_path, ids_path) if not path.exists()]
    if missing:
        raise BoxFilesMissing(f"{' and '.join(str(path) for path in missing)} not found. "
                              + get_files_hint(box_path.parent))
    chest = match_boxes(read_box_list(box_path), read_image_ids(ids_path))
    if not len(chest):
        raise BoxFileError(ids_path, f"lists none of the images of {box_path}",
                           f"Use MedMNIST's record for ChestMNIST ({MEDMNIST_RECORDS}), not another dataset's.")
    return chest
