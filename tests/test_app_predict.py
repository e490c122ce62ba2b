import io
import sqlite3

import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from predictor import StoreBusy
from tests.app_models import ROOT, TIMEOUT, png

PAGE = str(ROOT / "pages" / "predict.py")

pytest_plugins = ["tests.app_fixtures"]
def _page():
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT)
    at.run()
    return at


def _upload(at, name, data, mime="image/png"):
    at.file_uploader(key="predict_upload").set_value((name, data, mime))
    at.run()
    return at


def _rows(env, sql):
    with sqlite3.connect(env.db_url.removeprefix("sqlite:///")) as conn:
        return conn.execute(sql).fetchall()


def test_landing_page_asks_for_a_photo(app_env):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()
    assert not at.exception
    assert at.title[0].value == "📍 Pinpoint"
    assert "Upload a photo or choose a sample" in at.info[0].value


def _headings(at):
    return [m.value for m in at.markdown if "· top" in m.value]


def _save(at, prefix="predict"):
    at.button(key=f"{prefix}_save").click().run()
    return at


def test_click_predicts_once_shows_both_top5_and_saves_truth(app_env, fake_click):
    at = _upload(_page(), "red.png", png())
    fake_click(200, 300, unix_time=111)
    at.run()
    assert not at.exception and not at.error
    color, theme = at.radio(key="predict_answer_color_1"), at.radio(key="predict_answer_theme_1")
    assert len(color.options) == len(theme.options) == 5 + 3  # top 5, none, skip, other
    assert all(" — " in option and option.endswith("%") for option in color.options[:5])
    at.run()  # the component repeats its last click on every rerun
    at.run()
    point = _rows(app_env, "SELECT point_x, point_y, status FROM predictions")
    assert point == [(pytest.approx(300.75), pytest.approx(450.75), "ok")]
    color.set_value("another label…").run()
    at.selectbox(key="predict_other_color_1").set_value("silver")
    at.radio(key="predict_answer_theme_1").set_value("none of these")
    _save(at)
    assert "Saved ✓ color = silver, theme = none of these" in at.success[0].value
    assert sorted(_rows(app_env, "SELECT model, label FROM labels")) == [
        ("color", "silver"), ("theme", None)]


def test_no_answer_is_chosen_for_the_tester_and_save_asks_for_each(app_env, fake_click):
    at = _upload(_page(), "red.png", png())
    fake_click(10, 10, unix_time=5)
    at.run()
    assert at.radio(key="predict_answer_color_1").value is None
    assert at.radio(key="predict_answer_theme_1").value is None
    _save(at)
    assert "Choose an answer for **color** first" in at.warning[0].value
    assert _rows(app_env, "SELECT * FROM labels") == []


def test_skip_labels_only_the_other_model(app_env, fake_click):
    at = _upload(_page(), "red.png", png())
    fake_click(10, 10, unix_time=5)
    at.run()
    top1 = dict(_rows(app_env, "SELECT model, top1 FROM prediction_models"))
    at.radio(key="predict_answer_color_1").set_value("not sure / skip")
    at.radio(key="predict_answer_theme_1").set_value(top1["theme"])
    _save(at)
    assert "(color skipped)" in at.success[0].value
    assert _rows(app_env, "SELECT model, label FROM labels") == [("theme", top1["theme"])]


def test_key_buttons_pick_for_the_first_model_without_an_answer(app_env, fake_click):
    at = _upload(_page(), "red.png", png())
    fake_click(10, 10, unix_time=5)
    at.run()
    ranked = [label for (label,) in _rows(
        app_env, "SELECT top1 FROM prediction_models WHERE model = 'color'")]
    at.button(key="predict_key_1").click().run()
    assert at.radio(key="predict_answer_color_1").value == ranked[0]
    at.button(key="predict_key_0").click().run()  # now theme is the one without an answer
    assert at.radio(key="predict_answer_theme_1").value == "none of these"


def test_a_new_click_is_a_new_prediction(app_env, fake_click):
    at = _upload(_page(), "red.png", png())
    for unix_time in (1, 2, 3):
        fake_click(100 * unix_time, 100, unix_time=unix_time)
        at.run()
    xs = [x for (x,) in _rows(app_env, "SELECT point_x FROM predictions ORDER BY id")]
    assert xs == pytest.approx([150.75, 300.75, 450.75])


def test_display_copy_is_small_for_a_12_megapixel_photo(app_env, fake_click):
    phone_photo = (ROOT / "tests" / "rendered" / "phone_photo_12mp.jpg").read_bytes()
    at = _upload(_page(), "phone_photo_12mp.jpg", phone_photo, "image/jpeg")
    assert fake_click.state["shown"] == (560, 420)  # 4032x3024 upright (EXIF 6), shown small
    fake_click(559, 419, unix_time=9, size=(560, 420))
    at.run()
    ((x, w, h),) = _rows(app_env, "SELECT point_x, image_width, image_height FROM predictions")
    assert (w, h) == (4032, 3024) and x == pytest.approx(4032 * 559.5 / 560)


def test_a_sample_photo_can_be_picked_and_clicked(app_env, fake_click):
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT).run()
    at.radio(key="predict_source").set_value("Use a sample photo").run()
    pick = at.selectbox(key="predict_pick")
    assert "rowing_boats.jpg" in pick.options
    pick.select_index(pick.options.index("rowing_boats.jpg")).run()
    assert fake_click.state["shown"] == (560, 350)  # the 1600x1000 photo, in the 560 column
    fake_click(70, 280, unix_time=5, size=(560, 350))
    at.run()
    ((x, y, w),) = _rows(app_env, "SELECT point_x, point_y, image_width FROM predictions")
    assert w == 1600 and (x, y) == pytest.approx((70.5 * 1600 / 560, 280.5 * 1000 / 350))


def _tiff():
    buffer = io.BytesIO()
    Image.new("RGB", (10, 10)).save(buffer, format="TIFF")
    return buffer.getvalue()


def _gif_frames(n):
    frames = [Image.new("P", (8, 8), i % 256) for i in range(n)]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:])
    return buffer.getvalue()


@pytest.mark.parametrize("row, name, data, reason", [
    ("U1", "big.png", b"\x89PNG\r\n\x1a\n" + b"\0" * (20 * 1024 * 1024), "larger than"),
    ("U2", "bomb.png", png(size=(20000, 20000), color=(0, 0, 0)), "MP"),
    ("U3", "renamed.jpg", _tiff(), "TIFF images are not accepted"),
    ("U3", "doc.png", b"%PDF-1.4\n%\xe2\xe3\n1 0 obj<<>>endobj\n", "PDF images are not accepted"),
    ("U4", "cut.png", png()[:200], "corrupt or truncated"),
    ("U4", "empty.png", b"", "empty"),
    ("U5", "anim.png", _gif_frames(1000), "GIF"),
])
def test_bad_upload_gives_a_friendly_error_and_page_stays_usable(app_env, row, name, data, reason):
    at = _upload(_page(), name, data)
    assert not at.exception
    message = at.error[0].value
    assert message.startswith("This image cannot be used:") and reason in message
    _upload(at, "good.png", png())  # the next upload works
    assert not at.error and not at.exception


def test_rate_limit_refuses_the_extra_click_with_a_message(app_env, fake_click, monkeypatch):
    monkeypatch.setenv("PINPOINT_RATE_LIMIT", "1/3600")
    at = _upload(_page(), "red.png", png())
    fake_click(10, 10, unix_time=1)
    at.run()
    fake_click(20, 20, unix_time=2)
    at.run()
    assert "please wait" in at.warning[0].value
    assert len(_rows(app_env, "SELECT id FROM predictions")) == 1


def test_busy_database_on_save_says_not_saved(app_env, fake_click, monkeypatch):
    at = _upload(_page(), "red.png", png())
    fake_click(10, 10, unix_time=1)
    at.run()

    def busy(*_, **__):
        raise StoreBusy("the feedback database is busy; please try again in a moment")

    monkeypatch.setattr("predictor.store.feedback.FeedbackStore.record_labels", busy)
    at.radio(key="predict_answer_color_1").set_value("none of these")
    at.radio(key="predict_answer_theme_1").set_value("none of these")
    _save(at)
    assert at.warning[0].value.startswith("Not saved: the feedback database is busy")
    assert not at.success


def test_answer_is_shown_before_it_is_stored_and_a_busy_store_loses_nothing(
        app_env, fake_click, monkeypatch):
    # The answer is drawn first and stored at the end of the run. A busy database keeps the
    # answer (shown, with a warning) and stores it on a later run; the labels then follow it.
    at = _upload(_page(), "red.png", png())
    real = __import__("predictor.store").store.FeedbackStore.record_prediction
    busy = {"left": 2}

    def sometimes_busy(self, *args, **kwargs):
        if busy["left"]:
            busy["left"] -= 1
            raise StoreBusy("the feedback database is busy; please try again in a moment")
        return real(self, *args, **kwargs)

    monkeypatch.setattr("predictor.store.feedback.FeedbackStore.record_prediction", sometimes_busy)
    fake_click(10, 10, unix_time=1)
    at.run()
    assert not at.exception and not at.error
    assert "not stored yet" in at.warning[0].value
    assert at.radio(key="predict_answer_color_1").options  # the answer is on screen anyway
    assert _rows(app_env, "SELECT id FROM predictions") == []
    at.radio(key="predict_answer_color_1").set_value("none of these")
    at.radio(key="predict_answer_theme_1").set_value("not sure / skip")
    _save(at)  # the store is tried again first (busy once more): the labels wait too
    assert any("Not saved yet" in w.value for w in at.warning)
    assert _rows(app_env, "SELECT id FROM labels") == []
    _save(at)
    assert "Saved ✓ color = none of these (theme skipped)" in at.success[0].value
    assert len(_rows(app_env, "SELECT id FROM predictions")) == 1
    assert _rows(app_env, "SELECT model, label FROM labels") == [("color", None)]


def test_server_folder_offers_only_safe_images_and_predicts_on_one(app_env, fake_click,
                                                                    tmp_path, monkeypatch):
    root = tmp_path / "images"
    (root / "shop").mkdir(parents=True)
    (root / "shop" / "shirt.png").write_bytes(png(color=(10, 20, 200)))
    (tmp_path / "secret.png").write_bytes(png())
    (root / "escape.png").symlink_to(tmp_path / "secret.png")
    monkeypatch.setenv("PINPOINT_IMAGE_ROOT", str(root))
    at = _page()
    at.radio(key="predict_source").set_value("Pick from the server folder").run()
    assert at.selectbox(key="predict_pick").options == ["shop/shirt.png"]
    fake_click(10, 10, unix_time=1)
    at.run()
    assert not at.error and _headings(at) == ["**Color · top 5**", "**Theme · top 5**"]


def test_nan_scores_show_a_warning_and_no_percentages(app_env, fake_click, monkeypatch):
    import numpy as np

    from predictor.models import LoadedModel

    monkeypatch.setattr(LoadedModel, "probabilities",
                        lambda self, batch: np.full((len(batch), len(self.spec.labels)), np.nan))
    at = _upload(_page(), "red.png", png())
    fake_click(10, 10, unix_time=1)
    at.run()
    assert "gave unusable scores" in at.warning[0].value
    assert at.radio(key="predict_answer_color_1").options[0] == "1. black — no score"
    assert _rows(app_env, "SELECT status FROM predictions") == [("degraded",)]


def test_predict_and_label_through_the_service_into_the_shared_store(app_env, fake_click,
                                                                     monkeypatch):
    from predictor import Predictor
    from predictor.service import Settings, create_app
    from tests.live_server import KEYS, LiveServer, wait_ready

    settings = Settings(api_keys=KEYS, db_url=app_env.db_url)
    app = create_app(settings, load_predictor=lambda: Predictor.from_manifest(app_env.manifest))
    with LiveServer(app) as service:
        wait_ready(service.url)
        monkeypatch.setenv("PINPOINT_SERVICE_URL", service.url)
        monkeypatch.setenv("PINPOINT_API_KEY", KEYS["alice"])
        at = _upload(_page(), "red.png", png())
        fake_click(200, 300, unix_time=1)
        at.run()
        assert _headings(at) == ["**Color · top 5**", "**Theme · top 5**"]
        at.radio(key="predict_answer_color_1").set_value("another label…").run()
        at.selectbox(key="predict_other_color_1").set_value("rose gold")
        at.radio(key="predict_answer_theme_1").set_value("not sure / skip")
        _save(at)
        assert at.success[0].value.startswith("Saved ✓ color = rose gold")
    point = _rows(app_env, "SELECT point_x, point_y, source FROM predictions")
    assert point == [(pytest.approx(300.75), pytest.approx(450.75), "api")]
    assert ("color", "rose gold") in _rows(app_env, "SELECT model, label FROM labels")


def test_the_app_honours_the_configured_pixel_cap_and_names_a_bad_setting(app_env, monkeypatch):
    monkeypatch.setenv("PINPOINT_MAX_MP", "2")  # the 1200x900 photo (1.08 MP) passes
    at = _upload(_page(), "small.png", png())
    assert not at.error
    at = _upload(_page(), "big.png", png(size=(1500, 1400)))  # 2.1 MP
    assert "This image cannot be used:" in at.error[0].value
    monkeypatch.setenv("PINPOINT_MAX_MP", "lots")
    at = _page()
    assert at.error[0].value == ("Pinpoint is misconfigured: PINPOINT_MAX_MP must be a number, "
                                 "got 'lots'")


def _held_bytes(value) -> int:
    """Bytes a session-state value holds in images and byte strings (Pillow: 4 per RGB pixel)."""
    from predictor import DecodedImage

    if isinstance(value, DecodedImage):
        return _held_bytes(value.image)
    if isinstance(value, Image.Image):
        per_pixel = 4 if value.mode in ("RGB", "RGBA") else len(value.getbands())
        return value.width * value.height * per_pixel
    if isinstance(value, (bytes, bytearray)):
        return len(value)
    if isinstance(value, (tuple, list)):
        return sum(_held_bytes(v) for v in value)
    return 0


def test_a_50_mp_upload_keeps_only_small_copies_in_the_session(app_env, fake_click):
    buffer = io.BytesIO()
    Image.new("RGBA", (7068, 7068), (200, 30, 40, 128)).save(buffer, format="PNG")
    at = _upload(_page(), "big.png", buffer.getvalue())
    fake_click(400, 300, unix_time=9)
    at.run()
    assert not at.exception and not at.error
    assert _headings(at) == ["**Color · top 5**", "**Theme · top 5**"]
    state = at.session_state._state.filtered_state
    decoded = state["predict_decoded"][1]
    assert decoded.size == (7068, 7068) and max(decoded.image.size) <= 1000
    held = sum(_held_bytes(value) for value in state.values())
    print(f"\nsession holds {held / 2**20:.1f} MB for a 50 MP upload")
    assert held <= 150 * 2**20


def test_changing_the_typed_name_does_not_escape_the_rate_limit(app_env, fake_click,
                                                                monkeypatch):
    monkeypatch.setenv("PINPOINT_RATE_LIMIT", "1/3600")
    at = _upload(_page(), "red.png", png())
    at.sidebar.text_input(key="common_tester").set_value("ann").run()
    fake_click(10, 10, unix_time=1)
    at.run()
    at.sidebar.text_input(key="common_tester").set_value("not ann").run()
    fake_click(20, 20, unix_time=2)
    at.run()
    assert "please wait" in at.warning[0].value
    assert _rows(app_env, "SELECT tester FROM predictions") == [("ann",)]
