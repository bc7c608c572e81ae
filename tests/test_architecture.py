"""The library's imports run one way: data -> models -> explain -> rendering -> explorer, with no cycle.

Read from the source (every ``import``, also inside functions), so a lazy
import cannot hide a cycle or a layer reaching up.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "exercise_logic"

# Each module's layer; a module may import only from its own layer or lower ones.
LAYERS = [
    ("text in every language", ["messages"]),
    ("files and process set-up", ["atomic_files", "environment"]),
    ("data", ["data"]),
    ("models and scoring", ["streaming", "models", "evaluation"]),
    ("training", ["training"]),
    ("explanation", ["explain"]),
    ("diagnosing students' explanations", ["diagnosis"]),
    ("rendering", ["rendering"]),
    ("the self-check of a student's Grad-CAM", ["map_differences", "self_check"]),
    ("experiments and the command line", ["shortcut_lab", "cli", "__main__"]),
    ("the explorer UI", ["explorer"]),
]
# Packages the library never imports; the explorer layer alone may import gradio.
UI_ONLY = ("gradio", "nbgrader", "distributed", "dask", "demo", "grader", "assignments")
EXPLORER_MAY_IMPORT = ("gradio",)


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_package(name: str) -> bool:
    return (PACKAGE.parent / Path(*name.split(".")) / "__init__.py").exists()


def imports_of(path: Path) -> set[str]:
    """Absolute names of the modules a file imports (the module itself for ``from m import name``)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found.add(base)
            for alias in node.names:  # "from .explain import api" imports the module api
                if is_package(base) and (PACKAGE.parent / Path(*base.split("."), alias.name + ".py")).exists():
                    found.add(f"{base}.{alias.name}")
    return found


def library_modules() -> dict[str, set[str]]:
    graph = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        graph[module_name(path)] = {name for name in imports_of(path)
                                    if name == "exercise_logic" or name.startswith("exercise_logic.")}
    return graph


def layer_of(name: str) -> int | None:
    if name == "exercise_logic":
        return len(LAYERS)            # the façade re-exports everything: nothing inside may import it
    first = name.split(".")[1]
    for rank, (_, members) in enumerate(LAYERS):
        if first in members:
            return rank
    return None


def test_every_module_has_a_layer():
    unplaced = [name for name in library_modules() if layer_of(name) is None]
    assert unplaced == [], f"add these modules to LAYERS: {unplaced}"


def test_no_module_imports_a_higher_layer():
    graph = library_modules()
    upward = [(name, target) for name, targets in graph.items() if name != "exercise_logic"
              for target in targets if layer_of(target) > layer_of(name)]
    assert upward == []


def test_there_is_no_import_cycle():
    graph = library_modules()
    # A package's __init__ importing its own modules is how it re-exports them, not a cycle.
    edges = {name: {t for t in targets if not name.startswith(t + ".")} for name, targets in graph.items()}
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for target in sorted(edges.get(node, ())):
            if state.get(target) == "open":
                pytest.fail("import cycle: " + " -> ".join(stack[stack.index(target):] + [target]))
            if target not in state:
                visit(target)
        stack.pop()
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node)


def test_the_core_imports_no_ui_or_grading_package():
    offenders = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        name = module_name(path)
        allowed = EXPLORER_MAY_IMPORT if name.startswith("exercise_logic.explorer") else ()
        bad = sorted(target for target in imports_of(path)
                     if target.split(".")[0] in UI_ONLY and target.split(".")[0] not in allowed)
        if bad:
            offenders[name] = bad
    assert offenders == {}


def test_importing_the_library_does_not_import_gradio():
    """``exercise_logic.explore`` is resolved on first use; the explorer's package itself
    imports gradio only when the page is built (the launcher sets Gradio's variables first)."""
    import subprocess
    import sys
    code = ("import sys, exercise_logic, exercise_logic.explorer.environment; "
            "assert 'gradio' not in sys.modules, 'gradio imported'; "
            "assert callable(exercise_logic.explore); print('ok')")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=PACKAGE.parent, timeout=300)
    assert result.stdout.strip() == "ok", result.stderr[-2000:]


def test_the_explain_core_runs_one_way():
    """base (machinery) -> methods -> api (registry and public functions)."""
    graph = library_modules()
    assert "exercise_logic.explain.methods" not in graph["exercise_logic.explain.base"]
    assert "exercise_logic.explain.api" not in graph["exercise_logic.explain.methods"]
    assert "exercise_logic.explain.api" not in graph["exercise_logic.explain.base"]
