"""The dask layer's parts without a cluster: what a worker gets of the course, and a grading process that
cannot start (the run's problem, never a student's)."""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

import pytest

from conftest import copy_course
from grader import schedule
from grader.limits import Limits
from grader.paths import REPO


def test_the_workers_get_the_grading_files_and_nothing_of_the_students(tmp_path, released_course):
    course = copy_course(released_course[0], tmp_path / "course")
    for private in ("submitted/ann/gradcam_en/gradcam.ipynb", ".grader/results/gradcam_en/ann.json",
                    "autograded/ann/gradcam_en/gradcam.ipynb", "feedback/ann/gradcam_en/gradcam.html"):
        (course / private).parent.mkdir(parents=True, exist_ok=True)
        (course / private).write_text("{}")
    files = schedule.course_files(course)
    assert "nbgrader_config.py" in files and "gradebook.db" in files
    assert any(name.startswith("source/gradcam_ja/") for name in files)          # through the symlink
    assert any(name.startswith(".grader/crosscheck/") for name in files)
    assert any(name.startswith(".grader/cache/") and name.endswith(".keras") for name in files)
    assert not [name for name in files if name.startswith(("submitted", "autograded", "feedback", ".grader/results"))]
    # the gradebook travels as a consistent SQLite file with the assignments in it
    copy = tmp_path / "copy.db"
    copy.write_bytes(files["gradebook.db"])
    with sqlite3.connect(copy) as db:
        assert {"gradcam_ja", "gradcam_en"} <= {row[0] for row in db.execute("select name from assignment")}


def test_a_grading_process_that_cannot_start_stops_the_run_with_its_reason(tmp_path):
    env = schedule.grading_env(1, Limits())
    process = schedule.GradingProcess(tmp_path / "not-a-course", env)
    with pytest.raises(schedule.SetupFailed, match="could not start") as raised:
        process.ask({"assignment": "gradcam_en", "student": "ann", "run_nbgrader": True, "run_crosscheck": False},
                    wall_time=120)
    assert "nbgrader_config" in str(raised.value) or "No such file" in str(raised.value)
    assert not process.alive()


def test_a_local_cluster_leaves_the_instructors_environment_as_it_was(tmp_path, monkeypatch):
    # dask's nanny writes its workers' settings (MALLOC_TRIM_THRESHOLD_, one numpy thread) into the
    # environment of the process that spawns them: every kernel started from it afterwards ran slower
    settings = ("MALLOC_TRIM_THRESHOLD_", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
    for key in settings:
        monkeypatch.delenv(key, raising=False)
    with schedule.connect(None, 1, tmp_path / "workers") as client:
        assert len(client.nthreads()) == 1
        assert client.submit(len, "four", pure=False).result() == 4
    assert [key for key in settings if key in os.environ] == []
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")          # as under a `dask worker`
    assert "MALLOC_TRIM_THRESHOLD_" not in schedule.grading_env(1, Limits())


def test_a_dask_worker_unpickles_the_grading_tasks_without_tensorflow():
    # each dask worker imports what a task names; TensorFlow there cost a core 4 s per worker per run,
    # and only the grading processes and kernels need it
    probe = ("import sys, grader.schedule, grader.jobs;"
             "print(sorted(m for m in ('tensorflow', 'keras', 'exercise_logic') if m in sys.modules))")
    shown = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert shown.stdout.strip() == "[]", shown.stderr[-2000:]
