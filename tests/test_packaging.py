"""What the wheel ships: the three packages and their data, never the benchmarks' synthetic world.

The wheel holds exactly the folders ``[tool.hatch.build.targets.wheel] packages`` names, so a
shipped module that imported ``benchmarks`` or ``tests`` would break every installed copy.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _wheel_packages() -> list[str]:
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    return config["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]


def _imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_the_wheel_ships_the_packages_and_not_the_shapes_world():
    packages = _wheel_packages()
    assert sorted(packages) == ["ccneg_bench", "ccneg_build", "ccneg_core"]
    shipped = [p for package in packages for p in (REPO / package).rglob("*.py")]
    assert shipped and not [p for p in shipped if "shapes" in p.name]
    assert (REPO / "benchmarks" / "shapes" / "world.py").is_file()
    offenders = {str(p.relative_to(REPO)): sorted(_imported_roots(p) & {"benchmarks", "tests"}) for p in shipped}
    assert {k: v for k, v in offenders.items() if v} == {}
