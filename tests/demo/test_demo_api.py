"""The running app through its API: gradio_client and raw HTTP against ``python -m demo``."""
from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from demo_support import raw_explain, upload
from gradio_client import handle_file
from gradio_client.exceptions import AppError
from PIL import Image


def test_explain_with_defaults(client, image_files, loaded):
    label, overlay = client.predict(handle_file(str(image_files["sample.png"])), api_name="/explain")
    confidences = {item["label"]: item["confidence"] for item in label["confidences"]}
    assert set(confidences) == {"正常", "異常"} and sum(confidences.values()) == pytest.approx(1.0)
    with Image.open(overlay) as image:
        assert image.format == "PNG" and image.size == (224, 224)
        image.load()  # complete, not truncated

    # Every parameter has a named choice; a Japanese class name works too.
    label, _ = client.predict(handle_file(str(image_files["rgba.png"])), target="異常",
                              layer=loaded.conv_layers[0], method="gradcam", opacity=0.8, api_name="/explain")
    assert label["label"] in ("正常", "異常")


def test_explain_is_documented_with_defaults(client):
    api = client.view_api(print_info=False, return_format="dict")
    assert list(api["named_endpoints"]) == ["/explain"]          # the page's own events are private
    parameters = api["named_endpoints"]["/explain"]["parameters"]
    assert [p["parameter_name"] for p in parameters] == ["image", "target", "layer", "method", "opacity"]
    assert [p["parameter_has_default"] for p in parameters] == [False, True, True, True, True]
    assert [p["parameter_default"] for p in parameters[1:]] == ["predicted", "last_conv_layer", "gradcam", 0.4]


def test_bad_upload_is_refused_clearly_and_the_server_keeps_serving(client, image_files, demo_dirs):
    for name, words in (("not_an_image.png", "画像ファイルとして読めません"), ("huge_10000.png", "大きすぎ"),
                        ("tiny_1x1.png", "小さすぎ"), ("truncated.png", "壊れている")):
        with pytest.raises(AppError) as caught:
            client.predict(handle_file(str(image_files[name])), api_name="/explain")
        assert words in str(caught.value) and "Traceback" not in str(caught.value)
    with pytest.raises(AppError, match="abnormal"):
        client.predict(handle_file(str(image_files["sample.png"])), target="cat", api_name="/explain")
    label, _ = client.predict(handle_file(str(image_files["palette.png"])), api_name="/explain")
    assert label["confidences"]
    # A student's mistake is not a server error: no stack trace in the instructor's log either.
    assert "Traceback" not in (demo_dirs["server"] / "server.log").read_text(errors="replace")


def test_identical_concurrent_requests_get_complete_pngs(server, image_files):
    with httpx.Client(timeout=60) as http:
        uploaded = upload(http, server, image_files["sample.png"])
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda _: raw_explain(http, server, uploaded), range(24)))
    paths, bodies = zip(*answers)
    # Each its own file, served from where the app wrote it (inside Gradio's cache: no copy).
    assert len(set(paths)) == len(paths)
    assert all(Path(path).parent.parts[-2:] == ("gradio", "out") for path in paths), paths[:2]
    for body in bodies:
        with Image.open(io.BytesIO(body)) as image:
            image.load()
            assert image.format == "PNG" and image.size == (224, 224)


def test_upload_limit_and_private_files(server, demo_dirs):
    with httpx.Client(timeout=30) as http:
        too_big = http.post(f"{server}gradio_api/upload", files={"files": ("big.png", b"0" * (11 << 20))})
        assert too_big.status_code == 413
        # A path the client names but did not upload is not read.
        secret = demo_dirs["files"] / "secret.png"
        Image.new("L", (28, 28)).save(secret)
        payload = {"data": [{"path": str(secret), "meta": {"_type": "gradio.FileData"}}]}
        event = http.post(f"{server}gradio_api/call/explain", json=payload)
        if event.status_code == 200:
            stream = http.get(f"{server}gradio_api/call/explain/{event.json()['event_id']}").text
            assert "event: error" in stream
        else:
            assert event.status_code >= 400
        config = http.get(f"{server}config").json()
    assert config.get("analytics_enabled") is False
    # Gradio's cache lives in the app's own folder, which it removes when it stops.
    runs = list(Path(demo_dirs["server"]).glob("run-*/gradio"))
    assert runs and any(runs[0].rglob("*.png"))
