"""The layers of the house: each imports only the layers below it."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "convgrad_cli"

#: layer → the convgrad layers it may import (besides itself and errors.py)
BELOW = {
    "engine": set(),
    "core": {"engine"},
    "api": {"core"},
    "notebook": {"core", "render"},
    "plain_yaml": set(),
    "config": {"core", "plain_yaml"},
    "render": {"core"},
    "tui": {"core", "render"},
    "cli": {"core", "engine", "render", "config", "api", "tui", "__init__"},
}


def layer_of(module: str) -> str:
    parts = module.split(".")
    return "__init__" if len(parts) == 1 or parts[1] == "__version__" else parts[1]


def imports(path: Path) -> set[str]:
    package = ["convgrad_cli", *path.relative_to(PACKAGE).parent.parts]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:  # from .x import y, from . import x
            base = ".".join(package[: len(package) - node.level + 1])
            if node.module:
                found.add(f"{base}.{node.module}")
            else:
                found.update(f"{base}.{a.name}" for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module == "convgrad_cli":
            found.update(f"convgrad_cli.{a.name}" for a in node.names)  # from convgrad_cli import engine
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("convgrad_cli"):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("convgrad_cli"))
    return found


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_each_module_imports_only_the_layers_below(path):
    relative = path.relative_to(PACKAGE)
    layer = relative.parts[0] if len(relative.parts) > 1 else relative.stem
    if layer not in BELOW:
        return  # the package's own __init__ and __main__, errors.py
    allowed = BELOW[layer] | {layer, "errors"}
    for module in imports(path):
        assert layer_of(module) in allowed, f"{relative} imports {module}"


@pytest.mark.parametrize(
    "module, banned",
    [
        ("convgrad_cli.core.rules", ("rich", "typer", "yaml", "click")),
        ("convgrad_cli.core.check", ("rich", "typer", "yaml", "click")),
        ("convgrad_cli.core.explain", ("rich", "typer", "yaml", "click")),
        ("convgrad_cli.core.views", ("rich", "typer", "yaml", "click")),
        ("convgrad_cli.engine", ("rich", "typer", "yaml", "click", "convgrad_cli.core.problem")),
        ("convgrad_cli.render.json", ("typer", "yaml", "click", "rich")),
        ("convgrad_cli", ("rich", "typer", "yaml", "click")),
        ("convgrad_cli.notebook", ("rich", "typer", "yaml", "click")),  # Rich loads when a picture is drawn
        ("convgrad_cli.core.explore", ("rich", "typer", "yaml", "click", "textual")),
        ("convgrad_cli.render.page", ("typer", "yaml", "click", "textual")),
        ("convgrad_cli.cli", ("textual",)),  # only `explore` (its app) loads Textual
    ],
)
def test_importing_a_layer_loads_nothing_above_it(module, banned):
    code = f"import sys, {module}; print(','.join(m for m in {banned!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == ""


def module_of(path: Path) -> str:
    parts = ["convgrad_cli", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, known: set[str]) -> set[str]:
    """The package's modules ``path`` names, at any depth of its code (a function's
    own imports and typing-only ones too): ``from a import b`` names ``a.b`` where
    that is a module, else ``a``."""
    package = module_of(path).split(".") if path.name == "__init__.py" else module_of(path).split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = ".".join(package[: len(package) - node.level + 1]) if node.level else ""
            module = ".".join(m for m in (base, node.module or "") if m)
            subs = {f"{module}.{a.name}" for a in node.names} & known
            found |= subs or ({module} & known)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names} & known
    return found


def test_no_module_imports_itself_through_others():
    paths = sorted(PACKAGE.rglob("*.py"))
    known = {module_of(p) for p in paths}
    graph = {module_of(p): imported_modules(p, known) - {module_of(p)} for p in paths}
    circles = []
    for start in graph:
        seen, todo = set(), [(start, (start,))]
        while todo:
            here, trail = todo.pop()
            for nxt in graph[here]:
                if nxt == start:
                    circles.append(" → ".join((*trail, start)))
                elif nxt not in seen:
                    seen.add(nxt)
                    todo.append((nxt, (*trail, nxt)))
    assert circles == []


def test_no_function_runs_over_sixty_lines():
    """A function longer than a screen does several things: name them, each in a function."""
    long = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > 60:
                    long.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {node.name} ({length} lines)")
    assert not long, long
