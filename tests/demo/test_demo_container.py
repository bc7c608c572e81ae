"""The Dockerfile's entry command, run outside Docker with the model cache mounted read-only.

There is no container engine in CI: the test runs the image's ENTRYPOINT + CMD
with this Python, the cache bind-mounted read-only by bubblewrap (as root,
``chmod`` would not stop a write), and checks that the server starts, explains
an image and leaves the cache exactly as it was.
"""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from demo_support import EPOCHS

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"


def dockerfile_entry() -> tuple[list[str], str]:
    """(ENTRYPOINT + CMD, the model cache folder of ENV EXERCISE_LOGIC_CACHE)."""
    text = DOCKERFILE.read_text(encoding="utf-8")
    entry = json.loads(re.search(r"^ENTRYPOINT (\[.*\])$", text, re.MULTILINE).group(1))
    command = json.loads(re.search(r"^CMD (\[.*\])$", text, re.MULTILINE).group(1))
    cache = re.search(r"EXERCISE_LOGIC_CACHE=(\S+)", text).group(1)
    return entry + command, cache


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(path.relative_to(folder)): (path.stat().st_size, path.stat().st_mtime_ns)
            for path in sorted(folder.rglob("*"))}


def test_the_images_command_serves_from_a_read_only_model_cache(demo_dirs, store, tmp_path, image_files):
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        pytest.skip("bubblewrap is not installed (apt-get install bubblewrap)")
    from gradio_client import Client, handle_file
    from PIL import Image

    from demo.server_process import ServerFailed, start_demo
    command, image_cache = dockerfile_entry()
    assert command[:3] == ["python", "-m", "demo"] and image_cache.startswith("/")
    args = command[3:]
    port = args.index("--port")
    del args[port:port + 2]                                          # a free port instead of 7860
    if "--workdir" in args:
        args[args.index("--workdir") + 1] = str(tmp_path / "work")   # the container's /tmp
    cache = demo_dirs["cache"]
    before = snapshot(cache)
    read_only = [bwrap, "--dev-bind", "/", "/", "--ro-bind", str(cache), str(cache), "--"]
    try:   # --epochs: the session's model is a 1-epoch one (the image trains with the default)
        server = start_demo([*args, "--epochs", EPOCHS], log_path=tmp_path / "server.log", wrapper=read_only,
                            env={"EXERCISE_LOGIC_CACHE": str(cache), "MEDMNIST_ROOT": str(demo_dirs["medmnist"])})
    except ServerFailed as error:
        pytest.fail(str(error))
    try:
        client = Client(server.url, analytics_enabled=False, verbose=False, download_files=str(tmp_path))
        label, overlay = client.predict(handle_file(str(image_files["sample.png"])), api_name="/explain")
        assert label["confidences"]
        with Image.open(overlay) as picture:
            picture.load()
            assert picture.size == (224, 224)
    finally:
        server.stop()
    log = server.log()
    assert "Read-only file system" not in log and "Traceback" not in log, log
    assert snapshot(cache) == before                  # not a byte written to the model cache
