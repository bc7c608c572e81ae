"""What the instructor sees in the terminal: only the kit's own lines, and a quiet stop."""
from __future__ import annotations

import re
import signal

import pytest
from demo_support import DATASET, EPOCHS

# The kit's own lines: the launcher's "[demo] ..." and the app's log records (logger "demo").
KIT_LINE = re.compile(r"^(\[demo\] |\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ demo (INFO|WARNING) )")


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_start_up_shows_only_the_kits_lines_and_a_signal_stops_it_quietly(demo_dirs, store, tmp_path, stop):
    import httpx

    from demo.server_process import start_demo
    env = {"EXERCISE_LOGIC_CACHE": str(demo_dirs["cache"]), "MEDMNIST_ROOT": str(demo_dirs["medmnist"]),
           "TF_CPP_MIN_LOG_LEVEL": None}  # unset, as in a fresh shell: the kit hides TensorFlow's noise itself
    server = start_demo(["--epochs", EPOCHS, "--dataset", DATASET, "--workdir", tmp_path, "--lang", "en"],
                        log_path=tmp_path / "terminal.log", env=env)
    assert httpx.get(server.url, timeout=30).status_code == 200      # the page is served
    code = server.stop(stop)
    output = server.log()
    lines = [line for line in output.splitlines() if line.strip()]
    assert code == 0, output
    assert [line for line in lines if not KIT_LINE.match(line)] == [], output
    assert lines[0].startswith("[demo] Grad-CAM explorer: http://127.0.0.1:") and lines[-1] == "[demo] stopped."
    for noise in ("absl", "Traceback", "Exception ignored", "SystemExit", "oneDNN", "Keyboard"):
        assert noise not in output, output
    assert not list(tmp_path.glob("run-*")), "the app's temporary folder is removed when it stops"
