"""The authoritative out-of-process check of ``compute_gradcam``.

In-kernel hidden tests can be defeated by student code in the same kernel
(an IPython input transformer blanks every later cell). So the grader also:

1. **prepare** (once per release, in the grader's own process): builds the
   hidden-test models, saves them as ``.keras`` files with the inputs, and
   computes the reference maps with ``exercise_logic.compute_gradcam``;
2. **extract**: takes the student's ``compute_gradcam`` answer cell and keeps
   only imports, definitions and literal constants (top-level calls,
   monkeypatches, loops and magics are dropped);
3. **run**: executes that in a fresh, killable, sandboxed process
   (``crosscheck_child.py``) that sees only the models and inputs, never the
   references, the course or the real ``exercise_logic`` (a tripwire stub
   stands in), and saves the maps it returns;
4. **compare** in a process that never runs student code, with the same
   comparison the hidden tests use (``assignments/gradcam/graded_checks.py``), per test cell;
   then name the likely mistakes (:mod:`exercise_logic.diagnosis`) and keep the
   student's maps of the visible tests' cases for the feedback page.

The child also runs the answer on the visible tests' cases (``spec.FEEDBACK_CASES``,
``spec.DIAGNOSIS_CASES``) and on the feedback X-rays (``spec.XRAY_CASES``), after it has
saved the graded maps: a crash or a time-out there never changes a score, but a resource
limit broken there costs what it costs anywhere (``grader.limits.charge``).
"""
from __future__ import annotations

import ast
import contextlib
import hashlib
import io
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from exercise_logic import diagnosis
from exercise_logic.atomic_files import atomic_write
from exercise_logic.environment import is_tensorflow_noise

from . import sandbox
from .jobs import crosscheck_failure
from .limits import Limits, limit_in_error
from .paths import load_checks, load_spec

HERE = Path(__file__).resolve().parent
STUB = HERE / "stub"
CHILD = HERE / "crosscheck_child.py"
CROSSCHECK_TIMEOUT = Limits().crosscheck_time  # seconds per answer, unless the limits say otherwise
SUSPICIOUS = ("input_transformers", "get_ipython", "set_custom_exc", "np.allclose", "np.testing",
              "assert_allclose", "sys.modules", "builtins", "os._exit", "exercise_logic", "importlib",
              "gradebook", "NBGRADER", "setattr(")


def case_key(case) -> str:
    model, image, layer, class_index = case
    return f"{model}-{image}-{layer}-{class_index}"


# -- 1. prepare ----------------------------------------------------------------
def prepare(folder: Path) -> Path:
    """Models, inputs, reference maps and the diagnosis's facts of every case, into ``folder``.

    The cases are the hidden ones (graded) and the visible tests' ones (feedback).
    """
    spec = load_spec()
    import exercise_logic as el
    from exercise_logic.data.synthetic import lesion_xray
    import logging
    logging.getLogger("tensorflow").setLevel(logging.ERROR)   # one retracing notice per model shape
    checks = load_checks()
    folder = Path(folder)
    tmp = Path(tempfile.mkdtemp(prefix=".prepare-", dir=folder.parent if folder.parent.exists() else None))
    (tmp / "models").mkdir()
    models, inputs, references, masks, facts, cases = {}, {}, {}, {}, [], []
    # feedback: run after the graded ones
    hidden, feedback = spec.all_cases(), spec.visible_cases() + spec.xray_cases()
    for case in hidden + [case for case in feedback if case not in hidden]:
        name, image, layer, class_index = case
        if name not in models:
            models[name] = checks._gc_build(name, el)
            # Weights only: a reloaded .keras Sequential has layers with two graph
            # nodes, on which common student recipes get no gradients. The child
            # rebuilds each model like build_model does and loads these weights.
            np.savez(tmp / "models" / f"{name}.npz",
                     *[np.asarray(w) for w in models[name].get_weights()])
        model = models[name]
        key = case_key(case)
        if spec.is_xray(image):
            height, width = (int(d) for d in model.inputs[0].shape[1:3])
            img, masks[key] = lesion_xray(height, width, int(image[len(spec.XRAY_PREFIX):]))
        else:
            img = checks._gc_image(model, image)
        layer_name = checks._gc_layer(model, layer)
        inputs[key] = img
        references[key] = el.compute_gradcam(model, img, layer_name, class_index)
        facts.append(diagnosis.case_facts(model, img, layer_name, class_index, key=key,
                                          group=f"{name}-{image}-{layer}"))
        cases.append({"key": key, "model": name, "layer": layer, "class_index": class_index,
                      "case": list(case), "hidden": case in hidden, "feedback": case in feedback})
    np.savez(tmp / "inputs.npz", **inputs)
    np.savez(tmp / "references.npz", **references)
    np.savez(tmp / "masks.npz", **masks)      # lesion outlines of the X-ray cases (never sent to the child)
    (tmp / "diagnosis.npz").write_bytes(diagnosis.save_cases(facts))
    (tmp / "cases.json").write_text(json.dumps(cases, indent=1))
    for name, source in _copied_sources().items():   # the child builds the models with them
        shutil.copy(source, tmp / name)
    if folder.exists():
        shutil.rmtree(folder)
    tmp.rename(folder)
    return folder


PREPARED_FILES = ("inputs.npz", "references.npz", "masks.npz", "diagnosis.npz", "cases.json", "models")


def _copied_sources() -> dict[str, Path]:
    """The kit's files the child runs, by their name in the prepared folder."""
    import exercise_logic as el
    return {"graded_checks.py": Path(load_checks().__file__),
            "_gc_models.py": Path(el.__file__).parent / "models.py"}


def is_prepared(folder: Path) -> bool:
    """Whether ``folder`` holds every file :func:`prepare` writes, made from this kit's checks and models.

    False for a folder prepared by an older kit (another set of files, or other checks),
    so that grading after an upgrade prepares again instead of failing every cross-check.
    """
    folder = Path(folder)
    return (all((folder / name).exists() for name in PREPARED_FILES)
            and all((folder / name).is_file() and (folder / name).read_bytes() == source.read_bytes()
                    for name, source in _copied_sources().items()))


# -- 2. extract ----------------------------------------------------------------
def answer_cell(notebook: dict) -> str | None:
    """The source of the compute_gradcam answer cell (by grade_id), or None."""
    spec = load_spec()
    for cell in notebook.get("cells", []):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade_id") == spec.SOLUTION_CELL and cell.get("cell_type") == "code":
            source = cell.get("source", "")
            return "".join(source) if isinstance(source, list) else source
    return None


def _is_literal(node) -> bool:
    try:
        ast.literal_eval(node)
        return True
    except (ValueError, TypeError, SyntaxError, RecursionError):
        return False


def filter_source(source: str) -> tuple[str, list[str]]:
    """Keep imports, function/class definitions and literal constants; list what was dropped."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
        source = TransformerManager().transform_cell(source)
    except Exception:  # noqa: BLE001 - fall back to the raw text
        pass
    tree = ast.parse(source)
    kept, dropped = [], []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef,
                             ast.ClassDef)):
            kept.append(node)
        elif (isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) for t in node.targets)
              and _is_literal(node.value)):
            kept.append(node)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and (
                node.value is None or _is_literal(node.value)):
            kept.append(node)
        else:
            dropped.append(ast.get_source_segment(source, node) or type(node).__name__)
    return ast.unparse(ast.Module(body=kept, type_ignores=[])) + "\n", dropped


# -- 3. run --------------------------------------------------------------------
def _student_lines(log: bytes) -> list[str]:
    """The child's output without TensorFlow's start-up noise: what the student's code said."""
    text = (log or b"").decode("utf-8", "replace")
    return [line for line in text.strip().splitlines() if line.strip() and not is_tensorflow_noise(line, "2")]


def run_student(source: str, prepared: Path, timeout: float = CROSSCHECK_TIMEOUT,
                use_sandbox: bool | None = None, limits: Limits | None = None) -> dict:
    """Run one answer's definitions on the prepared cases in a sandboxed child.

    Returns ``{"outputs": {key: map}, "errors": {key|"*": message}, "status": ..., "seconds": ...}``
    for the graded cases, and ``feedback_outputs`` / ``feedback_errors`` for the
    visible tests' cases that are not graded ones. The child runs under ``limits``
    (default :class:`grader.limits.Limits`; its own wall time is ``timeout``); ``limit``
    names the one this function stopped it for (``"wall-time"``, ``"output"``), else None.
    """
    prepared = Path(prepared)
    if use_sandbox is None:
        use_sandbox = sandbox.available()
    work = Path(tempfile.mkdtemp(prefix="gc-crosscheck-"))
    started = time.monotonic()
    try:
        try:
            code, dropped = filter_source(source)
        except SyntaxError as error:
            return {"outputs": {}, "errors": {"*": f"SyntaxError: {error}"}, "status": "syntax-error",
                    "dropped": [], "seconds": 0.0, "feedback_outputs": {}, "feedback_errors": {}}
        (work / "student_cell.py").write_text(code)
        for name in ("cases.json", "inputs.npz", *_copied_sources()):
            shutil.copy(prepared / name, work / name)
        shutil.copytree(prepared / "models", work / "models")
        (work / "out").mkdir()
        command = [sys.executable, "-B", str(work / "child.py"), str(work)]
        shutil.copy(CHILD, work / "child.py")
        shutil.copytree(STUB, work / "stub")
        child_env = {"PYTHONPATH": str(work / "stub"), "PYTHONNOUSERSITE": "1"}
        if use_sandbox:
            os.chmod(work, 0o755)
            argv = sandbox.sandboxed(command, cwd=str(work / "out"), readonly=[str(work)],
                                     writable=[str(work / "out")], env=child_env, library=False,
                                     limits=limits)
            full_env = None
        else:
            argv = command
            full_env = {k: v for k, v in os.environ.items() if not k.startswith("NBGRADER")}
            full_env.update(child_env, **sandbox.STUDENT_ENV)
        process = subprocess.Popen(argv, cwd=work / "out", env=full_env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        with process.stdout:
            broken, log = _watch(process, timeout, (limits or Limits()).output)
        status = {"wall-time": "timeout", "output": "output-limit"}.get(broken) or (
            "ok" if process.returncode == 0 else f"exit-{process.returncode}" if process.returncode > 0
            else f"killed-{signal.Signals(-process.returncode).name}")
        out = work / "out"
        outputs, errors = _read_phase(out, "outputs.npz", "errors.json")
        feedback_outputs, feedback_errors = _read_phase(out, "feedback.npz", "feedback_errors.json")
        if status != "ok" and (out / "errors.json").exists() and not (out / "feedback_errors.json").exists():
            # the graded phase was complete: only the feedback cases were cut short (``limit`` still says why)
            feedback_errors["*"], status = status, "ok"
        if status == "timeout":
            errors.setdefault("*", f"timeout: stopped after {timeout:g} s / {timeout:g} 秒で停止しました")
        elif status != "ok" and "*" not in errors:
            errors["*"] = f"{status}: " + " | ".join(_student_lines(log)[-3:])
        return {"outputs": outputs, "errors": errors, "status": status, "dropped": dropped, "limit": broken,
                "seconds": round(time.monotonic() - started, 2),
                "feedback_outputs": feedback_outputs, "feedback_errors": feedback_errors}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _watch(process: subprocess.Popen, timeout: float, output_limit: int) -> tuple[str | None, bytes]:
    """Wait for the child while reading its output; stop its process group at its wall time or output limit.

    Returns the limit that stopped it (``"wall-time"``, ``"output"`` or None) and
    the last 64 KiB it wrote. The output is counted as it arrives, like the
    kernel's (``grader.execute``), so a flood is stopped at the output limit
    exactly, whatever the disk limit; the grader keeps only the tail.
    """
    deadline = time.monotonic() + timeout
    fd, written, tail, broken = process.stdout.fileno(), 0, b"", None
    while broken is None:
        left = deadline - time.monotonic()
        if left <= 0:
            broken = "wall-time"
        elif select.select([fd], [], [], min(left, 0.5))[0]:
            data = os.read(fd, 1 << 16)
            if not data:
                break                      # the child closed its output: it has ended, or soon will
            written += len(data)
            tail = (tail + data)[-65536:]
            if written > output_limit:
                broken = "output"
        elif process.poll() is not None:
            break                          # ended; a process it left behind may hold the pipe open
    if broken is None:
        try:
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            broken = "wall-time"
    if broken:                             # not reaped yet: its pid is still its group's
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    return broken, tail


def _read_phase(out: Path, maps_name: str, errors_name: str) -> tuple[dict, dict]:
    """The maps and error messages one phase of the child wrote (empty if it wrote none)."""
    maps, errors = {}, {}
    if (out / maps_name).exists():
        try:
            with np.load(out / maps_name, allow_pickle=False) as data:
                maps = {key: data[key] for key in data.files}
        except (ValueError, OSError) as error:
            errors["*"] = f"unreadable {maps_name} ({error})"
    if (out / errors_name).exists():
        try:
            errors.update(json.loads((out / errors_name).read_text()))
        except ValueError:
            errors["*"] = f"unreadable {errors_name}"
    return maps, errors


# -- 4. compare ----------------------------------------------------------------
def load_maps(path: Path) -> dict:
    with np.load(path, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def rejected(cam, reference) -> bool:
    """Whether the graded comparison (``graded_checks._gc_compare``) rejects a map."""
    try:
        load_checks()._gc_compare(cam, reference, "")
    except AssertionError:
        return True
    return False


def compare(run: dict, prepared: Path) -> dict:
    """Per test cell: points earned and the first failure message. Never runs student code."""
    spec, checks = load_spec(), load_checks()
    references = load_maps(Path(prepared) / "references.npz")
    cells, messages = {}, {}
    for grade_id, (points, cases) in spec.TEST_CELLS.items():
        failure = None
        for case in cases:
            key = case_key(case)
            label = checks._gc_label(case)
            if key not in run["outputs"]:
                failure = f"{label}: " + run["errors"].get(key, run["errors"].get("*", "no result"))
                break
            try:
                checks._gc_compare(run["outputs"][key], references[key], label)
            except AssertionError as error:
                failure = str(error)
                break
        cells[grade_id] = 0 if failure else points
        if failure:
            messages[grade_id] = failure
    return {"cells": cells, "score": sum(cells.values()), "max_score": spec.AUTO_POINTS,
            "messages": messages}


def suspicious_tokens(source: str) -> list[str]:
    return [token for token in SUSPICIOUS if token in (source or "")]


def check_notebook(notebook: dict, prepared: Path, timeout: float = CROSSCHECK_TIMEOUT,
                   use_sandbox=None, limits: Limits | None = None) -> dict:
    """Extract, run and compare one notebook's answer under ``limits``: the cross-check result.

    The result's ``limits`` names the resource limits the answer broke (see ``grader.limits``).
    """
    source = answer_cell(notebook)
    if source is None:
        return crosscheck_failure("no compute_gradcam answer cell / 解答セルがありません", "no-answer-cell")
    run = run_student(source, prepared, timeout=timeout, use_sandbox=use_sandbox, limits=limits)
    result = compare(run, prepared)
    broken = [run.get("limit"), *map(limit_in_error, run["errors"].values())]
    result.update(status=run["status"], seconds=run["seconds"], suspicious=suspicious_tokens(source),
                  dropped=run.get("dropped", []), limits=sorted({name for name in broken if name}))
    result.update(feedback_evidence(run, prepared))
    return result


# -- 5. feedback ---------------------------------------------------------------
def shown_cases() -> list[tuple]:
    """The cases a feedback page may draw: the visible tests' and the feedback X-rays."""
    spec = load_spec()
    return spec.feedback_cases() + spec.xray_cases()


def maps_folder(prepared: Path) -> Path:
    """Where the students' maps of the visible tests' cases are kept (beside the prepared cases)."""
    return Path(prepared).parent / "feedback_maps"


def feedback_evidence(run: dict, prepared: Path) -> dict:
    """The likely mistakes, and the student's maps of the visible tests' cases, saved for the feedback page.

    The maps are saved under the digest of their content (``maps``), so the
    same answer graded again reuses the file and the result stays small.
    """
    prepared = Path(prepared)
    references = load_maps(prepared / "references.npz")
    maps = {**run.get("feedback_outputs", {}), **run["outputs"]}
    found = diagnosis.diagnose(maps, _diagnosis_cases(prepared / "diagnosis.npz"),
                               lambda key, cam: rejected(cam, references[key])).to_dict()
    shown = [case_key(case) for case in shown_cases()]
    # a map far larger than the reference is not drawn (the page would carry it)
    kept = {key: np.asarray(maps[key], np.float32) for key in shown
            if key in maps and maps[key].size <= 4 * references[key].size}
    messages = {**run["errors"], **run.get("feedback_errors", {})}
    errors = {key: messages.get(key) or messages.get("*", "no result") for key in shown if key not in kept}
    digest = None
    if kept:
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **kept)
        data = buffer.getvalue()
        digest = hashlib.sha256(data).hexdigest()[:24]
        path = maps_folder(prepared) / f"{digest}.npz"
        if not path.exists():
            with atomic_write(path) as handle:
                handle.write(data)
    return {"diagnosis": found, "maps": digest, "feedback_errors": errors}


_CASES: dict = {}


def _diagnosis_cases(path: Path) -> list:
    """The prepared cases of the diagnosis, read once per process and release."""
    stamp = (str(path), path.stat().st_mtime_ns)
    if stamp not in _CASES:
        _CASES.clear()
        _CASES[stamp] = diagnosis.load_cases(path)
    return _CASES[stamp]


def main(argv=None) -> int:  # python -m grader.crosscheck NOTEBOOK PREPARED (debugging aid)
    args = argv if argv is not None else sys.argv[1:]
    notebook = json.loads(Path(args[0]).read_text())
    print(json.dumps(check_notebook(notebook, Path(args[1])), indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
