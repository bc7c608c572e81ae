"""The kit where students are: a Colab-like environment, a Jupyter or JupyterHub with the kit installed.

Each test gets a fresh Colab-like environment (the real ``tensorflow``
distribution, the scientific stack, ipykernel; no gradio, no nbgrader; see
colab_like.py), installs the kit there as a student would, and compares the
installed distributions before and after.
"""
from __future__ import annotations

import copy
import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from test_lecture_notebook import LECTURE_CELLS, check_lecture_outputs

# The lecture's Colab set-up cell, verbatim.
LECTURE_SETUP = """\
# 環境セットアップ
!pip install medmnist -q
import sys, os
!rm -rf /tmp/MedMNIST-Exercise
!git clone https://github.com/kshimoji8/MedMNIST-Exercise.git /tmp/MedMNIST-Exercise -q
sys.path.insert(0, '/tmp/MedMNIST-Exercise')
sys.modules.pop('exercise_logic', None)
import exercise_logic
exercise_logic.initialize_environment()
print("✓ セットアップが完了しました。")"""


def changes(before: set, after: set) -> tuple[set, set]:
    return after - before, before - after


def run_notebook(notebook, env, workdir, jupyter_dir, monkeypatch, **kernel_env):
    """Execute the notebook in a Jupyter kernel running the environment's python, in ``workdir``."""
    monkeypatch.setenv("JUPYTER_PATH", str(jupyter_dir))
    kernel = env.kernel_spec(jupyter_dir, "colab-like", **kernel_env)
    workdir.mkdir(parents=True, exist_ok=True)
    NotebookClient(notebook, timeout=600, kernel_name=kernel, startup_timeout=120,
                   resources={"metadata": {"path": str(workdir)}}).execute()
    return notebook


def student_copy(release, spec, kit_source: str):
    """The release notebook as a student fills it in: KIT_SOURCE set, a correct compute_gradcam."""
    notebook = copy.deepcopy(release)
    by_id = {cell.metadata.get("nbgrader", {}).get("grade_id"): cell for cell in notebook.cells}
    kit_cell = next(cell for cell in notebook.cells if 'KIT_SOURCE = ""' in cell.source)
    kit_cell.source = kit_cell.source.replace('KIT_SOURCE = ""', f"KIT_SOURCE = {kit_source!r}")
    by_id[spec.SOLUTION_CELL].source = Path(spec.__file__).with_name("solution_cell.py").read_text()
    return notebook, by_id


def text_of(cell) -> str:
    return "".join(output.get("text", "") for output in cell.outputs)


def errors_in(notebook) -> list:
    return [(cell.source[:60], output) for cell in notebook.cells if cell.cell_type == "code"
            for output in cell.outputs if output.output_type == "error"]


@pytest.mark.parametrize("how", ["path", "wheel", "git"])
def test_installing_the_kit_adds_exercise_logic_alone(how, kit_sources, kit_version, new_colab_env, tmp_path):
    env = new_colab_env()
    before = env.distributions()
    assert any(name == "tensorflow" and version.startswith("2.21.") for name, version in before)
    assert not {name for name, _ in before} & {"gradio", "nbgrader", "jupyter-server", "tensorflow-cpu"}
    env.pip("install", "-q", kit_sources[how])
    added, removed = changes(before, env.distributions())
    assert added == {("exercise-logic", kit_version)} and removed == set()
    done = env.run("-c", "import exercise_logic, tensorflow; print(exercise_logic.__file__)", cwd=tmp_path)
    assert done.stdout.startswith(str(env.root)) and done.stderr == ""


def test_release_notebook_installs_the_kit_from_kit_source(release_notebook, assignment_spec, kit_sources,
                                                           kit_version, new_colab_env, tmp_path, monkeypatch):
    """Colab: the student sets KIT_SOURCE (a git URL), runs every cell, the visible tests pass."""
    env = new_colab_env()
    before = env.distributions()
    notebook, by_id = student_copy(release_notebook, assignment_spec, kit_sources["git"])
    run_notebook(notebook, env, tmp_path / "student", tmp_path / "jupyter", monkeypatch,
                 EXERCISE_LOGIC_CACHE=str(tmp_path / "cache"))
    assert errors_in(notebook) == []
    setup = text_of(by_id[assignment_spec.SETUP_CELL])
    assert (f"✓ exercise_logic {kit_version}: KIT_SOURCE からインストールしました / installed from KIT_SOURCE "
            f"({env.root}") in setup
    for grade_id in assignment_spec.TEST_CELLS:
        assert "✓ OK" in text_of(by_id[grade_id]), grade_id
    added, removed = changes(before, env.distributions())
    assert added == {("exercise-logic", kit_version)} and removed == set()


def test_release_notebook_uses_an_installed_kit(release_notebook, assignment_spec, kit_sources, kit_version,
                                               new_colab_env, tmp_path, monkeypatch):
    """A laptop's Jupyter or a JupyterHub with the kit pip-installed by the instructor, no checkout nearby.

    Only the cells up to the setup cell run: everything after it is the same as in the test above.
    """
    env = new_colab_env()
    env.pip("install", "-q", kit_sources["wheel"])
    notebook, by_id = student_copy(release_notebook, assignment_spec, "")
    setup_index = notebook.cells.index(by_id[assignment_spec.SETUP_CELL])
    notebook.cells = notebook.cells[:setup_index + 1]
    run_notebook(notebook, env, tmp_path / "student", tmp_path / "jupyter", monkeypatch)
    assert errors_in(notebook) == []
    setup = text_of(by_id[assignment_spec.SETUP_CELL])
    assert (f"✓ exercise_logic {kit_version}: インストール済みのものを使います / using the installed package "
            f"({env.root}") in setup
    assert "installing" not in setup and "✓ セットアップが完了しました / setup complete" in setup


def test_kit_source_on_a_read_only_installation_goes_to_the_user_site(assignment_spec, kit_sources, kit_version,
                                                                       new_colab_env, tmp_path):
    """A JupyterHub whose shared site-packages is read-only: pip falls back to the user's site-packages,
    which did not exist when Python started (PIP_USER stands for "not writable": the tests run as root)."""
    from assignments.gradcam.build_source import KIT_CELL, SETUP
    env = new_colab_env(system_site_packages=True)
    code = KIT_CELL.replace('KIT_SOURCE = ""', f"KIT_SOURCE = {kit_sources['wheel']!r}") + "\n" + SETUP
    home = tmp_path / "home"
    home.mkdir()
    workdir = tmp_path / "student"
    workdir.mkdir()
    done = env.run("-c", code, cwd=workdir, HOME=str(home), PIP_USER="1")
    assert f"✓ exercise_logic {kit_version}: KIT_SOURCE からインストールしました / installed from KIT_SOURCE " \
           f"({home}/.local/lib/" in done.stdout


def test_lecture_cells_run_from_a_git_clone(kit_snapshot, chest_npz, isolated_folders, new_colab_env, tmp_path,
                                            monkeypatch):
    """The lecture's own set-up (git clone + sys.path.insert, nothing pip-installed) on Colab's packages.

    The clone comes from a local repository and goes to a temporary folder. The
    ``pip install medmnist`` line is left out: on Colab, where PyTorch is
    preinstalled, it adds medmnist, which the Colab-like base already holds
    (without dependencies), and here it would pull PyTorch.
    """
    shutil.copy(chest_npz, isolated_folders / "chestmnist.npz")
    env = new_colab_env()
    before = env.distributions()
    clone = tmp_path / "MedMNIST-Exercise"
    setup = (LECTURE_SETUP.replace("!pip install medmnist -q\n", "")
             .replace("https://github.com/kshimoji8/MedMNIST-Exercise.git", str(kit_snapshot))
             .replace("/tmp/MedMNIST-Exercise", str(clone)))
    cells = [setup, *LECTURE_CELLS, "print(exercise_logic.__file__)"]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in cells])
    run_notebook(notebook, env, tmp_path / "student", tmp_path / "jupyter", monkeypatch)
    check_lecture_outputs(notebook)
    assert text_of(notebook.cells[-1]).strip() == str(clone / "exercise_logic" / "__init__.py")
    assert env.distributions() == before
