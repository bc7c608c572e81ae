"""The course folder: ``init`` (config, kernel spec, sources) and ``release``."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from . import sandbox
from .paths import ASSIGNMENT_SOURCES, REPO, load_spec

STATE = ".grader"                 # the grader's private folder inside the course
KERNEL_NAME = "gradcam-sandbox"

CONFIG = '''# nbgrader configuration written by `python -m grader init` (edit the limits here).
# The gradebook (gradebook.db) holds the hidden tests: keep this folder private and out of git.
import os
import sys
import tempfile

c = get_config()  # noqa: F821
ROOT = os.path.dirname(os.path.abspath(__file__))
KIT = {kit!r}
sys.path.insert(0, KIT)

c.CourseDirectory.root = ROOT
c.CourseDirectory.course_id = "gradcam"
c.ClearSolutions.code_stub = {{"python": "# YOUR CODE HERE\\nraise NotImplementedError()"}}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# -- execution limits -------------------------------------------------------
CELL_TIMEOUT = int(os.environ.get("GRADER_CELL_TIMEOUT", "{cell_timeout}"))
SETUP_TIMEOUT = int(os.environ.get("GRADER_SETUP_TIMEOUT", "{setup_timeout}"))


def _cell_timeout(cell):
    """The setup cell (TensorFlow import) gets a longer limit than the other cells."""
    grade_id = cell.get("metadata", {{}}).get("nbgrader", {{}}).get("grade_id", "")
    return SETUP_TIMEOUT if grade_id == "setup" else CELL_TIMEOUT


c.Execute.timeout = CELL_TIMEOUT
c.Execute.timeout_func = _cell_timeout
c.Execute.startup_timeout = 120
c.Execute.interrupt_on_timeout = True
# A hang inside TensorFlow's C++ code ignores SIGINT; nbgrader's default (True)
# would then leave the whole submission ungraded instead of scoring the cells.
c.Execute.raise_on_iopub_timeout = False

# -- the sandbox: student code runs in bubblewrap (see grader/sandbox.py) -----
SANDBOX = os.environ.get("GRADER_NO_SANDBOX") != "1"
if SANDBOX:
    c.Execute.kernel_name = "{kernel}"
    os.environ["JUPYTER_PATH"] = os.path.join(ROOT, "{state}", "share") + os.pathsep + os.environ.get("JUPYTER_PATH", "")
    # IPC sockets in a runtime folder private to this process (TCP cannot cross
    # the sandbox's network namespace; other kernels' keys stay out of reach).
    RUNTIME = tempfile.mkdtemp(prefix="grader-rt-")
    os.environ["JUPYTER_RUNTIME_DIR"] = RUNTIME
    os.environ.setdefault("GRADER_SANDBOX_CACHE", os.path.join(ROOT, "{state}", "cache"))
    c.KernelManager.transport = "ipc"
    c.KernelManager.ip = os.path.join(RUNTIME, "kernel-ipc")   # absolute socket prefix

# -- feedback without hidden tests or reference code (nbgrader issue #917) ----
from nbgrader.preprocessors import ClearHiddenTests, GetGrades  # noqa: E402
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor  # noqa: E402
from grader.feedback import StripTracebacks  # noqa: E402
c.GenerateFeedback.preprocessors = [GetGrades, ClearHiddenTests, StripTracebacks, CSSHTMLHeaderPreprocessor]
'''

GITIGNORE = """# Private: the gradebook holds the hidden tests, submissions hold student data.
gradebook.db*
source/
submitted/
autograded/
feedback/
.grader/
*.csv
report/
"""


def tool_env() -> dict:
    """os.environ with this Python's bin folder on PATH (nbgrader runs `alembic` from there)."""
    env = dict(os.environ)
    bin_dir = os.path.dirname(sys.executable)
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


class CourseError(RuntimeError):
    pass


def state_dir(course: Path) -> Path:
    return Path(course) / STATE


def check_course(course: Path) -> Path:
    course = Path(course).resolve()
    if not (course / "nbgrader_config.py").exists():
        raise CourseError(f"{course} is not a course folder: run `python -m grader init {course}` first / "
                          "コースフォルダではありません。先に init を実行してください")
    return course


def write_kernel_spec(course: Path) -> None:
    """The sandboxed kernel of this machine's kit (a grading worker writes its own into its copy)."""
    kernel_dir = state_dir(course) / "share" / "kernels" / KERNEL_NAME
    kernel_dir.mkdir(parents=True, exist_ok=True)
    (kernel_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, str(REPO / "grader" / "sandbox.py"), "kernel", "{connection_file}"],
        "display_name": "Python 3 (grader sandbox)", "language": "python",
        "interrupt_mode": "message"}, indent=1))


def init(course: Path, *, copy: bool = False, cell_timeout: int = 30, setup_timeout: int = 180,
         force: bool = False) -> Path:
    """Create (or refresh) the course folder."""
    spec = load_spec()
    course = Path(course).resolve()
    course.mkdir(parents=True, exist_ok=True)
    config = course / "nbgrader_config.py"
    if config.exists() and not force:
        print(f"keeping the existing {config} (use --force to rewrite it)")
    else:
        config.write_text(CONFIG.format(kit=str(REPO), cell_timeout=cell_timeout,
                                        setup_timeout=setup_timeout, kernel=KERNEL_NAME, state=STATE))
    (course / ".gitignore").write_text(GITIGNORE)
    write_kernel_spec(course)
    for asg in spec.ASSIGNMENTS.values():
        target = course / "source" / asg
        origin = ASSIGNMENT_SOURCES / asg
        if target.is_symlink() or target.exists():
            if target.is_symlink() or force:
                shutil.rmtree(target) if target.is_dir() and not target.is_symlink() else target.unlink()
            else:
                continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if copy:
            shutil.copytree(origin, target)
        else:
            target.symlink_to(origin, target_is_directory=True)
    os.chmod(course, 0o700)
    if not sandbox.available():
        print("WARNING: " + sandbox.INSTALL_HINT, file=sys.stderr)
    return course


def nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    """Run the nbgrader CLI in the course folder."""
    return subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=tool_env(),
                          capture_output=True, text=True)


LEAKS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN", "END HIDDEN", "_gc_hidden_check",
         "_gc_compare", "_GC_MODELS", "reduce_mean(grads", "（回答例）", "(Model answer)")


def release_leaks(notebook_path: Path) -> list[str]:
    """What must not be in a student notebook but is."""
    text = Path(notebook_path).read_text(encoding="utf-8")
    found = [token for token in LEAKS if token in text]
    spec = load_spec()
    notebook = json.loads(text)
    for cell in notebook["cells"]:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id == spec.SOLUTION_CELL and "raise NotImplementedError()" not in "".join(cell["source"]):
            found.append("solution cell is not stubbed")
    return found


def prepare_cache(course: Path) -> None:
    """Train the notebook's model once, so sandboxed notebooks load it instead of training."""
    import exercise_logic as el  # already imported by the cross-check's preparation

    cache = state_dir(course) / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    try:
        el.train_or_load("synthetic", "simple", epochs=5, progress=False, cache_dir=cache)
    except Exception as error:  # noqa: BLE001 - the notebooks can still train for themselves
        print(f"WARNING: the notebook's model could not be trained in advance ({error}); "
              "each submission will train it.", file=sys.stderr)


def release(course: Path) -> dict:
    """generate_assignment --force for both languages, check the result, prepare the cross-check."""
    from . import crosscheck
    spec = load_spec()
    course = check_course(course)
    started = time.monotonic()
    # One generate_assignment at a time (the first one creates the gradebook);
    # --force always: without it nbgrader silently keeps stale hidden tests.
    def generate(asg):
        return subprocess.Popen([sys.executable, "-m", "nbgrader", "generate_assignment", asg, "--force"],
                                cwd=course, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                env=tool_env())
    names = list(spec.ASSIGNMENTS.values())
    first = generate(names[0])
    # meanwhile: the cross-check's models and references, and the model cache
    prepared = crosscheck.prepare(state_dir(course) / "crosscheck")
    prepare_cache(course)
    results = {}
    logs = {names[0]: first.communicate()[0]}
    returncodes = {names[0]: first.returncode}
    for asg in names[1:]:
        process = generate(asg)
        logs[asg] = process.communicate()[0]
        returncodes[asg] = process.returncode
    for asg in names:
        log = logs[asg]
        notebook = course / "release" / asg / f"{spec.NOTEBOOK}.ipynb"
        if returncodes[asg] != 0 or not notebook.exists():
            raise CourseError(f"nbgrader generate_assignment {asg} failed / 失敗しました:\n{log[-3000:]}")
        leaks = release_leaks(notebook)
        if leaks:
            raise CourseError(f"{notebook} still contains {leaks}: do not hand it out / 配布しないでください")
        results[asg] = notebook
    return {"notebooks": results, "prepared": prepared, "seconds": round(time.monotonic() - started, 1)}
