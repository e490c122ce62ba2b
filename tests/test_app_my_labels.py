from datetime import datetime

from streamlit.testing.v1 import AppTest

from tests import store_writer
from tests.app_models import ROOT, TIMEOUT

PAGE = str(ROOT / "pages" / "my_labels.py")

pytest_plugins = ["tests.app_fixtures"]


def _seed(env):
    """ann labeled two points (color and theme on one), bob one; returns ann's ids."""
    store = env.store()
    ids = []
    for key, tester, chosen in (("a", "ann", {"color": "red", "theme": "Music"}),
                                ("b", "ann", {"color": None}),
                                ("c", "bob", {"color": "blue"})):
        prediction_id = store.record_prediction(store_writer.fake_prediction(key), tester=tester,
                                                image_name=f"{key}.jpg")
        store.record_labels(prediction_id, chosen, tester=tester, at=datetime(2026, 12, 1, 9))
        ids.append(prediction_id)
    store.close()
    return ids


def _open(name):
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT).run()
    at.sidebar.text_input(key="common_tester").input(name)
    return at.run()


def test_my_labels_lists_only_this_testers_labels(app_env):
    a, b, c = _seed(app_env)
    at = _open("ann")
    assert not at.exception
    assert "**3** label(s) on **2** point(s)" in at.markdown[0].value
    picked = {box.key: box.value for box in at.selectbox}
    assert picked == {f"mylabels_label_{a}_color": "red", f"mylabels_label_{a}_theme": "Music",
                      f"mylabels_label_{b}_color": "none of these"}
    options = at.selectbox(key=f"mylabels_label_{a}_color").options
    assert options[:3] == ["red", "blue", "none of these"]  # the model's answers first
    assert "navy" in options  # then every label the model knows
    assert not [box for box in at.selectbox if box.key.endswith(f"_{c}_color")]  # bob's


def test_editing_a_label_replaces_it_and_keeps_the_history(app_env):
    a, _, _ = _seed(app_env)
    at = _open("ann")
    at.selectbox(key=f"mylabels_label_{a}_color").set_value("navy")
    at.button(key=f"mylabels_save_{a}").click().run()
    assert not at.exception
    assert at.success[0].value == f"Saved ✓ color: red → navy (#{a})."
    store = app_env.store()
    from predictor.store import label_history, labeled_answers

    counted = labeled_answers(store).set_index(["prediction_id", "model"])["truth"]
    history = label_history(store, a, "color")
    store.close()
    assert counted[(a, "color")] == "navy" and counted[(a, "theme")] == "Music"
    assert history["label"].tolist() == ["red", "navy"]
    assert [e.label for e in at.expander] == ["History of the color label (1 earlier)"]


def test_saving_without_a_change_changes_nothing(app_env):
    a, _, _ = _seed(app_env)
    at = _open("ann")
    at.button(key=f"mylabels_save_{a}").click().run()
    assert at.info[0].value == "Nothing changed."
    assert not at.expander


def test_a_tester_without_labels_is_told_where_to_make_some(app_env):
    _seed(app_env)
    at = _open("cy")
    assert "No labels saved as **cy** yet" in at.info[0].value


class _LoggedIn(dict):
    """st.user as an identity provider leaves it after ann logged in."""

    is_logged_in = True


def test_a_logged_in_tester_cannot_reach_another_testers_labels(app_env, monkeypatch):
    import streamlit as st

    store = app_env.store()
    ids = {}
    for key, tester in (("a", "ann@example.org"), ("c", "bob")):
        ids[tester] = store.record_prediction(store_writer.fake_prediction(key), tester=tester,
                                              image_name=f"{key}.jpg")
        store.record_labels(ids[tester], {"color": "blue"}, tester=tester,
                            at=datetime(2026, 12, 1, 9))
    store.close()
    monkeypatch.setattr(st, "user", _LoggedIn(email="ann@example.org"))
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT)
    at.secrets["auth"] = {"client_id": "pinpoint"}
    at.query_params["tester"] = "bob"  # the URL names bob: the login decides, not the URL
    at.run()
    assert not at.exception
    assert "saved as **ann@example.org**" in at.markdown[0].value
    assert [box.key for box in at.selectbox] == [f"mylabels_label_{ids['ann@example.org']}_color"]
    # A crafted request: a value for bob's widget key, then ann's save.
    at.session_state[f"mylabels_label_{ids['bob']}_color"] = "navy"
    at.button(key=f"mylabels_save_{ids['ann@example.org']}").click().run()
    assert at.info[0].value == "Nothing changed."
    store = app_env.store()
    from predictor.store import labeled_answers

    truths = labeled_answers(store).set_index("prediction_id")["truth"].to_dict()
    store.close()
    assert truths == {ids["ann@example.org"]: "blue", ids["bob"]: "blue"}
