"""How fast is grading? One run measures, on the same N submissions:

1. ``autograde`` serially (1 worker) and in parallel (one worker per core), nbgrader only;
2. the parallel run again with the out-of-process cross-check (the full pipeline);
3. the floor: the notebooks that nbgrader executed, executed again by nbclient
   alone (plain kernel, no nbgrader, no sandbox, no limits), serially and in
   parallel, with the same threads per kernel as the grading kernels.

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
    os.environ.update(kernel_threads(max(1, (os.cpu_count() or 1) // workers)))          # as in grading: the cores shared out among kernels
    shards = [[str(p) for p in paths[i::workers]] for i in range(workers)]
    started = time.monotonic()
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        pool.map(_execute, shards)
    return time.monotonic() - started


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
        figures["speedup_parallel"] = round(figures["autograde_serial_s"] / figures["autograde_parallel_s"], 2)
        figures["overhead_parallel"] = round(figures["autograde_parallel_s"] / figures["floor_parallel_s"] - 1, 3)
        figures["overhead_serial"] = round(figures["autograde_serial_s"] / figures["floor_serial_s"] - 1, 3)
        figures["crosscheck_cost_parallel"] = round(
            figures["autograde_parallel_crosscheck_s"] / figures["autograde_parallel_s"] - 1, 3)
        print(f"speed-up parallel/serial: {figures['speedup_parallel']}x (target >= 1.7)")
        print(f"overhead over the floor: parallel {100 * figures['overhead_parallel']:.0f} %, serial "
              f"{100 * figures['overhead_serial']:.0f} % (target <= 30 %)")
        print(f"cross-check adds {100 * figures['crosscheck_cost_parallel']:.0f} % to the parallel run")
        if args.json:
            args.json.write_text(json.dumps(figures, indent=1))
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
