"""The layering the docs promise, checked over the import graph (an AST walk of simcore/ and app/).

1. simcore is pure: it imports no web framework, event loop, clock, logger, socket or file API, the
   app never, and opens no files.
2. No import circles inside simcore, counting imports under `if TYPE_CHECKING:` and inside functions.
3. app/ reaches the core only through the top-level `simcore` package (its public names).

Each rule is a function over a module graph (module name -> imported dotted names), tested on the
real code and on a tiny synthetic graph that breaks it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: what the core must not import (top-level module names)
BANNED_IN_CORE = (
    "app",
    "fastapi",
    "starlette",
    "uvicorn",
    "asyncio",
    "time",
    "logging",
    "socket",
    "pathlib",
    "io",
    "os",
    "shutil",
    "subprocess",
    "threading",
)
#: calls that read or write files
FILE_CALLS = ("open", "read_text", "read_bytes", "write_text", "write_bytes")

#: Circles allowed: every module of the circle in one of these packages (none).
ALLOWED_CIRCLE_PACKAGES: tuple[str, ...] = ()

#: app modules allowed to import below the top-level `simcore` (none).
ALLOWED_DEEP_IMPORTS: tuple[str, ...] = ()

Graph = dict[str, list[str]]


# ------------------------------------------------------------------ the graph
def module_files(root: Path, packages: Iterable[str]) -> dict[str, Path]:
    out = {}
    for pkg in packages:
        for f in sorted((root / pkg).rglob("*.py")):
            parts = list(f.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = f
    return out


def imported_names(module: str, tree: ast.AST, is_package: bool) -> list[str]:
    """Every dotted name `module` imports, wherever the import statement is (module level, under
    TYPE_CHECKING, inside a function); relative imports resolved."""
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = module.split(".")
                keep = len(parts) - node.level + (1 if is_package else 0)
                base = ".".join([*parts[:keep], *([base] if base else [])])
            names += [f"{base}.{a.name}" for a in node.names]
    return names


def build_graph(root: Path, packages: Iterable[str] = ("simcore", "app")) -> tuple[Graph, dict[str, ast.AST]]:
    files = module_files(root, packages)
    graph: Graph = {}
    trees: dict[str, ast.AST] = {}
    for mod, f in files.items():
        tree = ast.parse(f.read_text(encoding="utf-8"), str(f))
        trees[mod] = tree
        graph[mod] = imported_names(mod, tree, f.name == "__init__.py")
    return graph, trees


def resolve(name: str, modules: Iterable[str]) -> str | None:
    """The module of the graph a dotted import name lands in (its longest prefix that is a module)."""
    known = set(modules)
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


# ------------------------------------------------------------------ the rules
def banned_imports(graph: Graph, package: str, banned: Iterable[str]) -> list[str]:
    banned = set(banned)
    return [
        f"{mod} imports {name}"
        for mod, names in graph.items()
        if mod == package or mod.startswith(package + ".")
        for name in names
        if name.split(".")[0] in banned
    ]


def file_calls(trees: dict[str, ast.AST], package: str) -> list[str]:
    found = []
    for mod, tree in trees.items():
        if mod != package and not mod.startswith(package + "."):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                f = node.func
                name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
                if name in FILE_CALLS:
                    found.append(f"{mod}:{node.lineno} calls {name}()")
    return found


def circles(graph: Graph, package: str) -> list[list[str]]:
    """Strongly connected components of more than one module among `package`'s modules (Tarjan)."""
    mods = [m for m in graph if m == package or m.startswith(package + ".")]
    edges = {m: {r for n in graph[m] if (r := resolve(n, mods)) and r != m} for m in mods}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for m in sorted(mods):
        if m not in index:
            visit(m)
    return out


def circle_allowed(circle: list[str], packages: Iterable[str]) -> bool:
    return any(all(m.startswith(p + ".") or m == p for m in circle) for p in packages)


def deep_imports(graph: Graph, client: str, core: str, allowed: Iterable[str] = ()) -> list[str]:
    """Imports of `client`'s modules that land below `core`'s top-level package."""
    allowed = set(allowed)
    core_mods = [m for m in graph if m == core or m.startswith(core + ".")]
    found = []
    for mod, names in graph.items():
        if not (mod == client or mod.startswith(client + ".")) or mod in allowed:
            continue
        for name in names:
            if name.split(".")[0] == core and resolve(name, core_mods) != core:
                found.append(f"{mod} imports {name}")
    return found


# -------------------------------------------------------------- the real code
@pytest.fixture(scope="module")
def real() -> tuple[Graph, dict[str, ast.AST]]:
    return build_graph(ROOT)


def test_core_imports_no_io_or_app(real: tuple[Graph, dict[str, ast.AST]]) -> None:
    graph, trees = real
    assert "simcore.simulation" in graph and "app.hub" in graph
    assert banned_imports(graph, "simcore", BANNED_IN_CORE) == []
    assert file_calls(trees, "simcore") == []


def test_core_has_no_import_circles(real: tuple[Graph, dict[str, ast.AST]]) -> None:
    graph, _ = real
    found = [c for c in circles(graph, "simcore") if not circle_allowed(c, ALLOWED_CIRCLE_PACKAGES)]
    assert found == []


def test_app_imports_only_the_public_core(real: tuple[Graph, dict[str, ast.AST]]) -> None:
    graph, _ = real
    assert deep_imports(graph, "app", "simcore", ALLOWED_DEEP_IMPORTS) == []


def test_public_names_exist() -> None:
    import simcore

    missing = [n for n in simcore.__all__ if not hasattr(simcore, n)]
    assert missing == []


# ------------------------------------------------- the rules catch a violation
SYNTHETIC: Graph = {
    "core": [],
    "core.a": ["core.b.thing", "numpy"],
    "core.b": ["core.c.X"],
    "core.c": ["core.a", "time"],
    "core.d": ["core.a.f"],
    "core.sub.x": ["core.sub.y.Y"],
    "core.sub.y": ["core.sub.x.X"],
    "web": ["core.Simulation", "fastapi"],
    "web.ok": ["core.Frame"],
    "web.bad": ["core.a.thing"],
    "web.legacy": ["core.b.thing"],
}


def test_synthetic_circle_is_found() -> None:
    assert circles(SYNTHETIC, "core") == [["core.a", "core.b", "core.c"], ["core.sub.x", "core.sub.y"]]
    allowed = [c for c in circles(SYNTHETIC, "core") if not circle_allowed(c, ("core.sub",))]
    assert allowed == [["core.a", "core.b", "core.c"]]
    acyclic = {**SYNTHETIC, "core.c": ["time"]}
    assert circles(acyclic, "core") == [["core.sub.x", "core.sub.y"]]


def test_synthetic_banned_import_is_found() -> None:
    assert banned_imports(SYNTHETIC, "core", ("time", "fastapi")) == ["core.c imports time"]


def test_synthetic_deep_import_is_found() -> None:
    assert deep_imports(SYNTHETIC, "web", "core") == [
        "web.bad imports core.a.thing",
        "web.legacy imports core.b.thing",
    ]
    assert deep_imports(SYNTHETIC, "web", "core", ("web.legacy",)) == ["web.bad imports core.a.thing"]


def test_file_calls_are_found() -> None:
    tree = ast.parse("def f(p):\n    return open(p).read() + p.read_text()\n")
    assert sorted(file_calls({"core.x": tree, "web": tree}, "core")) == [
        "core.x:2 calls open()",
        "core.x:2 calls read_text()",
    ]


def test_type_checking_and_local_imports_count() -> None:
    src = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from core.b import B\n"
        "def f():\n    import time\n"
    )
    names = imported_names("core.a", ast.parse(src), is_package=False)
    assert "core.b.B" in names and "time" in names
    assert imported_names("core.sub.x", ast.parse("from ..a import f\nfrom . import y\n"), False) == [
        "core.a.f",
        "core.sub.y",
    ]
