"""Fixtures of the grader tests: the kit on sys.path, the spec, variants, a prepared cross-check."""
from __future__ import annotations

import shutil
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

