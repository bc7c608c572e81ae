"""The bubblewrap sandbox: no course files, no network, no grader environment; bounded writes and memory."""
from __future__ import annotations

import os
import subprocess
import sys

from conftest import REPO, needs_bwrap
from grader import sandbox
from grader.limits import Limits


def _run(code: str, work, limits=None, **kwargs) -> subprocess.CompletedProcess:
    argv = sandbox.sandboxed([sys.executable, "-c", code], cwd=str(work), writable=[str(work)], library=False,
                             limits=limits, **kwargs)
    return subprocess.run(argv, capture_output=True, text=True, timeout=60)


@needs_bwrap
def test_sandbox_hides_files_network_and_environment(tmp_path, monkeypatch):
    course = tmp_path / "course"
    (course / "source").mkdir(parents=True)
    (course / "gradebook.db").write_text("secret")
    secret = tmp_path / "elsewhere" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("secret")
    solution = REPO / "assignments" / "gradcam" / "solution_cell.py"      # this checkout's, wherever it is
    assert solution.exists()
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    monkeypatch.delenv("EXERCISE_LOGIC_EXPLORE", raising=False)
    code = ("import os, socket; "
            f"print([p for p in ({str(course / 'gradebook.db')!r}, {str(secret)!r}, {str(solution)!r}, "
            f"{str(REPO / 'assignments')!r}) if os.path.exists(p)]); "
            "print([n for _, n in socket.if_nameindex()], 'NBGRADER_EXECUTION' in os.environ, "
            "os.environ.get('EXERCISE_LOGIC_EXPLORE')); "
            "open('out.txt', 'w').write('ok')")
    done = _run(code, work)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["[]", "['lo'] False off"]       # explore() starts no server
    assert (work / "out.txt").read_text() == "ok"


@needs_bwrap
def test_only_the_given_folders_and_sized_scratch_are_writable(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    limits = Limits(disk=8 * 2**20)
    code = '''
import os
for path in ("/evil", "/dev/evil", "/usr/evil"):
    try:
        open(path, "w")
        print("wrote", path)
    except OSError as error:
        print("refused", path, error.errno)
try:
    with open("/tmp/big", "wb") as handle:
        for _ in range(16):
            handle.write(b"x" * 2**20)
    print("wrote /tmp/big")
except OSError as error:
    print("full", error.errno)
'''
    done = _run(code, work, limits)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [line.split()[0] for line in lines[:3]] == ["refused"] * 3, lines
    assert lines[3] in ("full 28", "full 27"), lines        # ENOSPC (tmpfs size) or EFBIG (RLIMIT_FSIZE)


@needs_bwrap
def test_memory_rlimit_raises_memory_error(tmp_path):
    code = "buffers = []\ntry:\n    while True:\n        buffers.append(bytearray(16 * 2**20))\n" \
           "except MemoryError:\n    print('stopped at', len(buffers) * 16, 'MiB')\n"
    done = _run(code, tmp_path, Limits(memory=256 * 2**20))
    assert done.returncode == 0, done.stderr
    stopped = int(done.stdout.split()[2])
    assert 128 <= stopped <= 256, done.stdout


def test_kernel_spec_uses_the_sandbox(tmp_path):
    from grader import course
    path = course.init(tmp_path / "c")
    spec = (path / ".grader/share/kernels/gradcam-sandbox/kernel.json").read_text()
    assert "sandbox.py" in spec and '"interrupt_mode": "message"' in spec
    config = (path / "nbgrader_config.py").read_text()
    for needle in ("raise_on_iopub_timeout = False", "timeout_func", 'transport = "ipc"', "StripTracebacks",
                   "ClearHiddenTests"):
        assert needle in config


def test_grading_workers_pass_the_explorer_switch_to_unsandboxed_kernels(monkeypatch):
    """Without the sandbox, the kernel (nbgrader's python3) and the cross-check inherit the worker's environment."""
    from grader.schedule import grading_env
    monkeypatch.delenv("EXERCISE_LOGIC_EXPLORE", raising=False)
    env = grading_env(1, Limits(), cell_timeout=10)
    assert env["EXERCISE_LOGIC_EXPLORE"] == "off" and env["GRADER_CELL_TIMEOUT"] == "10"


def test_a_kernel_whose_worker_has_gone_never_starts(tmp_path):
    # A worker killed while its kernel starts: the kernel, reparented before it asked to
    # die with its parent, must stop by itself instead of running on unsupervised.
    connection = tmp_path / "kernel.json"
    connection.write_text('{"transport": "ipc", "ip": "%s"}' % (tmp_path / "kernel-ipc"))
    env = {**os.environ, sandbox.ENV_PARENT: str(os.getpid() + 10**6)}       # not its parent
    done = subprocess.run([sys.executable, str(REPO / "grader" / "sandbox.py"), "kernel", str(connection)],
                          capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 1
    assert "grading worker that started this kernel has gone" in done.stderr
