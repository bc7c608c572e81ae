"""Small files in the exact formats of NIH's box list and MedMNIST's image record."""

# NIH's header as released: "Bbox [x,y,w,h]" is split into four cells by its commas, then three empty ones.
NIH_HEADER = "Image Index,Finding Label,Bbox [x,y,w,h],,,\n"
ROWS = [  # (image, finding, x, y, w, h) at 1024 px, first row as in NIH's file
    ("00013118_008.png", "Atelectasis", 225.084745762712, 547.019216763771, 86.7796610169491, 79.1864406779661),
    ("00000003_001.png", "Nodule", 512.0, 256.0, 128.0, 64.0),
    ("00000003_001.png", "Mass", 100.0, 100.0, 40.0, 40.0),
    ("00000003_001.png", "Nodule", 700.0, 700.0, 50.0, 30.0),
    ("00000007_000.png", "Cardiomegaly", 300.0, 420.0, 460.0, 330.0),
    ("00099999_000.png", "Effusion", 10.0, 10.0, 20.0, 20.0),   # not in the image record
]
IDS = [("train", 3, "00013118_008.png"), ("val", 0, "00000003_001"), ("test", 5, "00000007_000.png"),
       ("test", 0, "00000001_000.png")]


def write_box_list(path, rows=ROWS, header=NIH_HEADER, row_tail="", newline="\n"):
    lines = [header.rstrip("\n")] + [",".join([image, finding] + [repr(float(v)) for v in box]) + row_tail
                                     for image, finding, *box in rows]
    path.write_bytes((newline.join(lines) + newline).encode())
    return path


def write_image_ids(path, ids=IDS, header="split,index,image_id"):
    path.write_text("\n".join([header] + [f"{split},{index},{name}" for split, index, name in ids]) + "\n")
    return path
