"""Constants shared by the demo tests and their fixtures."""
import os
import shutil

DATASET, MODEL, EPOCHS = "synthetic-28", "simple", 1
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
BAD_FILES = ("not_an_image.png", "truncated.png", "huge_10000.png", "tiny_1x1.png")
GOOD_FILES = ("sample.png", "xray_16bit.png", "rgba.png", "palette.png", "animated.gif",
              "exif_rotated.jpg", "large_rgb.png")
