"""End to end, with real nbgrader: every outcome of ``autograde`` other than "graded", every limit, notebooks
that editors changed, and a run killed part-way and resumed.

One course, graded by one interrupted run and one resumed run with small limits
(the code paths of the defaults; only the numbers are smaller):

- run 1 is SIGKILLed once two submissions are saved: nothing of it survives
  (no worker, no kernel), and what it saved stays;
- run 2 resumes with the rest; meanwhile the test SIGKILLs the worker that grades
  ``x_slow_answer`` (a worker dying, as under the OOM killer).
"""
from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from conftest import REPO, copy_course, run_grader, sandbox_works
from variants import LIMIT_BREAKERS, OUTCOMES

pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(not sandbox_works(), reason="needs bubblewrap (apt-get install bubblewrap)")]

# Shortened limits (defaults: grader.limits.Limits). The cross-check's 30 s must hold TensorFlow's start
# and l_memory's five cases of 1.5 GiB each: with 20 s it timed out once on a loaded 2-core machine.
LIMITS = ["--notebook-timeout", 45, "--cell-timeout", 10, "--crosscheck-timeout", 30, "--memory", "1.5G",
          "--processes", 100, "--output", "1M", "--disk", "64M", "--workers", 2]
REPAIRED = {"r_stripped": ("strip_metadata",), "r_duplicated": ("duplicate_answer",),
            "r_deleted_old_format": ("delete_tests", "nbformat3")}
NAMES = sorted(["c_reference", *REPAIRED, *OUTCOMES, *LIMIT_BREAKERS])
NOISE = ("I0000", "oneDNN", "cpu_feature_guard", "absl::InitializeLog")


def _write_submissions(folder, release_path):
    import submissions
    release = json.loads(release_path.read_text(encoding="utf-8"))
    folder.mkdir()
    for name in NAMES:
        notebook = submissions.make(release, "c_reference" if name in REPAIRED else name)
        for damage in REPAIRED.get(name, ()):
            notebook = getattr(submissions, damage)(notebook)
        (folder / f"{name}.ipynb").write_text(json.dumps(notebook), encoding="utf-8")


def _results(course) -> dict:
    from grader.results import load_results
    return {r["student"]: r for r in load_results(course)}


def _ancestors(pid: int):
    while pid > 1:
        yield pid
        with open(f"/proc/{pid}/stat") as handle:
            pid = int(handle.read().rsplit(")", 1)[1].split()[1])


def _uses(pid: str, course) -> bool:
    """Whether process ``pid`` names ``course`` on its command line, works in it or holds a file of it open."""
    prefix = str(course) + os.sep
    cmdline = open(f"/proc/{pid}/cmdline", "rb").read().decode(errors="replace")
    paths = [os.readlink(f"/proc/{pid}/cwd") + os.sep]
    with contextlib.suppress(OSError):
        paths += [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
    return str(course) in cmdline or any(path.startswith(prefix) for path in paths)


def _processes_of(course) -> list[int]:
    """Grading processes, dask workers and kernel sandboxes still running for this course."""
    found = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        with contextlib.suppress(OSError):
            if int(entry) != os.getpid() and _uses(entry, course):
                found.append(int(entry))
    return found


def _kill_worker_grading(course, student, stop: threading.Event, killed: list):
    """SIGKILL the process grading ``student`` (its kernel works in the student's folder of a worker's
    copy of the course), once there is one."""
    folder = os.sep + os.path.join("autograded", student)
    while not stop.is_set():
        for entry in filter(str.isdigit, os.listdir("/proc")):
            try:
                cwd = os.readlink(f"/proc/{entry}/cwd")
                if not (cwd.startswith(str(course)) and folder in cwd):
                    continue
                for pid in _ancestors(int(entry)):
                    if b"grader.worker" in open(f"/proc/{pid}/cmdline", "rb").read():
                        os.kill(pid, signal.SIGKILL)
                        killed.append(pid)
                        return
            except OSError:
                continue
        time.sleep(0.2)


@pytest.fixture(scope="module")
def runs(tmp_path_factory, tool_env, released_course):
    root = tmp_path_factory.mktemp("outcomes")
    course = copy_course(released_course[0], root / "course")
    _write_submissions(root / "subs", course / "release/gradcam_en/gradcam.ipynb")
    out = {"collect": run_grader("collect", course, root / "subs", env=tool_env).stdout}
    command = [sys.executable, "-m", "grader", "autograde", str(course), *map(str, LIMITS)]

    # run 1: killed (SIGKILL, no chance to clean up) once two results are saved
    first = subprocess.Popen(command, cwd=REPO, env=tool_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True)
    deadline = time.monotonic() + 600
    while len([r for r in _results(course).values() if r.get("crosscheck")]) < 2:
        assert first.poll() is None and time.monotonic() < deadline, first.communicate()[0][-3000:]
        time.sleep(0.5)
    first.kill()
    out["first"] = first.communicate()[0]
    saved_by_first = {name: r["run"] for name, r in _results(course).items() if r.get("crosscheck")}
    time.sleep(5)                        # dask workers, grading processes and kernels die with their parents
    out["left_behind"] = _processes_of(course)

    # run 2: resumes; the worker grading x_slow_answer is killed from outside
    stop, killed = threading.Event(), []
    killer = threading.Thread(target=_kill_worker_grading, args=(course, "x_slow_answer", stop, killed))
    killer.start()
    try:
        second = subprocess.run(command, cwd=REPO, env=tool_env, capture_output=True, text=True, timeout=900)
    finally:
        stop.set()
        killer.join()
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    out["second"], out["killed"] = second.stdout, killed
    out["third"] = run_grader("autograde", course, *LIMITS, env=tool_env).stdout      # nothing left to do
    run_grader("export", course, env=tool_env)
    import csv
    with open(course / "grades.csv", encoding="utf-8-sig") as handle:
        rows = {row["student"]: row for row in csv.DictReader(handle)}
    return {"course": course, "out": out, "saved_by_first": saved_by_first, "results": _results(course),
            "rows": rows}


def test_a_killed_run_leaves_no_process_and_loses_nothing_saved(runs):
    assert runs["out"]["left_behind"] == []
    assert len(runs["saved_by_first"]) >= 2
    for name, run in runs["saved_by_first"].items():            # not graded again by run 2
        assert runs["results"][name]["run"] == run, name


def test_the_resumed_run_grades_each_submission_exactly_once(runs):
    results, second = runs["results"], runs["out"]["second"]
    assert sorted(results) == NAMES
    assert f"{len(runs['saved_by_first'])} submission(s) already graded" in second
    graded_now = [line.split("] ")[1].split(" (")[0] for line in second.splitlines() if line.startswith("[")]
    assert sorted(graded_now + list(runs["saved_by_first"])) == NAMES         # exactly once
    assert "already graded" in runs["out"]["third"] and "[1/" not in runs["out"]["third"]


def test_graded(runs):
    result, row = runs["results"]["c_reference"], runs["rows"]["c_reference"]
    assert result["status"] == "graded" and result["limits"] == [] and result["crosscheck"]["score"] == 10
    assert row["auto_score"] == "10" and row["review"] == ""


def test_wall_time_is_a_students_outcome(runs):
    result, row = runs["results"]["x_hang"], runs["rows"]["x_hang"]
    assert result["status"] == "timeout" and result["nbgrader_cells"] is None
    assert result["crosscheck"]["status"] == "timeout" and row["auto_score"] == "0"   # the cross-check scored it
    assert "wall-time limit 45 s exceeded" in row["review"]


def test_a_dead_worker_costs_only_its_student(runs):
    assert runs["out"]["killed"], "the worker grading x_slow_answer was never seen"
    result, row = runs["results"]["x_slow_answer"], runs["rows"]["x_slow_answer"]
    assert result["status"] == "worker-died" and result["nbgrader_cells"] is None
    assert result["crosscheck"]["score"] == 10 and "worker-died" in row["review"]


def test_a_crosscheck_error_is_flagged_with_the_students_own_message(runs):
    result, row = runs["results"]["x_crosscheck_crash"], runs["rows"]["x_crosscheck_crash"]
    assert result["status"] == "graded" and sum(result["nbgrader_cells"][g] for g in result["crosscheck"]["cells"]) == 10
    assert result["crosscheck"]["status"] == "exit-3" and row["auto_score"] == "0"
    assert "cross-check exit-3" in row["review"] and "nbgrader 10 != cross-check 0" in row["review"]
    message = result["crosscheck"]["messages"]["test_gradcam_basic"]
    assert "exit-3" in message and not any(noise in message for noise in NOISE), message


def test_messages_are_clean(runs):
    text = (runs["course"] / "grades.csv").read_text(encoding="utf-8-sig")
    assert not any(noise in text for noise in NOISE)
    for result in runs["results"].values():
        assert not any(noise in json.dumps(result.get("crosscheck")) for noise in NOISE), result["student"]


@pytest.mark.parametrize("name", sorted(REPAIRED))
def test_repaired_notebooks_are_graded_like_any_other(runs, name):
    result, row = runs["results"][name], runs["rows"][name]
    assert result["status"] == "graded" and result["repairs"]
    assert sum(result["nbgrader_cells"][g] for g in result["crosscheck"]["cells"]) == 10
    assert result["crosscheck"]["score"] == 10 and row["auto_score"] == "10"
    assert row["review"].startswith("repaired notebook: ")
    assert f"REPAIRED {name}.ipynb" in runs["out"]["collect"]


@pytest.mark.parametrize("name, reason", [
    ("l_memory", "memory limit 1.5 GiB exceeded"),
    ("l_memory_forks", "memory limit 1.5 GiB exceeded"),
    ("l_processes", "process limit 100 exceeded"),
    ("l_disk", "disk limit 64 MiB exceeded"),
    ("l_output", "output limit 1 MiB exceeded"),
])
def test_breaking_a_limit_scores_zero_with_a_clear_reason(runs, name, reason):
    result, row = runs["results"][name], runs["rows"][name]
    assert row["auto_score"] == "0", result["crosscheck"]
    assert reason in row["review"], row["review"]
    assert {limit["where"] for limit in result["limits"]} == {"kernel", "crosscheck"}
    if name == "l_memory_forks":             # stopped by the watchdog: the kernel is gone
        assert result["status"] == "dead-kernel" and result["nbgrader_cells"] is None


def test_printing_too_much_is_cut_where_it_broke_and_costs_every_point(runs):
    result, row = runs["results"]["l_output"], runs["rows"]["l_output"]
    kernel = next(limit for limit in result["limits"] if limit["where"] == "kernel")
    assert kernel["limit"] == "output" and kernel["cells"]
    assert f"output limit 1 MiB exceeded ({', '.join(kernel['cells'])})" in row["review"]
    assert "output limit 1 MiB exceeded in the cross-check" in row["review"]
    assert result["crosscheck"]["status"] == "output-limit" and row["auto_score"] == "0"
    notebook = runs["course"] / "autograded/l_output/gradcam_en/gradcam.ipynb"
    assert notebook.stat().st_size < 3 * 2**20                  # 1 MiB of output kept, not 30
