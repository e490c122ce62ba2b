"""The tester's whole loop in a real browser: upload, click, read, label, see accuracy move."""

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
from PIL import Image, ImageOps
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from bench.server import free_port
from tests.app_models import build_app_models
from tests.sample_truths import seed_store
from ui.display import display_size

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]
SHOTS = ROOT / "artifacts" / "screenshots"
FRAME = 'iframe[title="streamlit_image_coordinates.streamlit_image_coordinates"]'
COMPONENT = f'[data-testid="stMain"] {FRAME}'  # the photo (the queue's sheet is in the sidebar)
QUEUE = f'[data-testid="stSidebar"] {FRAME}'
pytestmark = pytest.mark.browser
expect.set_options(timeout=90_000)  # a busy machine is slow, not broken


def _need_chromium():
    if shutil.which(CHROMIUM) is None:
        message = f"{CHROMIUM} is missing (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)  # in CI a skipped browser test would hide a broken UI
        pytest.skip(message)


def _start_app(manifest: Path, db: Path, log: Path, *options: str):
    port = free_port()
    env = {**os.environ, "PINPOINT_MANIFEST": str(manifest), "PINPOINT_DB_URL": f"sqlite:///{db}",
           "PINPOINT_RATE_LIMIT": "0", "PINPOINT_IMAGE_ROOT": ""}
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true", *options],
        cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health") as reply:
                if reply.read() == b"ok":
                    return server, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.5)
    server.kill()
    pytest.fail(f"streamlit did not start:\n{log.read_text()[-2000:]}")


@pytest.fixture(scope="module")
def browser():
    _need_chromium()
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 - only when Chromium exists

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield launched
        launched.close()


def _two_tone_photo(path: Path) -> Path:
    """A 1200x900 PNG: red left half, blue right half."""
    image = Image.new("RGB", (1200, 900), (30, 60, 200))
    image.paste((220, 30, 40), (0, 0, 600, 900))
    image.save(path)
    return path


def _shoot(page, name: str, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    expect(page.locator('[data-testid="stSkeleton"]')).to_have_count(0, timeout=60_000)
    charts = page.locator('[data-testid="stVegaLiteChart"]')
    for i in range(charts.count()):  # every chart has drawn its canvas
        charts.nth(i).locator("canvas, svg").first.wait_for(timeout=60_000)
    page.wait_for_timeout(500)
    page.screenshot(path=str(folder / f"{name}.png"))


def _open_page(page, title: str) -> None:
    page.locator('[data-testid="stSidebarNav"]').get_by_text(title, exact=True).click()


def _pick(page, label: str, option: str) -> None:
    box = page.locator('[data-testid="stSelectbox"]').filter(has_text=label)
    box.locator("input").click()
    box.locator("input").fill(option)
    page.get_by_role("option", name=option, exact=True).click()


LAPTOP = {"width": 1366, "height": 768}


def _in_view(page, locator) -> bool:
    box = locator.bounding_box()
    size = page.viewport_size
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= size["height"] \
        and box["x"] + box["width"] <= size["width"]


def _answers(page, model: str):
    return page.locator('[data-testid="stRadio"]').filter(has_text=f"Correct {model}")


def run_loop(page, url: str, photo: Path, shots: Path, models: tuple[str, ...] = ("color", "theme"),
             ) -> tuple[float, float]:
    """Upload, click, answer with the keys only, save with Ctrl+Enter, open Accuracy; return the
    expected original point."""
    page.set_default_timeout(90_000)  # a busy machine: slow, not broken
    page.goto(url + "?tester=browser-tester")
    expect(page.get_by_role("textbox", name="Your name")).to_have_value("browser-tester")
    gif = Path(tempfile.mkdtemp()) / "dropped.gif"
    Image.new("P", (8, 8)).save(gif)  # refused by the app itself, with its own sentence
    page.locator('input[type="file"]').set_input_files(str(gif))
    page.get_by_text("This image cannot be used: GIF images are not accepted").wait_for()
    page.locator('input[type="file"]').set_input_files(str(photo))
    image = page.frame_locator(COMPONENT).locator("img")
    image.wait_for()
    box = image.bounding_box()
    with Image.open(photo) as opened:
        size = ImageOps.exif_transpose(opened).size
    shown = display_size(size, 560)
    assert (round(box["width"]), round(box["height"])) == shown  # the fixed photo column
    expect(page.get_by_text("Squares on the photo:")).to_be_visible()  # the legend
    image.click(position={"x": 140, "y": 210})  # inside the red half
    for model in models:
        page.get_by_text(f"{model.title()} · top 5").wait_for()
        ranked = _answers(page, model).locator('label:has-text(" — ")')
        expect(ranked).to_have_count(5)  # the top 5, each with its score
        expect(ranked.filter(has_text="%")).to_have_count(5)
        expect(_answers(page, model).locator("input:checked")).to_have_count(0)  # none chosen
    expect(page.get_by_text("gave unusable scores")).to_have_count(0)  # no NaN scores
    # beside the photo: the photo, both lists and the save button fit one laptop screen
    save = page.get_by_role("button", name="Save the correct labels")
    _shoot(page, "1-predict", shots)
    for part in (page.locator(COMPONENT), *(page.get_by_text(f"{m.title()} · top 5")
                                            for m in models), save):
        assert _in_view(page, part), (part, part.bounding_box())
    # the focus is back on the page right after the click: the keys reach it
    assert page.evaluate("document.activeElement.tagName") != "IFRAME"
    page.keyboard.press("1")  # the first model's top answer
    expect(_answers(page, models[0]).locator("input:checked")).to_have_count(1)
    for model in models[1:]:
        page.keyboard.press("0")  # none of these
        expect(_answers(page, model).locator("input:checked")).to_have_count(1)
    page.keyboard.press("Control+Enter")
    page.get_by_text("Saved ✓").wait_for()
    _shoot(page, "2-predict-saved", shots)
    _open_page(page, "Accuracy")
    page.get_by_text(f"{models[0]} · version").first.wait_for()
    _shoot(page, "3-accuracy", shots)
    return (140 + 0.5) * size[0] / shown[0], (210 + 0.5) * size[1] / shown[1]


def visit_other_pages(page, shots: Path) -> None:
    _open_page(page, "Label session")
    page.get_by_text("Sample photos").click()
    page.get_by_text("Photo 1 of 5").wait_for()
    image = page.frame_locator(COMPONENT).locator("img")
    image.click(position={"x": 300, "y": 300})
    page.get_by_role("button", name="Save & next ➜").wait_for()
    page.keyboard.press("Control+Enter")  # nothing chosen yet: asks, saves nothing
    page.get_by_text("Choose an answer for").wait_for()
    radios = _answers(page, "color")
    radios.get_by_text("another label…").click()
    _pick(page, "Other color", "silver")
    _answers(page, "theme").get_by_text("not sure / skip").click()
    _shoot(page, "4-label-session", shots)
    page.get_by_role("button", name="Save & next ➜").click()
    page.get_by_text("Saved photo 1").first.wait_for()
    page.get_by_text("Photo 2 of 5").wait_for()
    for number, title, marker in ((5, "Performance", "Latency per stage"),
                                  (6, "Models", "Labels:")):
        _open_page(page, title)
        page.get_by_text(marker).first.wait_for()
        _shoot(page, f"{number}-{title.lower()}", shots)


def _seeded(manifest: Path, db: Path) -> int:
    from predictor import Predictor
    from predictor.store import FeedbackStore

    predictor, store = Predictor.from_manifest(manifest), FeedbackStore(f"sqlite:///{db}")
    seeded = seed_store(predictor, store)  # known answers on the sample photos
    store.close()
    predictor.close()
    return seeded


def _seeded_with_photo_labels(manifest: Path, db: Path) -> int:
    """Import the real-photo evaluation labels, so the Accuracy page shows photo figures."""
    from predictor import Predictor
    from predictor.learning.labels_io import import_labels
    from predictor.store import FeedbackStore

    predictor, store = Predictor.from_manifest(manifest), FeedbackStore(f"sqlite:///{db}")
    report = import_labels(predictor, store, ROOT / "photos" / "eval_points.csv",
                           tester="photo-labels")
    store.close()
    predictor.close()
    assert report["skipped"] == []
    return report["imported"]


def test_tester_loop_in_a_real_browser(browser, tmp_path_factory):
    folder = tmp_path_factory.mktemp("browser")
    manifest = build_app_models(folder / "models")
    db = folder / "pinpoint.db"
    seeded = _seeded(manifest, db)
    server, url = _start_app(manifest, db, folder / "streamlit.log")
    try:
        page = browser.new_page(viewport=LAPTOP)
        expected = run_loop(page, url, _two_tone_photo(folder / "two-tone.png"), SHOTS)
        accuracy = page.locator('[data-testid="stMetric"]').filter(has_text="Answers")
        # the tester's label is counted on top of the seeded ones
        expect(accuracy.first.locator('[data-testid="stMetricValue"]')).to_have_text(
            str(seeded + 1))
        visit_other_pages(page, SHOTS)
        page.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    with sqlite3.connect(db) as conn:
        points = conn.execute("SELECT point_x, point_y FROM predictions "
                              "WHERE tester = 'browser-tester' ORDER BY id").fetchall()
        labels = conn.execute(
            "SELECT l.prediction_id, l.model, l.label, m.top1 FROM labels l JOIN predictions p "
            "ON p.id = l.prediction_id JOIN prediction_models m ON m.prediction_id = p.id "
            "AND m.model = l.model WHERE p.tester = 'browser-tester' ORDER BY l.id").fetchall()
    assert len(points) == 2  # one click on Predict, one on Label session: each stored once
    assert points[0] == pytest.approx(expected)
    first, second = points_ids = sorted({row[0] for row in labels})
    by_key = {(pid, model): (label, top1) for pid, model, label, top1 in labels}
    assert by_key[(first, "color")][0] == by_key[(first, "color")][1]  # key 1: color's top 1
    assert by_key[(first, "theme")][0] is None  # key 0: none of these
    assert by_key[(second, "color")][0] == "silver" and (second, "theme") not in by_key
    assert len(points_ids) == 2
    assert "Traceback" not in (folder / "streamlit.log").read_text()


def test_default_models_in_a_real_browser(browser, tmp_path_factory):
    """The same loop on the trained models, if built; its screenshots go into docs/."""
    manifest = ROOT / "models" / "manifest.toml"
    if not manifest.is_file():
        pytest.skip("no trained models yet (models/manifest.toml)")
    from predictor import load_manifest

    folder = tmp_path_factory.mktemp("trained")
    labeled = (ROOT / "photos" / "eval_points.csv").read_text(encoding="utf-8").splitlines()[1:]
    assert _seeded_with_photo_labels(manifest, folder / "pinpoint.db") == len(labeled)
    models = tuple(spec.name for spec in load_manifest(manifest))
    server, url = _start_app(manifest, folder / "pinpoint.db", folder / "streamlit.log")
    try:
        page = browser.new_page(viewport=LAPTOP)
        # a real photo: the click lands on the wooden rowing boat in front
        run_loop(page, url, ROOT / "samples" / "rowing_boats.jpg", SHOTS / "trained", models)
        page.close()
    finally:
        server.terminate()
        server.wait(timeout=30)


def _cell_center(index: int, shown_width: float) -> dict[str, float]:
    from ui.batch_queue import COLUMNS, PAD, THUMB

    cell, scale = THUMB + 2 * PAD, shown_width / (COLUMNS * (THUMB + 2 * PAD))
    return {"x": ((index % COLUMNS) + 0.5) * cell * scale,
            "y": ((index // COLUMNS) + 0.5) * cell * scale}


def _photo_drawn(page, timeout_s: float = 90) -> None:
    """Wait until the photo's frame has its picture's height (not the empty loading frame)."""
    # `.last`: the emptied frame of the rerun before can still stand first (the loop below
    # waits for it to go); a strict locator would fail on the two.
    page.frame_locator(COMPONENT).last.locator("img").wait_for()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        # Right after a rerun the old, emptied frame can stand beside the new one for a moment:
        # wait until only the photo's frame is left, so the page's strict locators find one.
        frames = page.locator(COMPONENT).all()
        box = frames[0].bounding_box() if len(frames) == 1 else None
        if box and box["height"] > 100:
            return
        page.wait_for_timeout(250)
    raise AssertionError(f"the photo was not drawn: {len(page.locator(COMPONENT).all())} "
                         "frames")


def _click_until_answered(page, tries: int = 3) -> None:
    """Click the photo; once more if the click landed while the new photo was still loading."""
    save = page.get_by_role("button", name="Save & next ➜")
    for _ in range(tries):
        page.frame_locator(COMPONENT).locator("img").click(position={"x": 200, "y": 150})
        try:
            save.wait_for(timeout=30_000)
            return
        except PlaywrightTimeout:
            continue
    save.wait_for()


def test_queue_jump_and_my_labels_edit_in_a_real_browser(browser, tmp_path):
    manifest = build_app_models(tmp_path / "models")
    db = tmp_path / "pinpoint.db"
    server, url = _start_app(manifest, db, tmp_path / "streamlit.log")
    try:
        page = browser.new_page(viewport=LAPTOP)
        page.set_default_timeout(90_000)
        page.goto(url + "?tester=queue-tester")
        expect(page.get_by_role("textbox", name="Your name")).to_have_value("queue-tester")
        _open_page(page, "Label session")
        page.get_by_text("Sample photos").click()
        page.get_by_text("Photo 1 of 5").wait_for()
        sheet = page.frame_locator(QUEUE).locator("img")
        sheet.wait_for()
        expect(page.get_by_text("○ not yet 5")).to_be_visible()
        # a click on the third thumbnail opens the third photo
        sheet.click(position=_cell_center(2, sheet.bounding_box()["width"]))
        page.get_by_text("Photo 3 of 5").wait_for()
        _click_until_answered(page)
        _answers(page, "color").get_by_text("none of these").click()
        _answers(page, "theme").get_by_text("not sure / skip").click()
        page.get_by_role("button", name="Save & next ➜").click()
        page.get_by_text("Photo 4 of 5").wait_for()
        expect(page.get_by_text("✓ labeled 1 · ○ not yet 4")).to_be_visible()
        _photo_drawn(page)
        _shoot(page, "7-label-session-queue", SHOTS)
        # My labels: the saved label, changed; the old one stays in the history
        _open_page(page, "My labels")
        page.get_by_text("point(s) saved as queue-tester").wait_for()
        _pick(page, "Your color label", "navy")
        page.get_by_role("button", name="Save changes").click()
        page.get_by_text("Saved ✓ color: none of these → navy").wait_for()
        page.get_by_text("History of the color label (1 earlier)").click()
        expect(page.locator('[data-testid="stExpander"] [data-testid="stDataFrame"]')
               ).to_be_visible()
        _shoot(page, "8-my-labels", SHOTS)
        page.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    with sqlite3.connect(db) as conn:
        current = conn.execute("SELECT l.model, l.label, p.image_name FROM labels l JOIN "
                               "predictions p ON p.id = l.prediction_id").fetchall()
        history = conn.execute("SELECT model, label, replaced_by FROM label_history").fetchall()
        page_ms = conn.execute("SELECT page_ms FROM predictions").fetchall()
    third = sorted((ROOT / "samples").glob("*.jpg"))[2].name
    assert current == [("color", "navy", third)]
    assert history == [("color", None, "queue-tester")]
    assert len(page_ms) == 1 and page_ms[0][0] > 0  # the click's own run time, stored
    assert "Traceback" not in (tmp_path / "streamlit.log").read_text()


SECRETS = """[auth]
redirect_uri = "http://127.0.0.1:9/oauth2callback"
cookie_secret = "a-long-random-cookie-secret-for-tests-only"
client_id = "pinpoint"
client_secret = "not-a-secret"
server_metadata_url = "http://127.0.0.1:9/.well-known/openid-configuration"
"""


def test_login_screen_is_all_a_stranger_sees_when_oidc_is_configured(browser, tmp_path):
    manifest = build_app_models(tmp_path / "models")
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(SECRETS)
    server, url = _start_app(manifest, tmp_path / "pinpoint.db", tmp_path / "streamlit.log",
                             "--secrets.files", str(secrets))
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        for path in ("", "/accuracy", "/models"):
            page.goto(url + path)
            page.get_by_role("button", name="Log in").wait_for(timeout=60_000)
            expect(page.get_by_text("Please log in to use Pinpoint.")).to_be_visible()
            expect(page.locator('input[type="file"]')).to_have_count(0)
            expect(page.locator('[data-testid="stSidebarNav"]')).to_have_count(0)
            expect(page.locator('[data-testid="stMetric"]')).to_have_count(0)
        _shoot(page, "0-login", SHOTS)
        page.close()
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_api_docs_render_offline_in_a_real_browser(browser, tmp_path):
    from predictor.service import Settings, create_app
    from tests.live_server import KEYS, LiveServer
    from tests.test_api_hardening import fake_predictor

    settings = Settings(api_keys=KEYS, db_url=f"sqlite:///{tmp_path / 'docs.db'}")
    with LiveServer(create_app(settings, load_predictor=fake_predictor)) as server:
        page = browser.new_page()
        outside = []

        def only_this_server(route):
            if route.request.url.startswith(server.url):
                route.continue_()
            else:  # what an offline machine gets for a CDN
                outside.append(route.request.url)
                route.abort()

        page.route("**/*", only_this_server)
        page.goto(f"{server.url}/docs")
        expect(page.locator(".swagger-ui .info .title")).to_contain_text("Pinpoint",
                                                                         timeout=30_000)
        expect(page.locator(".opblock-summary-path", has_text="/v1/predict")).to_be_visible()
        page.close()
    assert outside == []
