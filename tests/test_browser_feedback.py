"""The feedback loop in a real browser: train a version, compare, make it active, and the next
click (on a page that was already open, and on a fresh one) is answered by it; no restart."""

import sqlite3

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from tests.app_models import build_app_models
from tests.test_browser import (  # noqa: F401 - `browser` is a fixture
    COMPONENT,
    LAPTOP,
    SHOTS,
    _open_page,
    _shoot,
    _start_app,
    _two_tone_photo,
    browser,
)

pytestmark = pytest.mark.browser
FOLDER = SHOTS / "feedback"
CROPS_SHOWN = """() => {
  const crops = [...document.querySelectorAll('[data-testid="stImage"] img')];
  return crops.length >= 2 && crops.every(img => img.complete && img.naturalWidth > 0);
}"""
TRAINING_S = 600  # training runs in the app's background thread on a shared, busy machine


def _seed_labels(manifest, db) -> int:
    """Labeled color clicks on 8 rendered images, as testers would leave them."""
    from docs.cast_domain import seed_labeled_clicks
    from predictor.store import FeedbackStore

    store = FeedbackStore(f"sqlite:///{db}")
    try:
        return seed_labeled_clicks(manifest, store, range(8))
    finally:
        store.close()


def _click_photo(page, x: int, y: int, version: str) -> None:
    page.frame_locator(COMPONENT).locator("img").click(position={"x": x, "y": y})
    expect(page.get_by_text(f"Answered by color {version}, theme tiny-2")).to_be_visible()


def _predict_on_photo(page, url: str, photo) -> None:
    page.goto(url + "?tester=browser-tester")
    page.locator('input[type="file"]').set_input_files(str(photo))
    page.frame_locator(COMPONENT).locator("img").wait_for()


def _select(page, label: str, option: str) -> None:
    """Pick an option; tries again if a rerun of the page closed the list meanwhile."""
    box = page.locator('[data-testid="stSelectbox"]').filter(has_text=label).first
    for _ in range(5):
        box.locator("input").click()
        try:
            page.get_by_role("option", name=option, exact=True).click(timeout=15_000)
            break
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
    expect(box.locator("input")).to_have_value(option)


def _train(page) -> str:
    page.get_by_role("button", name="Train a new color version").click()
    progress = page.locator('[data-testid="stProgress"]').first
    expect(progress).to_be_visible()
    progress.scroll_into_view_if_needed()
    _shoot(page, "7-models-training", FOLDER)
    done = page.get_by_text("trained (added as a candidate): top-1")
    done.wait_for(timeout=TRAINING_S * 1000)
    return done.inner_text().split(" trained (added")[0].removeprefix("color ")


def _compare(page, old: str, new: str) -> None:
    page.get_by_text("Compare two versions").first.click()
    _select(page, "Version A", old)
    _select(page, "Version B", new)
    page.get_by_role("button", name="Compare", exact=True).first.click()
    expect(page.get_by_text("Wrong → right:").first).to_be_visible()
    compared = page.locator('[data-testid="stExpander"]').filter(
        has_text="Compare two versions").first
    table = compared.locator('[data-testid="stDataFrame"]')
    expect(table).to_contain_text(new)
    table.scroll_into_view_if_needed()
    _shoot(page, "8-models-compare", FOLDER)


def test_train_compare_make_active_and_the_next_click_uses_it(browser, tmp_path):  # noqa: F811
    manifest = build_app_models(tmp_path / "models")
    db = tmp_path / "pinpoint.db"
    assert _seed_labels(manifest, db) == 48
    server, url = _start_app(manifest, db, tmp_path / "streamlit.log")
    try:
        tester = browser.new_page(viewport=LAPTOP)  # a tester already on Predict
        tester.set_default_timeout(90_000)
        photo = _two_tone_photo(tmp_path / "two-tone.png")
        _predict_on_photo(tester, url, photo)
        _click_photo(tester, 140, 210, "tiny-1")

        admin = browser.new_page(viewport=LAPTOP)
        admin.set_default_timeout(90_000)
        admin.goto(url + "?tester=admin")
        _open_page(admin, "Models")
        admin.get_by_text("color · version tiny-1").wait_for()
        new = _train(admin)
        assert new == "tiny-1-r1"
        # the versions table lists the candidate once training is done, without a reload
        versions = admin.locator('[data-testid="stDataFrame"]').nth(1)
        expect(versions).to_contain_text(new)
        _compare(admin, "tiny-1", new)
        _select(admin, "Serve version", new)
        make_active = admin.locator(".st-key-models_make_active_color button")
        expect(make_active).to_be_enabled()  # the page has rerun with the chosen version
        make_active.click()
        expect(admin.get_by_text(f"color · version {new}")).to_be_visible()
        admin.get_by_text("Versions, on the same labeled points").first.scroll_into_view_if_needed()
        _shoot(admin, "9-models-active", FOLDER)

        # the page that was open all along: its next click is answered by the new version
        _click_photo(tester, 420, 210, new)
        # and a fresh visit to Predict, from the admin's tab
        _open_page(admin, "Predict")
        _predict_on_photo(admin, url, photo)
        _click_photo(admin, 140, 210, new)
        admin.wait_for_function(CROPS_SHOWN)  # both models' crops are drawn
        _shoot(admin, "10-predict-new-version", FOLDER)
        assert server.poll() is None  # the same server process served all of it
        tester.close()
        admin.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    with sqlite3.connect(db) as conn:
        answered = conn.execute(
            "SELECT p.tester, m.version FROM predictions p JOIN prediction_models m ON "
            "m.prediction_id = p.id WHERE m.model = 'color' AND p.tester != 'ann' "
            "ORDER BY p.id").fetchall()
        switches = conn.execute("SELECT from_version, to_version, source FROM "
                                "model_switches").fetchall()
    assert answered == [("browser-tester", "tiny-1"), ("browser-tester", new),
                        ("browser-tester", new)]
    assert switches == [("tiny-1", new, "app")]
    assert "Traceback" not in (tmp_path / "streamlit.log").read_text()
