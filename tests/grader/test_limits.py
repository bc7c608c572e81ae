"""Per-submission limits: sizes and reasons, the watchdog on real process trees, the output budget on a
real kernel. (The end-to-end test breaks each limit inside nbgrader and the cross-check.)"""
from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import pytest

from grader import limits as lim
from grader.limits import Limits, Watchdog


def test_sizes_read_and_write_like_an_instructor_would():
    assert lim.parse_size("4G") == lim.parse_size("4 GiB") == 4 * 2**30
    assert lim.parse_size("512M") == 512 * 2**20 and lim.parse_size("1048576") == 2**20
    assert lim.format_size(4 * 2**30) == "4 GiB" and lim.format_size(512 * 2**20) == "512 MiB"
    with pytest.raises(ValueError, match="not a size"):
        lim.parse_size("lots")
    with pytest.raises(ValueError, match="positive"):
        Limits(memory=0)


def test_reasons_name_the_limit_and_its_value():
    limits = Limits()
    assert lim.reason("memory", limits)["reason"] == "memory limit 4 GiB exceeded"
    assert lim.reason("processes", limits)["reason"] == "process limit 512 exceeded"
    assert lim.reason("wall-time", limits)["reason"] == "wall-time limit 300 s exceeded"
    assert lim.reason("disk", limits, "crosscheck")["reason"] == "disk limit 512 MiB exceeded in the cross-check"
    assert lim.reason("output", limits, cells=["test_a"])["reason"] == "output limit 8 MiB exceeded (test_a)"
    assert lim.reason("output", limits, "crosscheck")["reason"] == "output limit 8 MiB exceeded in the cross-check"
    assert lim.reason("wall-time", limits, "crosscheck")["reason"] == \
        "wall-time limit 120 s exceeded in the cross-check"
    assert lim.reason("cell-time", limits, cells=["test_b"], value="30 s")["reason"] == \
        "cell time limit 30 s exceeded (test_b)"
    assert Limits.from_env({lim.ENV: Limits(memory=2**30).to_env()}).memory == 2**30


def _charged(*records) -> dict:
    result = {"limits": list(records), "crosscheck": {"cells": {"test_a": 2, "test_b": 3, "test_c": 0},
                                                       "messages": {"test_c": "its own failure"}}}
    lim.charge(result)
    return result["crosscheck"]


@pytest.mark.parametrize("name", ["memory", "processes", "output", "disk"])
@pytest.mark.parametrize("where", ["kernel", "crosscheck"])
def test_breaking_a_resource_limit_anywhere_costs_every_point(name, where):
    """Not only the cells where it broke: where a kill lands (before or after the maps were saved) is timing."""
    record = lim.reason(name, Limits(), where)
    check = _charged(record)
    assert check["score"] == 0 and set(check["cells"].values()) == {0}
    assert check["messages"] == {"test_a": record["reason"], "test_b": record["reason"], "test_c": "its own failure"}


def test_a_time_limit_costs_only_the_work_it_stopped():
    """The cross-check's maps that were saved in time stand; what nbgrader did not finish it scored itself."""
    time_limits = [lim.reason("wall-time", Limits()), lim.reason("wall-time", Limits(), "crosscheck"),
                   lim.reason("cell-time", Limits(), cells=["test_a"], value="30 s")]
    assert _charged(*time_limits)["score"] == 5 and _charged()["score"] == 5
    assert _charged(*time_limits, lim.reason("disk", Limits(), "crosscheck"))["score"] == 0


@pytest.mark.parametrize("message, limit", [
    ("MemoryError: Unable to allocate 74.5 GiB for an array", "memory"),
    ("numpy._core._exceptions._ArrayMemoryError: Unable to allocate 76.3 MiB", "memory"),
    ("tensorflow.python.framework.errors_impl.ResourceExhaustedError: {{function_node}} OOM when allocating",
     "memory"),
    ("BlockingIOError: [Errno 11] Resource temporarily unavailable", "processes"),
    ("RuntimeError: can't start new thread", "processes"),
    ("OSError: [Errno 28] No space left on device", "disk"),
    ("OSError: [Errno 27] File too large", "disk"),
    ("OutputLimitExceeded: output limit 8 MiB exceeded", "output"),
    ("AssertionError: the map's maximum must be 1", None),
    ("ValueError: Errno 11 in my own message", None),
])
def test_limit_errors_are_recognised(message, limit):
    assert lim.limit_in_error(message) == limit


def _tree(code: str) -> subprocess.Popen:
    """A parent process whose children do what ``code`` says; the watchdog watches below the parent."""
    parent = textwrap.dedent(f"""
        import os, sys, time
        for _ in range(int(sys.argv[1])):
            if os.fork() == 0:
                {code}
                time.sleep(60)
                os._exit(0)
        try:
            while True:
                os.wait()
        except ChildProcessError:
            pass
        print("children gone", flush=True)
    """)
    return parent


def _watch(limits, children: int, code: str, folders=()):
    process = subprocess.Popen([sys.executable, "-c", _tree(code), str(children)], stdout=subprocess.PIPE,
                               text=True)
    watchdog = Watchdog(process.pid, limits, folders=folders, interval=0.1)
    watchdog.start()
    try:
        out, _ = process.communicate(timeout=30)
    finally:
        watchdog.close()
    return watchdog.take_events(), out


def test_watchdog_stops_processes_that_together_use_too_much_memory():
    # three children of 120 MiB each: each under the limit, together over it
    events, out = _watch(Limits(memory=300 * 2**20), 3, "block = bytearray(120 * 2**20); block[::4096] = "
                                                        "b'x' * len(block[::4096])")
    assert events[:1] == ["memory"] and "children gone" in out


def test_watchdog_stops_a_swarm_of_processes():
    events, out = _watch(Limits(processes=20), 40, "pass")
    assert events[:1] == ["processes"] and "children gone" in out


def test_watchdog_counts_what_is_written_to_watched_folders(tmp_path):
    events, out = _watch(Limits(disk=2**20), 1, f"open({str(tmp_path / 'big')!r}, 'wb').write(b'x' * 2**21)",
                         folders=[tmp_path])
    assert events[:1] == ["disk"] and "children gone" in out


def test_a_process_that_dies_at_its_memory_rlimit_died_of_the_memory_limit():
    """Where a failed allocation cannot be caught (C++ code, memory still held), the process just dies."""
    limits = Limits(memory=300 * 2**20)
    code = ("hoard = []\ntry:\n    while True:\n        hoard.append(bytearray(8 * 2**20))\nexcept MemoryError:\n"
            "    import time, os\n    time.sleep(1)\n    os.abort()\n")
    parent = subprocess.Popen([sys.executable, "-c", "import subprocess, sys; subprocess.run(sys.argv[1:])",
                               *lim.under_rlimits([sys.executable, "-c", code], limits)])
    watchdog = Watchdog(parent.pid, limits, interval=0.1)
    watchdog.start()
    parent.wait(timeout=30)
    watchdog.close()
    assert watchdog.take_events(died=True) == ["memory"]
    assert watchdog.take_events(died=True) == []              # the peak is per job


def test_watchdog_leaves_processes_within_their_limits_alone():
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(1.5); print('done')"],
                               stdout=subprocess.PIPE, text=True)
    parent = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(2)"])
    watchdog = Watchdog(parent.pid, Limits(memory=64 * 2**20, processes=4), interval=0.1)
    watchdog.start()
    time.sleep(0.5)
    assert watchdog.check() is None
    watchdog.close()
    assert process.communicate(timeout=10)[0].strip() == "done"
    parent.wait()
    assert watchdog.take_events() == []


def test_output_budget_cuts_a_flood_of_prints_and_scores_the_cell_as_failed():
    import nbformat

    from grader.execute import ERROR_NAME, LimitedExecute
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("print('small')"),
        nbformat.v4.new_code_cell("for i in range(20_000):\n    print('x' * 1000)"),   # 20 MB
        nbformat.v4.new_code_cell("print('after the flood')\nvalue = 41 + 1"),
        nbformat.v4.new_code_cell("value"),
    ])
    executed, _ = LimitedExecute(output_limit=64 * 1024, timeout=60, kernel_name="python3").preprocess(
        notebook, {"metadata": {"path": "."}})
    flood = executed.cells[1].outputs
    kept = sum(len(o.get("text", "")) for o in flood if o.output_type == "stream")
    assert kept <= 64 * 1024
    assert any(o.output_type == "error" and o.ename == ERROR_NAME for o in flood)
    assert lim.limits_in_cells(executed.cells) == {"output": []}          # no graded cell here
    assert [record["reason"] for record in lim.notebook_limits(executed.cells, Limits(output=64 * 1024))] == [
        "output limit 64 KiB exceeded"]
    assert executed.cells[0].outputs[0]["text"] == "small\n"
    # the kernel lives on and only the flood's cell failed: later cells run, their output is dropped
    assert executed.cells[3].outputs == []
    assert [i for i, cell in enumerate(executed.cells) if any(o.output_type == "error" for o in cell.outputs)] == [1]


def test_a_cell_past_its_time_limit_says_which_limit_ran_out():
    """A slow cell is interrupted; a kernel that ignores the interrupt still gets the error (nbclient waits no
    longer). Both name the limit and its value, which the review shows."""
    import nbformat

    from grader.execute import LimitedExecute

    def graded(grade_id, source):
        return nbformat.v4.new_code_cell(source, metadata={"nbgrader": {"grade_id": grade_id, "grade": True}})
    notebook = nbformat.v4.new_notebook(cells=[
        graded("test_slow", "import time\ntime.sleep(30)"),
        graded("test_deaf", "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                            "end = time.time() + 6\nwhile time.time() < end:\n    pass"),
    ])
    started = time.monotonic()
    # as the course config sets it (grader.course): a kernel deaf to interrupts is scored, not left ungraded
    client = LimitedExecute(timeout=2, raise_on_iopub_timeout=False, kernel_name="python3")
    executed, _ = client.preprocess(notebook, {"metadata": {"path": "."}})
    assert time.monotonic() - started < 25
    assert lim.cell_time_limits(executed.cells) == {"2 s": ["test_slow", "test_deaf"]}
    assert lim.limits_in_cells(executed.cells) == {}           # a time limit, not a resource one
    assert [record["reason"] for record in lim.notebook_limits(executed.cells, Limits())] == [
        "cell time limit 2 s exceeded (test_slow, test_deaf)"]
