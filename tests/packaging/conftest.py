"""Fixtures of the packaging tests: the kit as a student gets it, and Colab-like environments."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import colab_like  # noqa: E402

if str(colab_like.REPO) not in sys.path:  # assignments/ lives at the repository root
    sys.path.insert(0, str(colab_like.REPO))


@pytest.fixture(scope="session")
def kit_snapshot(tmp_path_factory) -> Path:
    """The working tree as a git repository of its own (the source of path and git installs)."""
    return colab_like.snapshot(tmp_path_factory.mktemp("kit"))


@pytest.fixture(scope="session")
def kit_wheel(kit_snapshot, tmp_path_factory) -> Path:
    return colab_like.build_wheel(kit_snapshot, tmp_path_factory.mktemp("wheel"))


@pytest.fixture(scope="session")
def kit_version(kit_wheel) -> str:
    return kit_wheel.name.split("-")[1]


@pytest.fixture(scope="session")
def kit_sources(kit_snapshot, kit_wheel) -> dict[str, str]:
    """What a student can pip-install: a local path, a wheel file, a git URL."""
    return {"path": str(kit_snapshot), "wheel": str(kit_wheel), "git": f"git+file://{kit_snapshot}"}


@pytest.fixture(scope="session")
def colab_base(tmp_path_factory):
    """The heavy Colab-like base, built once per session (None in faithful mode)."""
    if colab_like.FAITHFUL:
        yield None
        return
    wheelhouse = tmp_path_factory.mktemp("wheelhouse")
    folder = tmp_path_factory.mktemp("colab-base")
    base = colab_like.create_colab_like(folder / "venv", wheelhouse)
    base.pip_env = colab_like.offline_pip_env(wheelhouse)
    yield base
    shutil.rmtree(folder)  # 2.6 GB: pytest would keep it with the last sessions' folders


@pytest.fixture
def new_colab_env(colab_base, tmp_path):
    """A fresh Colab-like environment: layered over the session's base, or built from scratch."""
    made = []

    def make(system_site_packages: bool = False) -> colab_like.PythonEnv:
        folder = tmp_path / "venv"
        made.append(folder)
        if colab_base is None:
            return colab_like.create_colab_like(folder, system_site_packages=system_site_packages)
        return colab_like.layer_over(colab_base, folder, system_site_packages=system_site_packages)
    yield make
    for folder in made:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def assignment_spec():
    from assignments.gradcam import spec
    return spec


@pytest.fixture(scope="session")
def release_notebook(kit_snapshot, assignment_spec, tmp_path_factory):
    """The Japanese student notebook, made by nbgrader's generate_assignment as the grader releases it."""
    assignment = assignment_spec.ASSIGNMENTS["ja"]
    course = tmp_path_factory.mktemp("course")
    shutil.copytree(kit_snapshot / "assignments" / "source" / assignment, course / "source" / assignment)
    env = {**os.environ, "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")}
    done = subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", assignment, "--force",
                           f"--CourseDirectory.root={course}"], cwd=course, env=env, capture_output=True,
                          text=True, timeout=600)
    notebook = course / "release" / assignment / f"{assignment_spec.NOTEBOOK}.ipynb"
    assert done.returncode == 0 and notebook.exists(), done.stdout[-3000:] + done.stderr[-3000:]
    return nbformat.read(notebook, as_version=4)
