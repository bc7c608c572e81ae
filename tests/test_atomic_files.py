"""The one atomic-write helper: complete files or the old ones, never a part left behind."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from exercise_logic.atomic_files import atomic_path, atomic_write, atomic_write_text


def test_a_completed_write_replaces_the_file_and_leaves_no_temporary(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    target = folder / "record.json"
    target.write_text("old")
    atomic_write_text(target, "new ✓")
    assert target.read_text(encoding="utf-8") == "new ✓"
    assert os.listdir(folder) == ["record.json"]


def test_an_error_keeps_the_old_file_and_removes_the_part(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    target = folder / "data.npz"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_write(target) as out:
            out.write(b"half of the new")
            raise RuntimeError("disk full")
    assert target.read_bytes() == b"old"
    assert os.listdir(folder) == ["data.npz"]


def test_an_error_before_the_first_write_leaves_nothing(tmp_path):
    target = tmp_path / "sub" / "model.keras"
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(target, suffix=".part.keras") as partial:
            assert partial.name.endswith(".part.keras") and partial.parent == target.parent
            raise KeyboardInterrupt
    assert not target.exists() and os.listdir(target.parent) == []


def test_a_killed_writer_never_leaves_a_truncated_file(tmp_path):
    """SIGKILL half-way: the target is either absent or the old one, never the half-written one."""
    target = tmp_path / "results.json"
    target.write_text("old results")
    script = textwrap.dedent(f"""
        import os, signal
        from exercise_logic.atomic_files import atomic_write
        with atomic_write({str(target)!r}, "w") as out:
            out.write("half")
            out.flush()
            os.kill(os.getpid(), signal.SIGKILL)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True)
    assert done.returncode == -9
    assert target.read_text() == "old results"


def test_modes_that_do_not_write_a_new_file_are_refused(tmp_path):
    with pytest.raises(ValueError, match="mode"):
        with atomic_write(tmp_path / "x", "a"):
            pass
