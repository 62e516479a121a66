"""The shape of the package: one top-level package, layers that only import downwards, no circles.

Layers, lowest first: shared rules (config, errors, offline, text, reading, dates, extras) < ``index`` (write
path) < ``rag`` (read path) < ``wiring`` (builds both from settings) < ``eval`` and ``ui`` < ``cli``
(and ``python -m newsdesk``).
What two layers share lives below both.
"""

from __future__ import annotations

import ast
import zipfile
from pathlib import Path

from newsdesk.config import REPO_ROOT
from tests.support import build_wheel

PACKAGE = REPO_ROOT / "newsdesk"
LAYERS = [
    (
        "newsdesk",
        "newsdesk.config",
        "newsdesk.errors",
        "newsdesk.offline",
        "newsdesk.text",
        "newsdesk.reading",
        "newsdesk.dates",
        "newsdesk.extras",
    ),
    ("newsdesk.index",),
    ("newsdesk.rag",),
    ("newsdesk.wiring",),
    ("newsdesk.eval", "newsdesk.ui"),
    ("newsdesk.cli", "newsdesk.__main__"),
]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> int:
    best, rank = -1, -1
    for index, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, rank = len(prefix), index
    assert rank >= 0, f"{module} belongs to no layer: add it to LAYERS"
    return rank


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """The package's modules that ``path`` imports, at module level or inside functions."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        for name in names:
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name:
                found.add(name)
    return found


def import_graph() -> dict[str, set[str]]:
    files = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    modules = set(files)
    return {name: imports_of(path, modules) - {name} for name, path in files.items()}


def test_no_module_imports_a_layer_above_its_own() -> None:
    upward = [
        f"{module} imports {target}"
        for module, targets in import_graph().items()
        for target in targets
        if layer_of(target) > layer_of(module)
    ]
    assert upward == []


def circles_in(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every import circle a depth-first walk meets, as the list of modules around it."""
    state: dict[str, int] = {}
    circles: list[list[str]] = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph.get(module, set())):
            if state.get(target) == 1:
                circles.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target, [*path, target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    return circles


def test_there_is_no_import_circle() -> None:
    graph = import_graph()
    # A package's __init__ re-exports its own modules: that edge is not a circle of meaning.
    for module, targets in graph.items():
        graph[module] = {t for t in targets if not module.startswith(t + ".")}
    assert circles_in(graph) == []


def test_the_checks_above_see_a_circle_and_an_upward_import(tmp_path: Path) -> None:
    source = tmp_path / "probe.py"
    source.write_text("from newsdesk.cli import main\nimport newsdesk.rag.verify\n")
    assert imports_of(source, {"newsdesk.cli", "newsdesk.rag.verify", "newsdesk.rag"}) == {
        "newsdesk.cli",
        "newsdesk.rag.verify",
    }
    assert layer_of("newsdesk.index.store") < layer_of("newsdesk.rag.retrieve") < layer_of("newsdesk.cli")
    assert circles_in({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert circles_in({"a": {"b"}, "b": set(), "c": {"a", "b"}}) == []


def test_the_wheel_installs_one_top_level_package_and_the_command(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path)
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        info = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        entry_points = archive.read(info).decode()
    top = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert top == {"newsdesk"}
    assert "newsdesk = newsdesk.cli:main" in entry_points
    assert any(name.startswith("newsdesk/index/") for name in names)
    assert any(name.startswith("newsdesk/rag/") for name in names)
    assert any(name.startswith("newsdesk/ui/") for name in names)
    assert "newsdesk/rag/answer/model.json" in names  # the answer step's fitted numbers ship with it
    assert "newsdesk/seeds/china-russia-security-talks.txt" in names  # the demo articles too
    assert "newsdesk/__main__.py" in names  # python -m newsdesk
