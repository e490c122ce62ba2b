import json
from datetime import datetime, timedelta

from streamlit.testing.v1 import AppTest

from tests import store_writer
from tests.app_models import ROOT, TIMEOUT

ACCURACY = str(ROOT / "pages" / "accuracy.py")
PERFORMANCE = str(ROOT / "pages" / "performance.py")

pytest_plugins = ["tests.app_fixtures"]
def _seed(env):
    """Four labeled color answers (ann: 2 right, 1 in top-5 only; bob: 1 outside), one failure."""
    store = env.store()
    now = datetime.now().replace(microsecond=0) - timedelta(hours=1)
    for key, tester, truth in (("a", "ann", "red"), ("b", "ann", "red"), ("c", "ann", "blue"),
                               ("d", "bob", None)):
        prediction_id = store.record_prediction(store_writer.fake_prediction(key), tester=tester,
                                                at=now, parallel=key in "ab")
        store.record_labels(prediction_id, {"color": truth}, tester=tester)
    store.record_failure(tester="ann", error="timed out", status="timeout")
    store.close()


def _chart_titles(at):
    return [json.loads(chart.proto.spec).get("title") for chart in at.get("vega_lite_chart")]


def _metrics(at):
    return {m.label: m.value for m in at.metric}


def test_accuracy_page_counts_labels_and_ignores_failures(app_env):
    _seed(app_env)
    at = AppTest.from_file(ACCURACY, default_timeout=TIMEOUT).run()
    assert not at.exception
    assert _metrics(at) == {"Answers": "4", "Top-1 accuracy": "50%", "Top-5 accuracy": "75%",
                            "Outside the top 5 (overrides)": "25%"}
    assert at.subheader[0].value == "color · version v1"
    assert _chart_titles(at) == ["Top-1 accuracy per true label (weakest first)",
                                 "Confusion matrix", "Top-1 accuracy per hour"]  # data of one day


def test_accuracy_filters_by_tester(app_env):
    _seed(app_env)
    at = AppTest.from_file(ACCURACY, default_timeout=TIMEOUT).run()
    at.sidebar.selectbox(key="accuracy_tester").set_value("bob").run()
    assert _metrics(at)["Answers"] == "1" and _metrics(at)["Top-5 accuracy"] == "0%"


def test_accuracy_csv_download_has_every_labeled_row(app_env):
    _seed(app_env)
    at = AppTest.from_file(ACCURACY, default_timeout=TIMEOUT).run()
    button = at.get("download_button")[0]
    assert button.proto.label.startswith("Download labeled records")
    assert button.proto.url  # the CSV itself: tests/test_store.py (export_labeled)


def test_accuracy_page_without_labels_says_what_to_do(app_env):
    at = AppTest.from_file(ACCURACY, default_timeout=TIMEOUT).run()
    assert not at.exception and "Label some on the Predict page" in at.info[0].value


def test_performance_page_charts_and_measures_both_modes(app_env):
    _seed(app_env)
    at = AppTest.from_file(PERFORMANCE, default_timeout=TIMEOUT).run()
    assert not at.exception
    assert _chart_titles(at) == [
        "Model load and warm-up (median over server starts)", "Latency per stage",
        "total latency per hour (ms)", "Median per stage: models in series vs in parallel"]
    at.selectbox(key="performance_stage").set_value("color model").run()
    assert _chart_titles(at)[2] == "color model latency per hour (ms)"
    at.number_input(key="performance_runs").set_value(5)
    at.button(key="performance_measure").click().run()
    store = app_env.store()
    from predictor import prediction_timings

    runs = prediction_timings(store)
    store.close()
    bench = runs[runs["source"] == "benchmark"]
    assert len(bench) == 10 and sorted(bench["parallel"].unique()) == [0, 1]
