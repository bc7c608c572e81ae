"""How fast is grading? One run measures, on the same N submissions:

1. ``autograde`` serially (1 worker) and in parallel (one worker per core), nbgrader only;
2. the parallel run again with the out-of-process cross-check (the full pipeline);
3. the floor: the notebooks that nbgrader executed, executed again by nbclient
   alone (plain kernel, no nbgrader, no sandbox, no limits), serially and in
   parallel, with the same threads per kernel as the grading kernels;
4. what dask adds: starting and stopping the LocalCluster, sending the course
   to the workers once (the plugin), and one task's round trip, of which a
   submission makes two (nbgrader, then the cross-check).

The floor runs the autograded notebooks: the submissions with the hidden tests
that nbgrader restores into the test cells. The submitted notebooks lack them,
and the hidden tests are about a fifth of a notebook's execution time, so
executing the submitted notebooks would count that work as nbgrader's overhead.

Targets on 2 cores: parallel >= 1.7x serial; nbgrader overhead over the floor <= 30 %.
Run it on an otherwise idle machine:

    .venv/bin/python bench/grading_speed.py            # N=20
    .venv/bin/python bench/grading_speed.py --n 10 --json out.json
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "grader"))

CORRECT = ["c_reference", "c_numpy", "c_probability", "c_tf_function"]


def _execute(paths: list[str]) -> None:
    import nbclient
    import nbformat
    for path in paths:
        notebook = nbformat.read(path, 4)
        client = nbclient.NotebookClient(notebook, timeout=30, allow_errors=True, kernel_name="python3",
                                         resources={"metadata": {"path": os.path.dirname(path)}})
        client.execute()


def floor(paths: list[Path], workers: int, cache: Path) -> float:
    """Wall time of executing the notebooks with nbclient alone, split over `workers` processes."""
    from grader.schedule import kernel_threads
    os.environ["EXERCISE_LOGIC_CACHE"] = str(cache)
    os.environ["EXERCISE_LOGIC_EXPLORE"] = "off"        # as in grading: Step 4's explore() starts no server
    os.environ.update(kernel_threads(max(1, (os.cpu_count() or 1) // workers)))   # the cores shared out, as in grading
    shards = [[str(p) for p in paths[i::workers]] for i in range(workers)]
    started = time.monotonic()
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        pool.map(_execute, shards)
    return time.monotonic() - started


def scheduler_costs(home: Path, workers: int, rounds: int = 200) -> dict:
    """Seconds and sizes of what the dask layer adds to a run, apart from grading itself."""
    from grader import results as store
    from grader import schedule
    from grader.gradebook import save_autograded
    from grader.limits import Limits
    started = time.monotonic()
    with schedule.connect(None, workers, schedule.local_scratch(home)) as client:
        up = time.monotonic()
        files = schedule.course_files(home)
        schedule.share_course(client, home, Limits(), None, 1)
        shared = time.monotonic()
        notebook = next((home / "submitted").glob("*/gradcam_en/gradcam.ipynb")).read_bytes()
        client.submit(len, notebook, pure=False).result()                 # warm the connections
        trip = time.monotonic()
        for _ in range(rounds):
            client.submit(len, notebook, pure=False).result()
        trip = (time.monotonic() - trip) / rounds
        schedule.unshare_course(client)
        closing = time.monotonic()
    stopped = time.monotonic()
    written = time.monotonic()
    notebooks = sorted((home / "autograded").glob("*/gradcam_en/gradcam.ipynb"))
    for path in notebooks:          # what the instructor's process writes per submission, again
        save_autograded(home, "gradcam_en", path.parts[-3], path.read_text(encoding="utf-8"))
        store.save(home, store.load(home, "gradcam_en", path.parts[-3]))
    written = (time.monotonic() - written) / max(1, len(notebooks))
    return {"cluster_start_s": round(up - started, 2), "cluster_stop_s": round(stopped - closing, 2),
            "instructor_write_ms": round(1000 * written, 1),
            "course_files_mb": round(sum(map(len, files.values())) / 2**20, 2),
            "plugin_s": round(shared - up, 2), "task_round_trip_ms": round(1000 * trip, 1),
            "scheduler_per_submission_ms": round(2000 * trip, 1)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20, help="submissions (default 20)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--keep", action="store_true", help="keep the temporary course")
    args = parser.parse_args(argv)

    import submissions
    from grader import autograde as ag
    from grader import collect, course

    root = Path(tempfile.mkdtemp(prefix="grading-bench-"))
    figures = {"n": args.n, "workers": args.workers, "cores": os.cpu_count()}
    try:
        home = course.init(root / "course")
        t = time.monotonic()
        course.release(home)
        figures["release_s"] = round(time.monotonic() - t, 1)
        names = [CORRECT[i % len(CORRECT)] for i in range(args.n)]
        subs = root / "subs"
        release = json.loads((home / "release/gradcam_en/gradcam.ipynb").read_text(encoding="utf-8"))
        subs.mkdir()
        for i, name in enumerate(names):
            (subs / f"s{i:02d}.ipynb").write_text(json.dumps(submissions.make(release, name)), encoding="utf-8")
        collect.collect(home, subs, progress=lambda *_: None)
        quiet = lambda *_: None  # noqa: E731

        def timed(label, **kwargs):
            started = time.monotonic()
            results = ag.autograde(home, progress=quiet, regrade=True, **kwargs)
            seconds = time.monotonic() - started
            bad = [r["student"] for r in results
                   if sum((r.get("nbgrader_cells") or {}).get(g, 0) or 0 for g in
                          ("test_gradcam_basic", "test_gradcam_known", "test_gradcam_classes",
                           "test_gradcam_layers", "test_gradcam_shapes")) != 10]
            figures[label] = round(seconds, 1)
            figures[label + "_not_full_marks"] = bad
            print(f"{label:32s} {seconds:7.1f} s  ({seconds / args.n:.1f} s/notebook)", flush=True)

        timed("autograde_serial_s", workers=1, crosscheck=False)
        timed("autograde_parallel_s", workers=args.workers, crosscheck=False)
        timed("autograde_parallel_crosscheck_s", workers=args.workers, crosscheck=True)
        executed = sorted((home / "autograded").glob("*/gradcam_en/gradcam.ipynb"))   # hidden tests included
        assert len(executed) == args.n, f"{len(executed)} autograded notebooks for {args.n} submissions"
        cache = home / ".grader" / "cache"
        for label, workers in (("floor_serial_s", 1), ("floor_parallel_s", args.workers)):
            seconds = floor(executed, workers, cache)
            figures[label] = round(seconds, 1)
            print(f"{label:32s} {seconds:7.1f} s  ({seconds / args.n:.1f} s/notebook)", flush=True)
        figures.update(scheduler_costs(home, args.workers))
        figures["core_s_per_submission"] = round(
            figures["autograde_parallel_crosscheck_s"] * args.workers / args.n, 1)
        figures["speedup_parallel"] = round(figures["autograde_serial_s"] / figures["autograde_parallel_s"], 2)
        figures["overhead_parallel"] = round(figures["autograde_parallel_s"] / figures["floor_parallel_s"] - 1, 3)
        figures["overhead_serial"] = round(figures["autograde_serial_s"] / figures["floor_serial_s"] - 1, 3)
        figures["crosscheck_cost_parallel"] = round(
            figures["autograde_parallel_crosscheck_s"] / figures["autograde_parallel_s"] - 1, 3)
        print(f"speed-up parallel/serial: {figures['speedup_parallel']}x (target >= 1.7)")
        print(f"overhead over the floor: parallel {100 * figures['overhead_parallel']:.0f} %, serial "
              f"{100 * figures['overhead_serial']:.0f} % (target <= 30 %)")
        print(f"cross-check adds {100 * figures['crosscheck_cost_parallel']:.0f} % to the parallel run")
        print(f"dask: cluster start {figures['cluster_start_s']} s, stop {figures['cluster_stop_s']} s; course "
              f"({figures['course_files_mb']} MB) to the workers {figures['plugin_s']} s; a task's round trip "
              f"{figures['task_round_trip_ms']} ms, {figures['scheduler_per_submission_ms']} ms per submission; the "
              f"instructor's writing {figures['instructor_write_ms']} ms per submission; "
              f"{figures['core_s_per_submission']} core-seconds per submission")
        if args.json:
            args.json.write_text(json.dumps(figures, indent=1))
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
