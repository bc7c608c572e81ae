"""Constants and raw-HTTP steps shared by the demo tests and their fixtures."""
import json
import os
import shutil
from pathlib import Path

import httpx

DATASET, MODEL, EPOCHS = "synthetic-28", "simple", 1
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
BAD_FILES = ("not_an_image.png", "truncated.png", "huge_10000.png", "tiny_1x1.png")
GOOD_FILES = ("sample.png", "xray_16bit.png", "rgba.png", "palette.png", "animated.gif",
              "exif_rotated.jpg", "large_rgb.png")


def upload(http: httpx.Client, base: str, path: Path) -> str:
    """POST a file to ``/gradio_api/upload``: its path on the server."""
    with open(path, "rb") as handle:
        return http.post(f"{base}gradio_api/upload", files={"files": handle}).json()[0]


def raw_explain(http: httpx.Client, base: str, uploaded: str) -> tuple[str, bytes]:
    """POST /gradio_api/call/explain, read the event stream, download the overlay: (its path, its bytes)."""
    payload = {"data": [{"path": uploaded, "meta": {"_type": "gradio.FileData"}},
                        "predicted", "last_conv_layer", "gradcam", 0.4]}
    event = http.post(f"{base}gradio_api/call/explain", json=payload).json()["event_id"]
    stream = http.get(f"{base}gradio_api/call/explain/{event}").text
    lines = stream.splitlines()
    assert "event: complete" in lines, stream[:500]
    result = json.loads(lines[lines.index("event: complete") + 1][len("data: "):])
    return result[1]["path"], http.get(result[1]["url"]).content
