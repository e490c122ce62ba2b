"""Every command output shown in README.md and docs/*.md, made again by a real run.

A shown output sits between two invisible markers that name it:

    <!-- output: cli-predict-rowing -->
    ```
    $ .venv/bin/python -m predictor predict samples/rowing_boats.jpg --x 200 --y 800
    …
    ```
    <!-- /output -->

    python -m docs.outputs --write   # run every command again and rewrite the blocks
    python -m docs.outputs --check   # say which blocks drifted (exit status 1), change nothing

What legitimately varies (timings, a retry delay) is replaced by a placeholder on both
sides before comparing, so a time never fails the check. A block marked `recorded`
(`<!-- output: NAME recorded -->`) comes from a long run named in the text around it (a
retrain of minutes): it is kept as written and never run again. The service's answers come
from one `python -m predictor serve` on a free port (shown as 8000), with a fresh store (and
a second one for the deadline answer). Outputs marked `slow` (an evaluation of 342 points,
the improving.md walk-through: a minute more) run with `--check` and `--write`, not in
tests/test_doc_outputs.py.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGES = (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")))
KEY = "change-me-to-a-long-random-key"
SHOWN_PORT = 8000
_BLOCK = re.compile(r"<!-- output: (?P<name>[\w-]+)(?P<recorded> recorded)? -->\n"
                    r"(?P<body>.*?)\n?<!-- /output -->", re.DOTALL)
_TIMINGS = r'"(?:decode|crop|total|model:[\w-]+)": ?([\d.]+)'


@dataclass(frozen=True)
class Output:
    """How to make one shown output, and what in it may change from run to run."""

    name: str
    make: Callable[[Run], str]
    vary: tuple[str, ...] = ()  # regexes: each match becomes a placeholder before comparing
    slow: bool = False  # tens of seconds: `--check` runs it, tests/test_doc_outputs.py does not


@dataclass(frozen=True)
class Block:
    """A marked output as a page shows it."""

    page: Path
    name: str
    body: str
    recorded: bool
    span: tuple[int, int]


OUTPUTS: dict[str, Output] = {}


def output(name: str, *vary: str,
           slow: bool = False) -> Callable[[Callable[[Run], str]], Callable[[Run], str]]:
    """Register a function that returns the block `name` (fences included), in page order."""
    def register(make: Callable[[Run], str]) -> Callable[[Run], str]:
        OUTPUTS[name] = Output(name, make, vary, slow)
        return make
    return register


def find_blocks(page: Path, text: str | None = None) -> list[Block]:
    """Return every marked block of a page (`text`: its content, when already read)."""
    text = page.read_text(encoding="utf-8") if text is None else text
    return [Block(page, m["name"], m["body"], bool(m["recorded"]), m.span("body"))
            for m in _BLOCK.finditer(text)]


def normalized(text: str, vary: tuple[str, ...]) -> str:
    """The text with every varying part (a pattern's match, or its first group) replaced by a
    placeholder."""
    def placeholder(match: re.Match[str]) -> str:
        if not match.re.groups:
            return "<varies>"
        start, end = match.span(1)
        whole = match.group(0)
        offset = match.start(0)
        return whole[:start - offset] + "<varies>" + whole[end - offset:]

    for pattern in vary:
        text = re.sub(pattern, placeholder, text, flags=re.MULTILINE)
    return text.strip()


def drift(block: Block, fresh: str, vary: tuple[str, ...]) -> list[str]:
    """The lines that differ between a shown block and a fresh run (empty when they match)."""
    shown, made = normalized(block.body, vary), normalized(fresh, vary)
    if shown == made:
        return []
    return list(difflib.unified_diff(shown.splitlines(), made.splitlines(), "shown", "fresh",
                                     lineterm="", n=1))


def check(blocks: list[Block], fresh: dict[str, str]) -> list[str]:
    """One problem per drifted, unknown or unshown block; empty when the pages are true."""
    problems = []
    shown = {b.name for b in blocks}
    for block in blocks:
        where = f"{block.page.relative_to(ROOT)}: {block.name}"
        if block.recorded:
            continue
        if block.name not in OUTPUTS:
            problems.append(f"{where}: no command makes this block (docs/outputs.py)")
            continue
        if block.name not in fresh and OUTPUTS[block.name].slow:
            continue  # not run this time (make_all(slow=False))
        lines = drift(block, fresh[block.name], OUTPUTS[block.name].vary)
        if lines:
            problems.append(f"{where} drifted:\n" + "\n".join(lines[:40]))
    problems += [f"{name}: made by docs/outputs.py but shown on no page"
                 for name in OUTPUTS if name not in shown]
    return problems


def rewrite(page: Path, fresh: dict[str, str]) -> bool:
    """Replace every block of `page` that has a fresh version; return True if it changed."""
    text = page.read_text(encoding="utf-8")
    new = text
    for block in reversed(find_blocks(page, text)):
        if block.name in fresh and not block.recorded:
            start, end = block.span
            new = new[:start] + fresh[block.name].rstrip("\n") + new[end:]
    if new != text:
        page.write_text(new, encoding="utf-8")
    return new != text


# -- running things ---------------------------------------------------------------------------


@dataclass
class Run:
    """What the outputs share: a clean environment, a scratch folder, one running service."""

    scratch: Path
    services: dict[str, tuple[subprocess.Popen, int]] = field(default_factory=dict)

    def env(self, **extra: str) -> dict[str, str]:
        """The environment without any PINPOINT_* setting of the caller's, plus `extra`."""
        clean = {k: v for k, v in os.environ.items() if not k.startswith("PINPOINT_")}
        return {**clean, "PINPOINT_DB_URL": f"sqlite:///{self.scratch / 'cli.db'}", **extra}

    def cli(self, shown: str) -> str:
        """Run `shown` (a `python -m predictor …` line) from the repository; return the block."""
        args = shown.split(" -m predictor ", 1)[1].split()
        done = subprocess.run([sys.executable, "-m", "predictor", *args], cwd=ROOT,
                              env=self.env(), capture_output=True, text=True, timeout=300)
        return f"$ {shown}\n{done.stdout.rstrip()}"

    def cli_in(self, folder: Path, shown: str, **env: str) -> str:
        """Run `shown` (`python -m predictor …`) in `folder`; return the block's text."""
        args = shown.split(" -m predictor ", 1)[1].split()
        done = subprocess.run([sys.executable, "-m", "predictor", *args], cwd=folder,
                              env={**self.env(**env), "PYTHONPATH": str(ROOT)},
                              capture_output=True, text=True, timeout=600)
        return f"$ {shown}\n{done.stdout.rstrip()}"

    def service(self, name: str = "main", **settings: str) -> int:
        """Start (once per `name`) `python -m predictor serve` with `settings`; return its port."""
        if name not in self.services:
            self.services[name] = _serve(self.scratch / name, self.env(**{
                "PINPOINT_API_KEYS": f"alice:{KEY}", "PINPOINT_API_RATE": "6/60",
                "PINPOINT_IMAGE_ROOT": str(ROOT / "tests" / "rendered"),
                "PINPOINT_MANIFEST": str(_manifest_copy(self.scratch / name)),
                "PINPOINT_DB_URL": f"sqlite:///{self.scratch / f'{name}.db'}", **settings}))
        return self.services[name][1]

    def curl(self, shown: str, port: int, fold: bool = False) -> str:
        """Run a shown shell line (`curl … localhost:8000/…`) against the service on `port`."""
        command = shown.replace(f"localhost:{SHOWN_PORT}", f"localhost:{port}")
        command = command.replace("| python3 -m json.tool", "")
        done = subprocess.run(["bash", "-c", command], cwd=self.scratch, capture_output=True,
                              env={**self.env(), "K": KEY}, text=True, timeout=60)
        text = done.stdout.replace("\r\n", "\n")
        text = "\n".join(line for line in text.split("\n")
                         if not re.match(r"(date|server): ", line))
        text = text.replace(f"localhost:{port}", f"localhost:{SHOWN_PORT}")
        if fold:
            text = folded(json.loads(text))
        return f"$ {shown}\n{text.rstrip()}"

    def close(self) -> None:
        for process, _port in self.services.values():
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()


def _manifest_copy(folder: Path, versions: str = "") -> Path:
    """The default manifest with absolute paths in `folder` (only the entries of `versions`,
    all active, when given), so a run may break or change it without touching models/."""
    folder.mkdir(parents=True, exist_ok=True)
    entries = []
    for entry in (ROOT / "models" / "manifest.toml").read_text().split("[[model]]")[1:]:
        if versions and f'version = "{versions}"' not in entry:
            continue
        entry = re.sub(r'(file|labels|head|training_data) = "', rf'\1 = "{ROOT / "models"}/', entry)
        entries.append("[[model]]" + (entry.replace('"retired"', '"active"') if versions
                                      else entry))
    path = folder / "manifest.toml"
    path.write_text("".join(entries))
    return path


def _serve(folder: Path, env: dict[str, str]) -> tuple[subprocess.Popen, int]:
    from bench.server import free_port

    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = folder / "stderr.log"
    with open(folder / "stdout.log", "w") as out, open(log, "w") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "predictor", "serve", "--port", str(port)],
            cwd=ROOT, env=env, stdout=out, stderr=err)
    # Wait for the log line, not by polling /readyz: the 503s would show in /metrics.
    deadline = time.monotonic() + 120
    while '"event":"models_ready"' not in log.read_text() or not _listening(port):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the service did not start:\n{log.read_text()[-2000:]}")
        time.sleep(0.1)
    return process, port


def _listening(port: int) -> bool:
    import socket

    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def folded(value: object, indent: int = 0, width: int = 120) -> str:
    """JSON as `python3 -m json.tool` prints it, with each value that fits on one line folded."""
    pad = " " * (indent + 4)
    if not isinstance(value, (dict, list)) or not value:
        return json.dumps(value)
    items = list(value.items()) if isinstance(value, dict) else [(None, v) for v in value]
    lines = []
    for key, item in items:
        head = f"{pad}{json.dumps(key)}: " if key is not None else pad
        one = json.dumps(item)
        text = one if len(head) + len(one) < width else folded(item, indent + 4, width)
        lines.append(head + text)
    opening, closing = ("{", "}") if isinstance(value, dict) else ("[", "]")
    return opening + "\n" + ",\n".join(lines) + "\n" + " " * indent + closing


@contextmanager
def running() -> Iterator[Run]:
    """A Run in a scratch folder (the files the commands name are linked into it)."""
    with tempfile.TemporaryDirectory(prefix="pinpoint-outputs-") as folder:
        scratch = Path(folder)
        for name in ("tests", "samples", "photos", "README.md"):
            (scratch / name).symlink_to(ROOT / name)
        run = Run(scratch)
        try:
            yield run
        finally:
            run.close()


def make_all(slow: bool = True) -> dict[str, str]:
    """Run every registered output (without the slow ones when `slow` is False), in page order
    (ids and rate counts depend on it)."""
    with running() as run:
        return {name: out.make(run) for name, out in OUTPUTS.items() if slow or not out.slow}


def fence(text: str) -> str:
    return f"```\n{text.rstrip()}\n```"


# -- README.md ------------------------------------------------------------------------------


@output("cli-predict-rowing", r"^total .*$")
def _predict_rowing(run: Run) -> str:
    return fence(run.cli(".venv/bin/python -m predictor predict samples/rowing_boats.jpg "
                         "--x 200 --y 800"))


@output("readme-eval-photos", slow=True)
def _eval_photos(run: Run) -> str:
    done = subprocess.run([sys.executable, "-m", "predictor", "evaluate",
                           "photos/eval_points.csv", "--json"], cwd=ROOT, env=run.env(),
                          capture_output=True, text=True, timeout=600)
    report = json.loads(done.stdout)
    rows = ["| on real photos | points | top-1 strict | top-1 lenient | top-5 | card |",
            "|---|---|---|---|---|---|"]
    for name, served in report["models"].items():
        others = report["other_versions"].get(name, {}).values()
        for figures in (served, *others):
            status = figures.get("status", "active")
            version = f"**{figures['version']}**" if status == "active" else figures["version"]
            card = f"models/{name}/{figures['version']}/MODEL_CARD.md"
            rows.append(_eval_row(f"`{name}` {version} ({status})", figures,
                                  f"[MODEL_CARD]({card})"))
        if name in report["heuristic"]:
            rows.append(_eval_row("nearest-named-color heuristic", report["heuristic"][name],
                                  "`predictor/learning/heuristic.py`"))
    return "\n".join(rows)


def _eval_row(what: str, figures: dict, card: str) -> str:
    percents = (f"{figures[key] * 100:.1f} %" for key in ("top1", "top1_lenient", "top5"))
    return f"| {what} | {figures['n']} | {' | '.join(percents)} | {card} |"


# -- docs/improving.md: the steps before and after the retrain (the retrain itself is recorded)


def _improving(run: Run) -> tuple[Path, dict[str, str]]:
    """The walk-through's folder: the cast renders (labeled: seeds 0-39, other: 200-219) and
    a manifest serving color and theme 1.0.0, as at the time of the recorded run."""
    folder = run.scratch / "improving"
    if not folder.exists():
        sys.path.insert(0, str(ROOT))
        from docs.cast_domain import write_set

        write_set(folder / "labeled", range(0, 40))
        write_set(folder / "other", range(200, 220))
        _manifest_copy(folder, "1.0.0")
    return folder, {"PINPOINT_MANIFEST": str(folder / "manifest.toml"),
                    "PINPOINT_DB_URL": f"sqlite:///{folder / 'store.db'}"}


@output("improving-import", slow=True)
def _improving_import(run: Run) -> str:
    folder, env = _improving(run)
    return fence(run.cli_in(folder, "python -m predictor labels import labeled/labels.csv "
                                    "--tester ann", **env))


@output("improving-evaluate-before", slow=True)
def _improving_evaluate(run: Run) -> str:
    folder, env = _improving(run)
    return fence(run.cli_in(folder, "python -m predictor evaluate other/labels.csv", **env))


@output("improving-export", slow=True)
def _improving_export(run: Run) -> str:
    folder, env = _improving(run)
    return fence(run.cli_in(folder, "python -m predictor labels export labels.zip --format zip",
                            **env))


# -- docs/service.md ----------------------------------------------------------------------------


@output("service-curl-predict", _TIMINGS)
def _service_predict(run: Run) -> str:
    port = run.service()
    return fence("\n\n".join([
        run.curl("curl -s localhost:8000/readyz", port),
        f"$ K={KEY}\n" + run.curl(
            'curl -s -H "X-API-Key: $K" -F image=@tests/rendered/red_car.jpg -F x=800 -F y=600 '
            "-F top_k=3 \\\n       localhost:8000/v1/predict | python3 -m json.tool", port,
            fold=True)]))


@output("service-curl-path", _TIMINGS)
def _service_path(run: Run) -> str:
    port = run.service()
    return fence("\n\n".join([
        run.curl("curl -s -H \"X-API-Key: $K\" -H 'Content-Type: application/json' \\\n"
                 "       -d '{\"path\": \"beach.jpg\", \"x\": 400, \"y\": 900, \"top_k\": 2}' "
                 "localhost:8000/v1/predict", port),
        run.curl("curl -s -H \"X-API-Key: $K\" -H 'Content-Type: application/json' \\\n"
                 "       -d '{\"path\": \"../README.md\", \"x\": 1, \"y\": 1}' "
                 "-w ' %{http_code}\\n' localhost:8000/v1/predict", port)]))


@output("service-curl-feedback")
def _service_feedback(run: Run) -> str:
    return fence(run.curl(
        "curl -s -H \"X-API-Key: $K\" -H 'Content-Type: application/json' \\\n"
        "       -d '{\"prediction_id\": 1, \"labels\": {\"color\": \"red\", \"theme\": null}}' "
        "localhost:8000/v1/feedback", run.service()))


@output("service-curl-errors", r"(?<=retry-after: )\d+", r"(?<=please wait )\d+",
        r"(?<=x-request-id: )\w+")
def _service_errors(run: Run) -> str:
    port = run.service()
    (run.scratch / "big.jpg").write_bytes(os.urandom(22_000_000))
    shown = [
        run.curl("curl -s -i -F image=@tests/rendered/red_car.jpg -F x=800 -F y=600 "
                 "localhost:8000/v1/predict", port),
        "$ head -c 22000000 /dev/urandom > big.jpg\n" + run.curl(
            'curl -s -i -H "X-API-Key: $K" -F image=@big.jpg -F x=1 -F y=1 '
            "localhost:8000/v1/predict", port),
        run.curl('curl -s -H "X-API-Key: $K" -H "Transfer-Encoding: chunked" -F image=@big.jpg '
                 "-F x=1 -F y=1 \\\n       localhost:8000/v1/predict", port),
        run.curl("curl -s -w ' %{http_code}\\n' -H \"X-API-Key: $K\" -F image=@README.md "
                 "-F x=1 -F y=1 localhost:8000/v1/predict", port)]
    models = 'curl -s -i -H "X-API-Key: $K" localhost:8000/v1/models'
    for _ in range(10):  # spend what is left of the 6/60 first
        if "429 Too Many Requests" in run.curl(models, port):
            break
    shown.append(run.curl(models, port).replace(
        "\n", "      # by now the key's 6/60 is spent\n", 1))
    slow = run.service("deadline", PINPOINT_DEADLINE_S="0.001")
    shown.append("$ PINPOINT_DEADLINE_S=0.001 make serve     # restarted so: no prediction is "
                 "that fast\n" + run.curl(
                     'curl -s -i -H "X-API-Key: $K" -F image=@tests/rendered/red_car.jpg '
                     "-F x=800 -F y=600 localhost:8000/v1/predict", slow))
    return fence("\n\n".join(shown))


@output("service-metrics")
def _service_metrics(run: Run) -> str:
    return fence(run.curl("curl -s -H \"Authorization: Bearer $K\" localhost:8000/metrics | "
                          "grep -E 'requests_total|model_seconds_count'", run.service()))


_LOG_BREAKS = ("event", "load_ms", "point", "ms", "prediction_id", "error", "kept")


@output("service-logs", r'"ts":"([^"]+)"', r'"pid":(\d+)', r'"seconds":([\d.]+)',
        r'"(?:load|warmup|total)_ms":([\d.]+)', r'"request_id":"(\w+)"',
        r'"(?:decode|crop|total|model:\w+)":([\d.]+)', r"manifest (/\S+):")
def _service_logs(run: Run) -> str:
    process, port = run.services["main"]
    log = run.scratch / "main" / "stderr.log"
    manifest = run.scratch / "main" / "manifest.toml"
    manifest.write_text("garbage here\n")
    process.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 60
    while '"event":"reload_failed"' not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    events = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    shown = [next(e for e in events if e["event"] == name)
             for name in ("model_loaded", "models_ready", "predict", "reload_failed")]
    return fence("\n".join(_wrapped(e) for e in shown))


def _wrapped(event: dict) -> str:
    """One log line as logged, broken before a few keys so that it reads on a page."""
    parts = [json.dumps({k: v}, separators=(",", ":"), ensure_ascii=False)[1:-1]
             for k, v in event.items()]
    lines = [""]
    for key, part in zip(event, parts, strict=True):
        if (key in _LOG_BREAKS or isinstance(event[key], dict)) and lines[-1]:
            lines[-1] += ","
            lines.append(" ")
        elif lines[-1].strip():
            lines[-1] += ","
        lines[-1] += part
    return "{" + "\n".join(lines) + "}"


def main(argv: list[str] | None = None) -> int:
    """--write: rewrite every block from a fresh run; --check: report drift, exit 1 if any."""
    parser = argparse.ArgumentParser(prog="python -m docs.outputs", description=__doc__.split(
        "\n")[0])
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", action="store_true", help="rewrite the blocks")
    action.add_argument("--check", action="store_true", help="report drift, exit 1 if any")
    args = parser.parse_args(argv)
    fresh = make_all()
    if args.write:
        for page in PAGES:
            if rewrite(page, fresh):
                print(f"rewrote {page.relative_to(ROOT)}")
        return 0
    problems = check([b for page in PAGES for b in find_blocks(page)], fresh)
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"{len(fresh)} of {len(fresh)} shown outputs made match a fresh run"
          if not problems else f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

