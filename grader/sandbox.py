"""Run student code where it cannot read the course: bubblewrap (Debian package ``bubblewrap``).

The sandbox sees only the Python installation, the virtualenv, the
``exercise_logic`` library (read-only) and the folders it is given. It does
not see the gradebook, ``source/``, ``submitted/``, other students' files or
the kit's ``assignments/`` (which hold the solutions and hidden tests). It has
no network (its own network namespace: loopback only), its own PID namespace
(killing the sandbox kills everything in it) and a clean environment
(``NBGRADER_EXECUTION`` is not passed on). Its root and ``/dev`` are read-only;
what it may write is size-limited tmpfs (``/tmp``, ``/dev/shm``, the kernel's
working folder) and the host folders it is given; its processes run under the
rlimits of ``grader.limits``.

Run as a script, this file is the kernel launcher of the ``gradcam-sandbox``
kernel spec that ``python -m grader init`` writes: jupyter starts it with the
connection file, and it execs ``bwrap ... python -m ipykernel_launcher -f
<connection file>``. The kernel talks over IPC sockets in a private runtime
folder (TCP would not cross the network namespace).
"""
from __future__ import annotations

import functools
import os
import shutil
import sys
from pathlib import Path

if __package__:
    from .limits import SHM_SIZE, Limits, under_rlimits
else:               # run as the kernel launcher script (see the bottom): grader/ is on sys.path
    from limits import SHM_SIZE, Limits, under_rlimits

LIBRARY = Path(__file__).resolve().parents[1] / "exercise_logic"
ENV_CACHE = "GRADER_SANDBOX_CACHE"      # read-only model cache for the notebook's training cell
ENV_OFF = "GRADER_NO_SANDBOX"           # "1": run unsandboxed (tests of the fallback only)
ENV_PARENT = "GRADER_KERNEL_PARENT"     # the grading worker's pid, which starts every kernel
# The environment of every process that runs student code, sandboxed or not:
# Step 4's ``exercise_logic.explore(...)`` prints a note instead of starting a server, and
# the self-check cell (``exercise_logic.self_check(...)``) a note instead of checking.
STUDENT_ENV = {"EXERCISE_LOGIC_EXPLORE": "off", "EXERCISE_LOGIC_SELF_CHECK": "off"}


class SandboxUnavailable(RuntimeError):
    pass


def bwrap_path() -> str | None:
    return shutil.which("bwrap")


def die_with_parent() -> None:
    """Have the kernel SIGKILL this process when its parent dies (Linux; a no-op elsewhere)."""
    try:
        import ctypes
        import signal
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)     # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def available() -> bool:
    """True when bubblewrap exists and can create namespaces here."""
    path = bwrap_path()
    return os.environ.get(ENV_OFF) != "1" and path is not None and _namespaces_work(path)


@functools.lru_cache(maxsize=None)
def _namespaces_work(path: str) -> bool:
    """One trial run of bubblewrap per process (every submission asks)."""
    import subprocess
    probe = subprocess.run([path, "--ro-bind", "/", "/", "--unshare-all", "--dev", "/dev", "true"],
                           capture_output=True)
    return probe.returncode == 0


@functools.lru_cache(maxsize=None)
def _sizes_work(path: str) -> bool:
    """Whether this bubblewrap can cap a tmpfs (``--size``, bubblewrap 0.8+)."""
    import subprocess
    probe = subprocess.run([path, "--ro-bind", "/", "/", "--size", str(2**20), "--tmpfs", "/tmp", "true"],
                           capture_output=True)
    return probe.returncode == 0


INSTALL_HINT = ("bubblewrap is needed to sandbox student code: `apt-get install bubblewrap` "
                "(Debian/Ubuntu). / 学生のコードを隔離して実行するには bubblewrap が必要です。")


def _python_roots() -> list[str]:
    """Folders a Python process of this virtualenv needs to read."""
    roots = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix,
                                           sys.base_exec_prefix)}
    roots.add(os.path.dirname(os.path.realpath(sys.executable)))
    return sorted(roots)


def sandboxed(command: list[str], *, cwd: str, readonly: list[str] = (), writable: list[str] = (),
              env: dict | None = None, library: bool = True, limits: Limits | None = None,
              private_cwd: bool = False) -> list[str]:
    """The argv that runs ``command`` in bubblewrap under ``limits`` (default: :class:`Limits`).

    ``private_cwd``: the working folder is a fresh tmpfs of the disk limit
    (what the command writes there stays inside), instead of the host folder.
    """
    bwrap = bwrap_path()
    if not bwrap:
        raise SandboxUnavailable(INSTALL_HINT)
    limits = limits or Limits()

    def tmpfs(path, size):
        return (["--size", str(size)] if _sizes_work(bwrap) else []) + ["--tmpfs", path]

    argv = [bwrap, "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
            "--proc", "/proc", "--dev", "/dev", *tmpfs("/dev/shm", SHM_SIZE), "--remount-ro", "/dev",
            *tmpfs("/tmp", limits.disk)]
    for system in ("/usr", "/etc", "/lib", "/lib64", "/bin", "/sbin", "/lib32", "/libx32"):
        if os.path.exists(system):
            argv += ["--ro-bind", system, system]
    for root in _python_roots():
        argv += ["--ro-bind", root, root]
    # the virtualenv itself (sys.prefix may be a symlinked path)
    argv += ["--ro-bind", sys.prefix, sys.prefix]
    if library:
        argv += ["--ro-bind", str(LIBRARY), str(LIBRARY)]
    for path in readonly:
        argv += ["--ro-bind", path, path]
    for path in writable:
        argv += ["--bind", path, path]
    if private_cwd:
        argv += tmpfs(cwd, limits.disk)
    argv += ["--remount-ro", "/", "--chdir", cwd, "--clearenv"]
    base_env = {"PATH": f"{os.path.dirname(sys.executable)}:/usr/local/bin:/usr/bin:/bin",
                "HOME": "/tmp", "LANG": "C.UTF-8", "MPLBACKEND": "Agg", "TF_CPP_MIN_LOG_LEVEL": "2",
                "PYTHONDONTWRITEBYTECODE": "1", **STUDENT_ENV}
    for key in ("OMP_NUM_THREADS", "TF_NUM_INTEROP_THREADS", "TF_NUM_INTRAOP_THREADS"):
        if os.environ.get(key):
            base_env[key] = os.environ[key]
    base_env.update(env or {})
    for key, value in base_env.items():
        argv += ["--setenv", key, value]
    return argv + under_rlimits(command, limits)


def kernel_main(connection_file: str) -> None:
    """Exec ipykernel inside bwrap (this process becomes bwrap)."""
    import json
    connection_file = os.path.abspath(connection_file)
    with open(connection_file) as handle:
        info = json.load(handle)
    if info.get("transport") != "ipc" and os.environ.get(ENV_OFF) != "1":
        sys.exit("the sandbox kernel needs IPC transport (c.KernelManager.transport = 'ipc')")
    # the IPC sockets live next to the absolute prefix "ip" (a private runtime folder)
    runtime = os.path.dirname(os.path.abspath(info.get("ip", "kernel-ipc")))
    cwd = os.getcwd()
    readonly, env = [connection_file], {"JUPYTER_RUNTIME_DIR": runtime}
    cache = os.environ.get(ENV_CACHE)
    if cache and os.path.isdir(cache):
        readonly.append(cache)
        env["EXERCISE_LOGIC_CACHE"] = cache
    command = [sys.executable, "-m", "ipykernel_launcher", "-f", connection_file]
    die_with_parent()       # the grading worker is the parent: a killed worker leaves no kernel behind
    worker = os.environ.get(ENV_PARENT)
    if worker and os.getppid() != int(worker):
        # the worker died before prctl took effect: no signal would ever stop this kernel
        sys.exit("the grading worker that started this kernel has gone")
    if os.environ.get(ENV_OFF) == "1":
        os.execv(sys.executable, command)
    argv = sandboxed(command, cwd=cwd, readonly=readonly, writable=[runtime], env=env,
                     limits=Limits.from_env(), private_cwd=True)
    os.execv(argv[0], argv)


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "kernel":
        sys.exit("usage: sandbox.py kernel CONNECTION_FILE")
    kernel_main(sys.argv[2])
