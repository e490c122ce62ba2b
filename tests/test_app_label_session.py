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


def test_progress_skip_and_save_and_next(app_env, fake_click):
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT).run()
    assert "Add some photos" in at.info[0].value
    at.sidebar.text_input(key="common_tester").input("ana")
    _batch(at)
    assert at.get("progress")[0].proto.text.startswith("0 of 3 done")
    assert at.subheader[0].value == "Photo 1 of 3: photo0.png"
    at.button(key="label_skip").click().run()
    assert at.subheader[0].value == "Photo 2 of 3: photo1.png"
    fake_click(400, 300, unix_time=1)
    at.run()
    at.selectbox(key="label_truth_color_1").set_value("navy")
    at.form_submit_button[0].click().run()
    assert at.get("progress")[0].proto.text.startswith("2 of 3 done · 1 saved")
    assert at.success[0].value == "Saved photo 2 (photo1.png)."
    assert at.subheader[0].value == "Photo 3 of 3: photo2.png"
    assert _labels(app_env)[0] == ("ana", "color", "navy")


def test_finishing_the_batch_says_so(app_env):
    at = _batch(AppTest.from_file(PAGE, default_timeout=TIMEOUT).run(), n=1)
    at.button(key="label_skip").click().run()
    assert "All photos done" in at.success[0].value
