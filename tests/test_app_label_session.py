import io
import sqlite3

import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from tests.app_models import ROOT, TIMEOUT, png
from ui.batch_queue import DONE, PAD, THUMB

PAGE = str(ROOT / "pages" / "label_session.py")

pytest_plugins = ["tests.app_fixtures"]
def _labels(env):
    with sqlite3.connect(env.db_url.removeprefix("sqlite:///")) as conn:
        return conn.execute(
            "SELECT p.tester, l.model, l.label FROM labels l "
            "JOIN predictions p ON p.id = l.prediction_id ORDER BY l.model").fetchall()


def _batch(at, n=3):
    files = [(f"photo{i}.png", png(color=(40 * i, 100, 200)), "image/png") for i in range(n)]
    at.file_uploader(key="label_uploads").set_value(files)
    return at.run()


def test_progress_skip_back_and_save_and_next(app_env, fake_click):
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT).run()
    assert "Add some photos" in at.info[0].value
    at.sidebar.text_input(key="common_tester").input("ana")
    _batch(at)
    assert at.get("progress")[0].proto.text == "0 of 3 labeled"
    assert at.subheader[0].value == "Photo 1 of 3: photo0.png"
    at.button(key="label_skip").click().run()
    assert at.subheader[0].value == "Photo 2 of 3: photo1.png"
    at.button(key="label_back").click().run()
    assert at.subheader[0].value == "Photo 1 of 3: photo0.png"
    at.button(key="label_skip").click().run()
    fake_click(400, 300, unix_time=1)
    at.run()
    at.radio(key="label_answer_color_1").set_value("another label…").run()
    at.selectbox(key="label_other_color_1").set_value("navy")
    at.radio(key="label_answer_theme_1").set_value("not sure / skip")
    at.button(key="label_save").click().run()
    assert at.get("progress")[0].proto.text == "1 of 3 labeled"
    assert at.toast[0].value == "Saved photo 2 (photo1.png)."
    assert at.subheader[0].value == "Photo 3 of 3: photo2.png"
    assert _labels(app_env) == [("ana", "color", "navy")]  # theme skipped: no label


def test_finishing_the_batch_says_so(app_env):
    at = _batch(AppTest.from_file(PAGE, default_timeout=TIMEOUT).run(), n=1)
    at.button(key="label_skip").click().run()
    assert "All photos done" in at.success[0].value


def test_a_new_visit_resumes_at_the_first_photo_this_tester_has_not_labeled(app_env, fake_click):
    first = AppTest.from_file(PAGE, default_timeout=TIMEOUT).run()
    first.sidebar.text_input(key="common_tester").input("ana")
    _batch(first, n=2)
    fake_click(400, 300, unix_time=1)
    first.run()
    first.radio(key="label_answer_color_1").set_value("none of these")
    first.radio(key="label_answer_theme_1").set_value("not sure / skip")
    first.button(key="label_save").click().run()
    later = AppTest.from_file(PAGE, default_timeout=TIMEOUT).run()  # a reload: a new session
    later.sidebar.text_input(key="common_tester").input("ana")
    _batch(later, n=2)
    assert later.subheader[0].value == "Photo 2 of 2: photo1.png"
    assert later.get("progress")[0].proto.text == "1 of 2 labeled"
    other = AppTest.from_file(PAGE, default_timeout=TIMEOUT).run()
    other.sidebar.text_input(key="common_tester").input("bo")
    _batch(other, n=2)
    assert other.subheader[0].value == "Photo 1 of 2: photo0.png"  # progress is per tester


@pytest.fixture
def fake_queue(monkeypatch):
    """Replace the queue's click component: keep the sheet it shows, answer a set click."""
    import ui.batch_queue

    state = {"click": None, "shown": 0, "thumbnails": 0}
    made = ui.batch_queue.thumbnail

    def thumbnail(*args, **kwargs):
        state["thumbnails"] += 1
        return made(*args, **kwargs)

    def component(source, width=None, **_):
        state["sheet"] = Image.open(io.BytesIO(source.data)).convert("RGB")
        state["width"], state["shown"] = width, state["shown"] + 1
        return state["click"]

    monkeypatch.setattr(ui.batch_queue, "streamlit_image_coordinates", component)
    monkeypatch.setattr(ui.batch_queue, "thumbnail", thumbnail)
    return state


def _assert_page_time_stored(env):
    """The click's own run time is written to its prediction row, in the background."""
    from ui.common import _page_times

    assert _page_times(env.db_url).flush()
    with sqlite3.connect(env.db_url.removeprefix("sqlite:///")) as conn:
        stored = conn.execute("SELECT page_ms, total_ms FROM predictions").fetchall()
    assert len(stored) == 1 and stored[0][0] > stored[0][1] > 0  # the page run includes it


def _status_pixel(sheet, index):
    cell = THUMB + 2 * PAD
    left, top = (index % 4) * cell, (index // 4) * cell
    return sheet.getpixel((left + cell - 15, top + cell - 15))


def test_the_queue_shows_thumbnails_with_status_and_a_click_opens_that_photo(
        app_env, fake_click, fake_queue):
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT).run()
    at.sidebar.text_input(key="common_tester").input("ana")
    _batch(at)
    fake_click(400, 300, unix_time=1)
    at.run()
    _assert_page_time_stored(app_env)
    at.radio(key="label_answer_color_1").set_value("none of these")
    at.radio(key="label_answer_theme_1").set_value("not sure / skip")
    at.button(key="label_save").click().run()
    sheet = fake_queue["sheet"]
    cell = THUMB + 2 * PAD
    assert sheet.size == (4 * cell, cell)  # three photos: one row of four cells
    green = Image.new("RGB", (1, 1), DONE).getpixel((0, 0))
    assert all(abs(a - b) < 40 for a, b in zip(_status_pixel(sheet, 0), green, strict=True))
    assert _status_pixel(sheet, 1) == pytest.approx((255, 255, 255), abs=30)  # ○ not yet
    # the thumbnail shows the photo's own colour (photo2 is (80, 100, 200))
    assert sheet.getpixel((2 * cell + cell // 2, cell // 2)) == pytest.approx((80, 100, 200),
                                                                                abs=20)
    assert at.subheader[0].value == "Photo 2 of 3: photo1.png"
    scale = fake_queue["width"] / sheet.width
    fake_queue["click"] = {"x": (2 * cell + 30) * scale, "y": 30 * scale,
                           "width": fake_queue["width"], "height": sheet.height * scale,
                           "unix_time": 7}
    at.run()
    assert at.subheader[0].value == "Photo 3 of 3: photo2.png"
    fake_queue["click"] = {**fake_queue["click"], "x": 30 * scale, "unix_time": 8}
    at.run()
    assert at.subheader[0].value == "Photo 1 of 3: photo0.png"  # a labeled one opens too
    assert fake_queue["thumbnails"] == 3  # made once per photo, over seven runs
    at.run()  # the same click again (the component repeats it) changes nothing
    assert at.subheader[0].value == "Photo 1 of 3: photo0.png"
