"""Fixtures of the grader tests: the kit on sys.path, the spec, variants, a prepared cross-check."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
for path in (str(REPO), str(HERE)):
    if path not in sys.path:
        sys.path.insert(0, path)


def pytest_configure(config):
    config.addinivalue_line("markers", "e2e: end-to-end runs of real nbgrader (minutes)")


@pytest.fixture(scope="session")
def spec():
    from assignments.gradcam import spec as module
    return module


@pytest.fixture(scope="session")
def prepared(tmp_path_factory):
    """Models, inputs and reference maps of the cross-check, built once."""
    from grader import crosscheck
    return crosscheck.prepare(tmp_path_factory.mktemp("crosscheck") / "prepared")


needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None,
                                 reason="bubblewrap is not installed (apt-get install bubblewrap)")


def sandbox_works() -> bool:
    from grader import sandbox
    return sandbox.available()


@pytest.fixture(scope="session")
def tool_env():
    from grader.course import tool_env as make
    env = make()
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env



def run_grader(*args, env, timeout=900, check=True) -> subprocess.CompletedProcess:
    """``python -m grader ARGS`` as an instructor runs it."""
    done = subprocess.run([sys.executable, "-m", "grader", *map(str, args)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)
    if check:
        assert done.returncode == 0, f"grader {args[0]} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="session")
def released_course(tmp_path_factory, tool_env):
    """A course after ``init`` and ``release`` (both languages), made once; tests grade copies of it."""
    course = tmp_path_factory.mktemp("released") / "course"
    outputs = {"init": run_grader("init", course, "--cell-timeout", 10, "--setup-timeout", 120,
                                  env=tool_env).stdout,
               "release": run_grader("release", course, env=tool_env).stdout}
    return course, outputs


def copy_course(released: Path, target: Path) -> Path:
    """A private copy of a released course (the sources stay links to the kit)."""
    shutil.copytree(released, target, symlinks=True)
    return target
