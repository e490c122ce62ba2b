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
        store.record_page_ms(prediction_id, 100.0 + 10 * "abcd".index(key))
    store.record_failure(tester="ann", error="timed out", status="timeout")
    store.close()


def _chart_titles(at):
    return [json.loads(chart.proto.spec).get("title") for chart in at.get("vega_lite_chart")]


def _chart_rows(chart):
    import pyarrow as pa

    data = chart.proto.datasets[0].data.data
    return pa.ipc.open_stream(data).read_pandas().to_dict("records")


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
    assert "No point has labels from two testers yet" in at.caption[1].value


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
        "Model load and warm-up (median over server starts)",
        "What a tester waits for, per hour: median and p90", "Latency per stage",
        "page run (tester waits) latency per hour (ms)",
        "Median per stage: models in series vs in parallel"]
    rows = _chart_rows(at.get("vega_lite_chart")[1])
    page = {r["percentile"]: r["ms"] for r in rows if r["stage"] == "page run (tester waits)"}
    assert page == {"median": 115.0, "p90": 127.0}  # 100, 110, 120, 130 ms
    assert {r["stage"] for r in rows} == {"page run (tester waits)", "prediction (server)",
                                         "color model", "theme model"}
    at.selectbox(key="performance_stage").set_value("color model").run()
    assert _chart_titles(at)[3] == "color model latency per hour (ms)"
    at.number_input(key="performance_runs").set_value(5)
    at.button(key="performance_measure").click().run()
    store = app_env.store()
    from predictor.store import prediction_timings

    runs = prediction_timings(store)
    store.close()
    bench = runs[runs["source"] == "benchmark"]
    assert len(bench) == 10 and sorted(bench["parallel"].unique()) == [0, 1]


def test_accuracy_page_shows_agreement_where_testers_labeled_the_same_point(app_env):
    store = app_env.store()
    # ann and bob on two shared points (a: agree, b: disagree); cy alone on c
    for key, x, tester, truth in (("a", 17.0, "ann", "red"), ("a", 18.0, "bob", "red"),
                                  ("b", 17.0, "ann", "red"), ("b", 17.5, "bob", "blue"),
                                  ("c", 17.0, "cy", "blue")):
        prediction = store_writer.fake_prediction(key)
        prediction["point"] = {"x": x, "y": 18.0}
        prediction_id = store.record_prediction(prediction, tester=tester)
        store.record_labels(prediction_id, {"color": truth}, tester=tester)
    store.close()
    at = AppTest.from_file(ACCURACY, default_timeout=TIMEOUT).run()
    assert not at.exception
    table = at.dataframe[0].value
    assert table.to_dict("records") == [{
        "Model": "color", "Points": 2, "All testers agree": "50%", "Tester pairs": 2,
        "Pairs agreeing": "50%", "Fleiss' κ": "-0.33"}]  # (0.5 - 10/16) / (1 - 10/16)
    pairs = at.dataframe[1].value
    assert pairs[["Tester", "And", "Points", "Agree"]].values.tolist() == [["ann", "bob", 2,
                                                                           "50%"]]
    at.sidebar.selectbox(key="accuracy_tester").set_value("ann").run()  # filtered: still both
    assert at.dataframe[0].value["Points"].tolist() == [2]
