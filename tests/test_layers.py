import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = sorted((ROOT / "predictor").rglob("*.py"))


def imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", PRODUCT, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_product_never_imports_training_or_the_ui(path):
    assert not imported(path) & {"training", "ui", "pages", "streamlit"}


def test_routes_hold_no_sql_and_the_service_modules_form_no_cycle():
    service = ROOT / "predictor" / "service"
    assert "sqlalchemy" not in imported(service / "routes.py")
    routes = (service / "routes.py").read_text(encoding="utf-8")
    assert "from .app import" not in routes


def test_predictor_bench_is_the_only_benchmark_left_in_the_product():
    names = {p.name for p in (ROOT / "predictor").rglob("*.py")}
    assert (ROOT / "predictor" / "cli" / "bench.py").is_file()
    assert not names & {"bench_naive.py", "bench_probe.py", "bench_ray.py", "loadtest.py"}


# The whole project's import graph, module by module: every import statement counts, in a
# function or under TYPE_CHECKING too (an import moved into a function still ties the two
# modules together, and type checkers follow those under TYPE_CHECKING).
SOURCES = sorted(p for p in ROOT.rglob("*.py")
                 if not {".venv", ".git", "node_modules"} & set(p.relative_to(ROOT).parts))


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in SOURCES}


def _known(name: str) -> str | None:
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(name: str) -> set[str]:
    """The project modules `name` imports (relative imports resolved), itself left out."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {_known(alias.name) for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([node.module] if node.module else []))
            for alias in node.names:  # `from a import b`: the module a.b when there is one
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES
                          else _known(base))
    return {m for m in found if m is not None and m != name}


GRAPH = {name: imports_of(name) for name in MODULES}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle as [a, b, ..., a], or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = 2
        path.pop()
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_the_graph_sees_relative_imports_and_the_cycle_finder_finds_circles():
    assert "predictor.errors" in GRAPH["predictor.images"]  # `from .errors import ...`
    assert "predictor.store.schema" in GRAPH["predictor.store.feedback"]  # `from . import schema`
    assert "predictor.store.feedback" in GRAPH["predictor.cli.commands"]  # in a function
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_no_import_circle_anywhere_in_the_project():
    cycle = find_cycle(GRAPH)
    assert cycle is None, "import circle: " + " -> ".join(cycle or [])


# Inside predictor/, each room may import the rooms before it in this order, never after:
# the serving core (top level) < store < learning < service < cli. The service answers
# clicks through the learning loop's click pipeline (learning.recording) and promotes
# versions (learning.versions); the CLI drives everything.
ROOMS = ["core", "store", "learning", "service", "cli"]


def room(name: str) -> str | None:
    parts = name.split(".")
    if parts[0] != "predictor":
        return None
    if parts[1:2] == ["__main__"]:
        return "cli"  # `python -m predictor` is the command line's door
    return parts[1] if len(parts) > 1 and parts[1] in ROOMS else "core"


def edges_from(prefix: str) -> list[tuple[str, str]]:
    return [(a, b) for a, targets in GRAPH.items() for b in sorted(targets)
            if a == prefix or a.startswith(prefix + ".")]


def test_each_room_of_predictor_imports_only_the_rooms_before_it():
    wrong = [f"{a} ({room(a)}) imports {b} ({room(b)})" for a, b in edges_from("predictor")
             if room(b) is not None and ROOMS.index(room(b)) > ROOMS.index(room(a))]
    assert not wrong, "\n".join(wrong)


def test_the_core_imports_none_of_the_rooms_and_the_store_only_the_core():
    core = {b for a, b in edges_from("predictor") if room(a) == "core"}
    store = {b for a, b in edges_from("predictor.store")}
    assert {room(b) for b in core} <= {"core"}
    assert {room(b) for b in store} <= {"core", "store", None}


@pytest.mark.parametrize(("source", "forbidden"), [
    ("pages", {"app", "tests", "docs", "training"}),
    ("app", {"pages", "tests", "docs", "training"}),
    ("ui", {"pages", "app", "tests", "docs", "training"}),
    ("predictor", {"ui", "pages", "app", "tests", "docs", "training"}),
    ("docs", {"tests"}),
])
def test_pages_import_ui_ui_imports_predictor_and_nothing_imports_back(source, forbidden):
    wrong = [f"{a} imports {b}" for a, b in edges_from(source) if b.split(".")[0] in forbidden]
    assert not wrong, "\n".join(wrong)
