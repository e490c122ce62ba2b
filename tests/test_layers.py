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
