"""Click-to-result in Chromium: the Predict page against a bare Streamlit page with the same
click component and one line of output (the floor). Prints both medians and their ratio.

    python -m bench.click_ratio [--clicks 15] [--photo samples/rowing_boats.jpg]

The time runs from the mouse click to the moment the page shows that click's answer (the app:
its "Point (x, y)" line; the bare page: "clicked x y"). It needs Debian's chromium and the
trained models (models/manifest.toml). A benchmark that prints figures, never a test.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from bench.server import free_port

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]
COMPONENT = 'iframe[title="streamlit_image_coordinates.streamlit_image_coordinates"]'


@contextmanager
def streamlit(script: str, *args: str, env: dict[str, str] | None = None):
    """Run `streamlit run script` on a free loopback port; yield its URL."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", script, "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true", "--", *args],
        cwd=ROOT, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(600):
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health") as reply:
                    if reply.read() == b"ok":
                        break
            except OSError:
                time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


def _spots(n: int) -> list[tuple[int, int]]:
    # distinct spots on a grid, so every click is a new one
    return [(60 + 37 * (i % 12), 60 + 29 * (i // 12 % 10)) for i in range(n)]


def time_click(page, x: int, y: int, marker) -> float:
    """Click (x, y) on the image; return the milliseconds until the page shows its answer."""
    image = page.frame_locator(COMPONENT).locator("img")
    shown = image.bounding_box()
    frame = page.locator(COMPONENT).bounding_box()
    start = time.perf_counter()
    page.mouse.click(frame["x"] + x, frame["y"] + y)
    page.get_by_text(marker(x, y, shown)).first.wait_for(timeout=60_000)
    return (time.perf_counter() - start) * 1000


def open_bare(browser, url: str):
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    page.goto(url)
    page.frame_locator(COMPONENT).locator("img").wait_for(timeout=120_000)
    return page, lambda x, y, shown: f"clicked {x} {y}"


def open_app(browser, url: str, photo: Path):
    from PIL import Image, ImageOps  # noqa: PLC0415

    from ui.display import to_original  # noqa: PLC0415

    with Image.open(photo) as opened:
        size = ImageOps.exif_transpose(opened).size
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    page.goto(url + "?tester=bench")
    page.locator('input[type="file"]').set_input_files(str(photo), timeout=120_000)
    page.frame_locator(COMPONENT).locator("img").wait_for(timeout=120_000)

    def marker(x: int, y: int, shown: dict) -> str:
        px, py = to_original({"x": x, "y": y, "width": round(shown["width"]),
                              "height": round(shown["height"])}, size)
        return f"Point ({px:.0f}, {py:.0f})"

    return page, marker


def measure(browser, photo: Path, clicks: int) -> tuple[list[float], list[float]]:
    """Both pages side by side, clicked in turn (so a busy machine slows both alike)."""
    with tempfile.TemporaryDirectory() as folder:
        env = {"PINPOINT_DB_URL": f"sqlite:///{folder}/bench.db", "PINPOINT_RATE_LIMIT": "0",
               "PINPOINT_IMAGE_ROOT": ""}
        with streamlit("bench/bare_click_page.py", str(photo)) as bare_url, \
                streamlit("app.py", env=env) as app_url:
            bare, bare_marker = open_bare(browser, bare_url)
            app, app_marker = open_app(browser, app_url, photo)
            floor, times = [], []
            for x, y in _spots(clicks + 2):
                floor.append(time_click(bare, x, y, bare_marker))
                times.append(time_click(app, x, y, app_marker))
    return floor[2:], times[2:]  # the first two clicks warm each page up


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clicks", type=int, default=15)
    parser.add_argument("--photo", type=Path, default=ROOT / "samples" / "rowing_boats.jpg")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright  # noqa: PLC0415

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        floor, app = measure(browser, args.photo, args.clicks)
        browser.close()
    floor_ms, app_ms = statistics.median(floor), statistics.median(app)
    print(f"clicks per page: {args.clicks} (after 2 warm-up clicks), the pages clicked in turn")
    print(f"bare Streamlit page   median {floor_ms:6.0f} ms   (min {min(floor):.0f}, "
          f"max {max(floor):.0f})")
    print(f"Pinpoint Predict page median {app_ms:6.0f} ms   (min {min(app):.0f}, "
          f"max {max(app):.0f})")
    paired = statistics.median(a / f for a, f in zip(app, floor, strict=True))
    print(f"ratio to the floor: {app_ms / floor_ms:.2f} × (medians), {min(app) / min(floor):.2f} × "
          f"(fastest clicks), {paired:.2f} × (median of click-by-click ratios)")


if __name__ == "__main__":
    main()
