"""The bubblewrap sandbox: no course files, no network, no grader environment."""
from __future__ import annotations

import subprocess
import sys

from conftest import needs_bwrap
from grader import sandbox


@needs_bwrap
def test_sandbox_hides_files_network_and_environment(tmp_path, monkeypatch):
    course = tmp_path / "course"
    (course / "source").mkdir(parents=True)
    (course / "gradebook.db").write_text("secret")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    code = ("import os, socket, glob; "
            f"print(os.path.exists({str(course / 'gradebook.db')!r}), "
            "os.path.exists('/work/main/assignments'), glob.glob('/root/*'), "
            "[n for _, n in socket.if_nameindex()], 'NBGRADER_EXECUTION' in os.environ); "
            "open('out.txt', 'w').write('ok')")
    argv = sandbox.bwrap_argv(cwd=str(work), writable=[str(work)], library=False)
    done = subprocess.run(argv + [sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False False ['/root/.pyenv'] ['lo'] False" or \
        done.stdout.strip().startswith("False False") and "['lo'] False" in done.stdout
    assert (work / "out.txt").read_text() == "ok"


def test_kernel_spec_uses_the_sandbox(tmp_path):
    from grader import course
    path = course.init(tmp_path / "c")
    spec = (path / ".grader/share/kernels/gradcam-sandbox/kernel.json").read_text()
    assert "sandbox.py" in spec and '"interrupt_mode": "message"' in spec
    config = (path / "nbgrader_config.py").read_text()
    for needle in ("raise_on_iopub_timeout = False", "timeout_func", 'transport = "ipc"', "StripTracebacks",
                   "ClearHiddenTests"):
        assert needle in config
