"""Colab-like Python environments, built for real with pip, to install the kit into.

A Colab-like environment holds what Google Colab provides that the kit could
use (:data:`COLAB_PACKAGES`: the real ``tensorflow`` distribution, the
scientific stack, ipykernel) and nothing of the kit's extras (no gradio, no
nbgrader, no Jupyter server).

Two ways to get one:

- fast (the test suite): one base environment per test session, and for each
  test a fresh virtual environment layered over it (a ``.pth`` file adds the
  base's site-packages). pip installs into the layer and sees the base's
  distributions as installed, exactly as it would see Colab's. Installs run
  offline (``--no-index``) from a wheelhouse filled while the base is built, so
  a requirement the base does not satisfy fails the install.
- faithful (``EXERCISE_LOGIC_COLAB_FAITHFUL=1``, ``make colab-check``): every
  environment is built from scratch and pip uses the package index, as a
  student's would.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

#: What Colab provides that matters to the kit (Colab holds far more).
COLAB_PACKAGES = ["tensorflow==2.21.*", "numpy", "scipy", "matplotlib", "pillow", "tqdm", "pandas",
                  "scikit-learn", "ipykernel"]
FAITHFUL = os.environ.get("EXERCISE_LOGIC_COLAB_FAITHFUL") == "1"

_LIST_DISTRIBUTIONS = ("import importlib.metadata as m, json; "
                       "print(json.dumps(sorted({(d.metadata['Name'], d.version) for d in m.distributions()})))")


def normalise(name: str) -> str:
    """A distribution name as PEP 503 compares it."""
    return re.sub(r"[-_.]+", "-", name).lower()


def medmnist_requirement() -> str:
    lines = (REPO / "requirements-medmnist.txt").read_text().splitlines()
    return next(line for line in lines if line.strip() and not line.startswith("#"))


def _run(command: list, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run([str(part) for part in command], capture_output=True, text=True, **kwargs)
    if done.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, command))} failed ({done.returncode}):\n"
                             f"{done.stdout[-3000:]}\n{done.stderr[-5000:]}")
    return done


class PythonEnv:
    """A virtual environment: its python, pip and installed distributions.

    ``pip_env`` holds the PIP_* variables every pip call in it gets (the
    offline settings in fast mode); the notebooks' kernels get them too.
    """

    def __init__(self, root: Path, pip_env: dict | None = None):
        self.root = Path(root)
        self.python = self.root / "bin" / "python"
        self.pip_env = dict(pip_env or {})

    def environ(self, **extra) -> dict:
        return {**os.environ, "PYTHONPATH": "", **self.pip_env, **extra}

    def run(self, *args, cwd=None, **env) -> subprocess.CompletedProcess:
        """Run this python; by default in its own folder, so that no checkout is on ``sys.path``."""
        return _run([self.python, *args], cwd=cwd or self.root, env=self.environ(**env), timeout=900)

    def pip(self, *args, **env) -> subprocess.CompletedProcess:
        return self.run("-m", "pip", *args, **env)

    def site_packages(self) -> Path:
        return Path(self.run("-c", "import sysconfig; print(sysconfig.get_path('purelib'))").stdout.strip())

    def distributions(self) -> set[tuple[str, str]]:
        """(normalised name, version) of every distribution this python sees."""
        listed = json.loads(self.run("-c", _LIST_DISTRIBUTIONS).stdout)
        return {(normalise(name), version) for name, version in listed}

    def kernel_spec(self, jupyter_dir: Path, name: str, **env) -> str:
        """Register this python as a Jupyter kernel under ``jupyter_dir`` (for JUPYTER_PATH)."""
        folder = Path(jupyter_dir) / "kernels" / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "kernel.json").write_text(json.dumps({
            "argv": [str(self.python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": name, "language": "python",
            "env": {"PYTHONPATH": "", **self.pip_env, **env}}))
        return name


def _venv(folder: Path, *options: str, system_site_packages: bool = False) -> None:
    if system_site_packages:
        options += ("--system-site-packages",)
    _run([sys.executable, "-m", "venv", *options, folder])


def create_colab_like(folder: Path, wheelhouse: Path | None = None, *,
                      system_site_packages: bool = False) -> PythonEnv:
    """Build a Colab-like environment from scratch (needs the package index).

    medmnist is installed without its dependencies, as after the lecture's own
    ``pip install medmnist`` on Colab, where PyTorch is already there.
    With ``wheelhouse``, the build back-end the kit needs is downloaded into it,
    for offline installs later. ``system_site_packages`` enables the user's
    site-packages too, as on a shared (JupyterHub) installation.
    """
    _venv(folder, system_site_packages=system_site_packages)
    env = PythonEnv(folder)
    env.pip("install", "-q", "--upgrade", "pip")
    env.pip("install", "-q", *COLAB_PACKAGES)
    env.pip("install", "-q", "--no-deps", medmnist_requirement())
    if wheelhouse is not None:
        requires = _build_requires()
        env.pip("download", "-q", "--no-deps", "--dest", wheelhouse, *requires)
    return env


def _build_requires() -> list[str]:
    import tomllib
    return tomllib.loads((REPO / "pyproject.toml").read_text())["build-system"]["requires"]


def layer_over(base: PythonEnv, folder: Path, *, system_site_packages: bool = False) -> PythonEnv:
    """A fresh virtual environment that sees ``base``'s distributions and installs into itself."""
    _venv(folder, "--without-pip", system_site_packages=system_site_packages)
    env = PythonEnv(folder, base.pip_env)
    # addsitedir (not a bare path) so that the base's own .pth files are processed too
    (env.site_packages() / "colab_like_base.pth").write_text(
        f"import site; site.addsitedir({str(base.site_packages())!r})\n")
    return env


def offline_pip_env(wheelhouse: Path) -> dict:
    return {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheelhouse)}


def snapshot(folder: Path) -> Path:
    """The working tree's files (tracked and new, not ignored) as a fresh git repository."""
    listed = _run(["git", "-C", REPO, "ls-files", "-z", "--cached", "--others", "--exclude-standard"]).stdout
    for relative in filter(None, listed.split("\0")):
        source = REPO / relative
        if source.is_file():
            target = folder / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    git = ["git", "-C", folder, "-c", "user.name=kit-test", "-c", "user.email=kit-test@localhost",
           "-c", "commit.gpgsign=false"]
    _run(git + ["init", "-q"])
    _run(git + ["add", "-A"])
    _run(git + ["commit", "-q", "-m", "snapshot of the working tree"])
    return folder


def build_wheel(project: Path, folder: Path) -> Path:
    """``pip wheel`` of the kit, in an isolated build as pip does for users."""
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--wheel-dir", folder, project])
    return next(Path(folder).glob("exercise_logic-*.whl"))
