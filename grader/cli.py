"""python -m grader: release, collect, autograde and report the Grad-CAM assignment.

A typical term / 典型的な流れ:

    python -m grader init ~/courses/gradcam          # once: config, sandbox kernel, sources
    python -m grader release ~/courses/gradcam       # student notebooks in release/
    python -m grader collect ~/courses/gradcam lms_export.zip
    python -m grader autograde ~/courses/gradcam
    python -m grader feedback ~/courses/gradcam      # feedback_html/<student>_<assignment>.html
    python -m grader export ~/courses/gradcam        # grades.csv
    python -m grader report ~/courses/gradcam        # report/index.html + summary.png

Back to Moodle / Moodle に戻す:

    python -m grader export ~/courses/gradcam --moodle-worksheet worksheet.csv   # for "Upload grading worksheet"
    python -m grader feedback ~/courses/gradcam --moodle-zip   # for "Upload multiple feedback files in a zip"

The course folder holds gradebook.db with the hidden tests: keep it private and out of git.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .limits import Limits, format_size, parse_size


def _course(value: str) -> Path:
    return Path(value).expanduser()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m grader", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("init", help="create a course folder (config, sandbox kernel spec, sources)",
                       description="Write nbgrader_config.py with the execution limits, the sandbox kernel "
                                   "spec, and link (or copy) the sources from the kit's assignments/.")
    p.add_argument("course", type=_course, help="course folder to create")
    p.add_argument("--copy", action="store_true", help="copy the sources instead of symlinking them")
    p.add_argument("--cell-timeout", type=int, default=30, help="seconds per cell (default 30)")
    p.add_argument("--setup-timeout", type=int, default=180,
                   help="seconds for the setup cell that imports TensorFlow (default 180)")
    p.add_argument("--force", action="store_true", help="rewrite the config and sources")

    p = sub.add_parser("release", help="generate the student notebooks (always refreshes the gradebook)",
                       description="Run nbgrader generate_assignment --force for both languages, check "
                                   "that solutions and hidden tests are gone, prepare the cross-check.")
    p.add_argument("course", type=_course, help="course folder (made by init)")

    p = sub.add_parser("collect", help="lay out submissions from a folder or an LMS zip export",
                       description="Copy notebooks into submitted/<student>/<assignment>/. The student id is "
                                   "the file name (Moodle exports: the numeric id), sanitised.")
    p.add_argument("course", type=_course, help="course folder (made by init)")
    p.add_argument("src", type=Path, help="folder of .ipynb files or a .zip export")

    p = sub.add_parser("autograde", help="grade every submission (parallel, sandboxed, cross-checked)",
                       description="Autograde submitted/ with nbgrader on dask workers: one per CPU core of "
                                   "this machine, or those of --scheduler on other machines (kernels "
                                   "in the bubblewrap sandbox), then cross-check compute_gradcam out of "
                                   "process. The cross-check score is authoritative; disagreements are "
                                   "listed for review. Each result is saved as soon as it is known "
                                   "(COURSE/.grader/results/); an interrupted run resumes where it stopped. "
                                   "Each submission runs under the limits below; breaking one scores 0 on "
                                   "the tests it affected and lists the student for review.")
    p.add_argument("course", type=_course, help="course folder (made by init)")
    p.add_argument("--workers", type=int, default=None,
                   help="parallel workers on this machine (default: CPU cores); ignored with --scheduler")
    p.add_argument("--scheduler", default=None, metavar="tcp://HOST:8786",
                   help="grade on the workers of this running dask scheduler (started with `dask scheduler`; "
                        "workers with `dask worker tcp://HOST:8786` on each grading machine)")
    p.add_argument("--wait-for-workers", type=float, default=None, metavar="SECONDS",
                   help="with --scheduler: how long to wait for it and its first worker (default 60)")
    p.add_argument("--student", default="*", help="only students matching this glob")
    p.add_argument("--regrade", action="store_true",
                   help="grade again the submissions that already have a result (default: skip them)")
    defaults = Limits()
    p.add_argument("--notebook-timeout", type=float, default=defaults.wall_time,
                   help=f"wall-time limit per submission in seconds (default {defaults.wall_time:g})")
    p.add_argument("--cell-timeout", type=int, default=None, help="override the config's seconds per cell")
    p.add_argument("--crosscheck-timeout", type=float, default=defaults.crosscheck_time,
                   help=f"wall-time limit of one cross-check in seconds (default {defaults.crosscheck_time:g})")
    for name, text in (("memory", "memory of a submission's kernel or cross-check"),
                       ("output", "output a notebook may print"),
                       ("disk", "what a submission may write to disk")):
        p.add_argument(f"--{name}", type=parse_size, default=getattr(defaults, name), metavar="SIZE",
                       help=f"{text} (default {format_size(getattr(defaults, name))}; e.g. 2G, 512M)")
    p.add_argument("--processes", type=int, default=defaults.processes,
                   help=f"processes and threads of one submission (default {defaults.processes})")
    p.add_argument("--no-crosscheck", action="store_true",
                   help="skip the out-of-process cross-check (scores are then NOT trustworthy)")

    p = sub.add_parser("feedback", help="HTML feedback per student: maps of the failed tests, likely mistake",
                       description="HTML feedback per student, hidden tests and tracebacks stripped, with the "
                                   "student's map beside the reference map for every failed test and the likely "
                                   "mistake.")
    p.add_argument("course", type=_course, help="course folder (made by init)")
    p.add_argument("--moodle-zip", type=Path, nargs="?", const=True, default=None, metavar="ZIP",
                   help="also write the pages as a zip for Moodle's 'Upload multiple feedback files in a zip' "
                        "(default COURSE/moodle_feedback.zip)")
    p = sub.add_parser("report", help="score histogram, pass rates, diagnosed mistakes, review list, times",
                       description="report/index.html: score histogram, per-test pass rates, diagnosed mistakes "
                                   "with the number of students each, submissions to review and why, time per "
                                   "submission.")
    p.add_argument("course", type=_course, help="course folder (made by init)")
    p = sub.add_parser("export", help="write the grades CSV (authoritative scores, review flags)",
                       description="Write grades.csv, or with --moodle-worksheet fill the grading worksheet "
                                   "downloaded from a Moodle assignment for its 'Upload grading worksheet' (UTF-8, "
                                   "the form's default encoding; dates restated so that Moodle's stale check reads "
                                   "them on Japanese sites too). Upload it before the feedback zip; download the "
                                   "worksheet again for each later upload.")
    p.add_argument("course", type=_course, help="course folder (made by init)")
    p.add_argument("-o", "--output", type=Path, default=None,
                   help="CSV path (default COURSE/grades.csv, or COURSE/moodle_<worksheet>.csv)")
    p.add_argument("--moodle-worksheet", type=Path, default=None, metavar="WORKSHEET.csv",
                   help="the worksheet from Moodle's 'Download grading worksheet' to fill in")
    p.add_argument("--moodle-grade", choices=("total", "auto"), default="total",
                   help="total: autograded + discussion questions (a grade is left as it was until those are graded); "
                        "auto: the autograded part alone (default total)")
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    from . import course as course_mod
    from .moodle import WorksheetError
    try:
        if args.command == "init":
            path = course_mod.init(args.course, copy=args.copy, cell_timeout=args.cell_timeout,
                                   setup_timeout=args.setup_timeout, force=args.force)
            print(f"course ready / コースを作成しました: {path}\n"
                  f"  next / 次: python -m grader release {path}")
        elif args.command == "release":
            print("generating the student notebooks ... / 配布用ノートブックを生成中 ...", flush=True)
            result = course_mod.release(args.course)
            for asg, notebook in result["notebooks"].items():
                print(f"  {asg}: {notebook}")
            print(f"checked: no solutions or hidden tests left / 解答と隠しテストが除かれていることを確認しました "
                  f"({result['seconds']} s)")
        elif args.command == "collect":
            from .collect import collect
            report = collect(args.course, args.src)
            return 0 if report["accepted"] else 1
        elif args.command == "autograde":
            from .autograde import Interrupted, autograde
            limits = Limits(memory=args.memory, processes=args.processes, output=args.output, disk=args.disk,
                            wall_time=args.notebook_timeout, crosscheck_time=args.crosscheck_timeout)
            try:
                autograde(args.course, workers=args.workers, limits=limits, student=args.student,
                          crosscheck=not args.no_crosscheck, regrade=args.regrade,
                          cell_timeout=args.cell_timeout, scheduler=args.scheduler,
                          wait_for_workers=args.wait_for_workers, progress=lambda text: print(text, flush=True))
            except Interrupted:
                return 130
            from .report import rows
            graded = rows(args.course)
            flagged = [r for r in graded if r["review"]]
            if flagged:
                print(f"{len(flagged)} submission(s) need review / 要確認 {len(flagged)} 件:")
                for row in flagged:
                    print(f"  {row['student']} ({row['assignment']}): {row['review']}")
            return 0 if graded else 1
        elif args.command == "feedback":
            from .report import feedback
            target = args.moodle_zip
            feedback(args.course, moodle_zip=args.course / "moodle_feedback.zip" if target is True else target)
        elif args.command == "export" and args.moodle_worksheet:
            from .report import export_moodle, print_moodle_export
            print_moodle_export(export_moodle(args.course, args.moodle_worksheet, args.output, args.moodle_grade))
        elif args.command == "export":
            from .report import export
            print(f"grades / 成績: {export(args.course, args.output)}")
        elif args.command == "report":
            from .report import report
            result = report(args.course)
            print(f"report / レポート: {result['html']} ({result['png']})")
    except (course_mod.CourseError, FileNotFoundError, WorksheetError) as error:
        print(f"error / エラー: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
