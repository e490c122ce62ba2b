import sqlite3

from streamlit.testing.v1 import AppTest

from tests.app_models import ROOT, TIMEOUT, png

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
    jump = at.selectbox(key="label_jump_2")
    assert jump.options == ["○ 1. photo0.png", "✓ 2. photo1.png", "○ 3. photo2.png"]
    jump.set_value(0).run()
    assert at.subheader[0].value == "Photo 1 of 3: photo0.png"


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
