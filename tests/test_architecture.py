"""The house rules of docs/architecture.md, enforced.

* The layering contract in ``pyproject.toml`` (``[tool.importlinter]``), checked with
  import-linter: ``ccneg_build`` and ``ccneg_bench`` sit on ``ccneg_core``, which imports
  neither; the two commands' packages never import each other; no package has an import cycle
  at any depth (imports under ``if TYPE_CHECKING:`` left out: they never run).
* An import of our own code inside a function exists only to keep an optional heavy
  dependency (torch, open_clip, transformers, ray, ...) lazy, and says so in a ``# lazy:``
  comment on its line or the line above.
* The shared base and the build stay free of torch: the data-only install pulls none.

The contract tests also run on a copy of the tree with a rule broken on purpose, so that a
contract that no longer bites fails here too.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("ccneg_core", "ccneg_build", "ccneg_bench")

LINT = "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports(no_cache=True))"


def _lint(root: Path) -> subprocess.CompletedProcess:
    """import-linter over the packages under ``root``, with the contract of ``root/pyproject.toml``."""
    return subprocess.run([sys.executable, "-c", LINT], cwd=root, capture_output=True, text=True, timeout=300,
                          env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin", "NO_COLOR": "1"})


def _copy_of_the_tree(tmp_path: Path) -> Path:
    for package in PACKAGES:
        shutil.copytree(REPO / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_layering_contract_holds():
    result = _lint(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 2 kept, 0 broken" in result.stdout


@pytest.mark.parametrize("module, line, expected", [
    # the shared base reaching up into a command
    ("ccneg_core/intervals.py", "import ccneg_build.cli\n", "ccneg_core is not allowed to import ccneg_build"),
    # one command reaching into the other
    ("ccneg_build/splits.py", "import ccneg_bench.results\n", "ccneg_build is not allowed to import ccneg_bench"),
    # a circle inside a package, even through an import inside a function
    ("ccneg_core/record.py", "def _f():\n    import ccneg_core.dataset\n", "No cycles are allowed in ccneg_core"),
])
def test_the_contract_catches_a_broken_rule(tmp_path, module, line, expected):
    root = _copy_of_the_tree(tmp_path)
    target = root / module
    target.write_text(target.read_text(encoding="utf-8") + "\n" + line, encoding="utf-8")
    result = _lint(root)
    assert result.returncode != 0
    assert expected in " ".join(result.stdout.split()), result.stdout


def _inner_imports_of_our_code(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import of our packages that sits inside a function."""
    found = []
    for function in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            found += [(node.lineno, name) for name in names if name.split(".")[0] in PACKAGES]
    return sorted(set(found))


def test_imports_of_our_code_inside_functions_say_what_they_keep_lazy():
    unexplained = []
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            lines = path.read_text(encoding="utf-8").splitlines()
            for lineno, module in _inner_imports_of_our_code(path):
                nearby = " ".join(lines[max(0, lineno - 2):lineno])
                if "# lazy:" not in nearby:
                    unexplained.append(f"{path.relative_to(REPO)}:{lineno}: {module}")
    assert unexplained == [], ("imports of our code inside functions must keep a heavy dependency lazy and say "
                               "which in a '# lazy:' comment; move the others to the top of the module:\n"
                               + "\n".join(unexplained))


def test_the_shared_base_and_the_build_import_no_torch():
    code = ("import sys, pkgutil, importlib\n"
            "import ccneg_core, ccneg_build.cli\n"
            "for m in pkgutil.walk_packages(ccneg_core.__path__, 'ccneg_core.'):\n"
            "    importlib.import_module(m.name)\n"
            "print(sorted(n for n in ('torch', 'open_clip', 'transformers') if n in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


REGISTRIES = {
    "ccneg_build.steps.registry": "STEPS",
    "ccneg_build.negators.registry": "BACKENDS",
    "ccneg_build.engines": "ENGINES",
    "ccneg_build.sources": "FILE_FORMATS",
    "ccneg_bench.datasets": "DATASETS",
    "ccneg_bench.tasks": "TASKS",
    "ccneg_bench.models.registry": "MODEL_KINDS",
    "ccneg_bench.train.objectives.registry": "LOSSES",
}


@pytest.mark.parametrize("module, name", sorted(REGISTRIES.items()))
def test_every_entry_of_every_registry_loads(module, name):
    """One registry style (ccneg_core.registry.Registry), and no entry names a module or attribute that moved."""
    import importlib

    from ccneg_core.registry import Registry

    registry = getattr(importlib.import_module(module), name)
    assert isinstance(registry, Registry), f"{module}.{name} is not a ccneg_core Registry"
    loaded = registry.load_all()
    assert loaded and all(thing is not None for thing in loaded.values())


def test_every_build_subcommand_names_a_function_that_exists():
    import importlib

    from ccneg_build.cli import SUBCOMMANDS

    for name, (_, target) in SUBCOMMANDS.items():
        module, _, function = target.partition(":")
        assert callable(getattr(importlib.import_module(module), function)), name


def test_every_import_of_our_code_names_something_that_exists():
    """Also the imports inside functions, which only fail when that path runs (a moved name)."""
    import importlib.util

    missing = []
    for package in (*PACKAGES, "benchmarks", "tests"):
        for path in sorted((REPO / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
                if not (isinstance(node, ast.ImportFrom) and node.level == 0 and node.module
                        and node.module.split(".")[0] in PACKAGES):
                    continue
                module = importlib.import_module(node.module)
                for alias in node.names:
                    if not hasattr(module, alias.name) and importlib.util.find_spec(f"{node.module}.{alias.name}") is None:
                        missing.append(f"{path.relative_to(REPO)}:{node.lineno}: {node.module}.{alias.name}")
    assert missing == []
