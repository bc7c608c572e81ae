"""The built wheel: it requires what the library imports, nothing more; the heavy stacks are extras.

What the library imports is read from its source (every ``import``), so a new
import without a declared requirement, or a requirement nothing imports, fails here.
"""
from __future__ import annotations

import ast
import email
import re
import sys
import zipfile
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement

from colab_like import normalise

TENSORFLOW = {"tensorflow", "tensorflow-cpu"}
JUPYTER_SERVERS = {"notebook", "jupyterlab", "jupyter-server", "jupyter", "jupyterhub"}
# Library subpackages whose imports belong to an extra, not to the library's own requirements.
EXTRA_OF_SUBPACKAGE = {"explorer": "demo"}
# Where each extra's packages may appear: TensorFlow only behind cpu/gpu, and so on.
ONLY_BEHIND = {"tensorflow": {"cpu", "gpu"}, "tensorflow-cpu": {"cpu"}, "gradio": {"demo"},
               "nbgrader": {"grader"}, "distributed": {"grader"}}
PLATFORMS = {  # sys_platform, platform_machine
    "Linux x86_64": ("linux", "x86_64"), "Linux aarch64": ("linux", "aarch64"),
    "macOS arm64": ("darwin", "arm64"), "Windows": ("win32", "AMD64"),
}


def wheel_metadata(wheel: Path) -> email.message.Message:
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        return email.message_from_string(archive.read(name).decode("utf-8"))


def requirements_by_extra(wheel: Path) -> dict[str, list[Requirement]]:
    """Requires-Dist grouped by extra; the library's own requirements under ``""``."""
    grouped = {}
    for line in wheel_metadata(wheel).get_all("Requires-Dist") or []:
        requirement = Requirement(line)
        extra = re.search(r'extra == "([^"]+)"', str(requirement.marker or ""))
        grouped.setdefault(extra.group(1) if extra else "", []).append(requirement)
    return grouped


def library_imports(package: Path) -> dict[str, set[str]]:
    """Third-party top-level modules the library imports -> where ("core" or an extra's subpackage)."""
    found = {}
    for path in package.rglob("*.py"):
        part = path.relative_to(package).parts[0]
        where = part if part in EXTRA_OF_SUBPACKAGE else "core"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in ("__future__", package.name):
                    found.setdefault(top, set()).add(where)
    return found


def distribution_of(module: str) -> set[str]:
    providers = packages_distributions().get(module)
    assert providers, f"no installed distribution provides {module!r}: is it installed?"
    return {normalise(name) for name in providers}


@pytest.fixture(scope="session")
def grouped(kit_wheel):
    return requirements_by_extra(kit_wheel)


def test_the_library_requires_exactly_what_it_imports(grouped, kit_snapshot):
    imports = library_imports(kit_snapshot / "exercise_logic")
    expected = set()
    for module, where in imports.items():
        providers = distribution_of(module)
        if providers & TENSORFLOW or "core" not in where:
            continue                                  # an extra's business (checked below)
        expected |= providers
    required = {normalise(r.name) for r in grouped[""]}
    assert required == expected, (f"undeclared imports: {sorted(expected - required)}; "
                                  f"required but never imported: {sorted(required - expected)}")
    assert not required & (TENSORFLOW | JUPYTER_SERVERS | {"gradio", "nbgrader", "medmnist", "torch"})


def test_extra_only_packages_appear_only_behind_their_extras(grouped):
    for extra, requirements in grouped.items():
        for requirement in requirements:
            allowed = ONLY_BEHIND.get(normalise(requirement.name))
            assert allowed is None or extra in allowed, f"{requirement} is required with extra {extra!r}"
    assert {normalise(r.name) for r in grouped.get("demo", [])} == {"gradio"}
    assert {normalise(r.name) for r in grouped.get("grader", [])} == {"nbgrader", "distributed"}


def test_a_subpackage_behind_an_extra_has_its_imports_in_that_extra(grouped, kit_snapshot):
    for module, where in library_imports(kit_snapshot / "exercise_logic").items():
        for part in where - {"core"}:
            extra = EXTRA_OF_SUBPACKAGE[part]
            named = {normalise(r.name) for r in grouped.get(extra, [])} | {normalise(r.name) for r in grouped[""]}
            assert distribution_of(module) & named, f"exercise_logic.{part} imports {module}: add it to [{extra}]"


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize("extra, builds", [("cpu", {"tensorflow-cpu", "tensorflow"}), ("gpu", {"tensorflow"})])
def test_each_tensorflow_extra_installs_one_build_on_every_platform(grouped, extra, builds, platform):
    sys_platform, machine = PLATFORMS[platform]
    environment = {"extra": extra, "sys_platform": sys_platform, "platform_machine": machine,
                   "platform_system": {"linux": "Linux", "darwin": "Darwin", "win32": "Windows"}[sys_platform]}
    chosen = [r for r in grouped.get(extra, []) if r.marker is None or Marker(str(r.marker)).evaluate(environment)]
    names = [normalise(r.name) for r in chosen if normalise(r.name) in TENSORFLOW]
    assert len(names) == 1 and names[0] in builds, (platform, [str(r) for r in chosen])
    if extra == "cpu" and platform == "Linux x86_64":
        assert names == ["tensorflow-cpu"]


def test_the_install_hint_names_existing_extras(kit_wheel):
    from exercise_logic.environment import INSTALL_HINT
    extras = set(wheel_metadata(kit_wheel).get_all("Provides-Extra"))
    named = set(re.findall(r"\[(\w+)\]", INSTALL_HINT))
    assert named == {"cpu", "gpu"} and named <= extras


def test_the_wheel_holds_every_library_module_and_nothing_else(kit_wheel, kit_snapshot):
    with zipfile.ZipFile(kit_wheel) as archive:
        packaged = {n for n in archive.namelist() if not n.split("/")[0].endswith(".dist-info")}
    modules = {str(p.relative_to(kit_snapshot)) for p in (kit_snapshot / "exercise_logic").rglob("*.py")}
    assert modules <= packaged, f"missing from the wheel: {sorted(modules - packaged)}"
    assert {n.split("/")[0] for n in packaged} == {"exercise_logic"}
