"""The Models page's version tools: figures per version, training, comparing, promoting."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from predictor import PinpointError, Predictor, load_versions, manifest_path
from predictor.learning.compare import compare_on, version_figures, version_spec
from predictor.learning.labeled_crops import gather
from predictor.learning.training_jobs import TrainingStatus
from predictor.learning.versions import promote
from predictor.store import FeedbackStore, database_url
from ui.common import training_jobs

_PERCENT = {name: st.column_config.NumberColumn(format="percent") for name in ("top1", "top5")}


@st.cache_data(max_entries=8, show_spinner="Scoring every version on the labeled points…")
def _figures(model: str, manifest: str, fingerprint: str, labels_seen: int) -> pd.DataFrame:
    # Cached per manifest content and number of labels: new labels or versions re-score.
    store = FeedbackStore(database_url())
    try:
        return pd.DataFrame(version_figures(model, manifest=manifest, store=store))
    finally:
        store.close()


def versions_table(model: str, fingerprint: str, labels_seen: int) -> None:
    """Show each version of `model` with its figures on the same labeled points."""
    table = _figures(model, str(manifest_path()), fingerprint, labels_seen)
    st.dataframe(table, hide_index=True, width="stretch", key=f"models_versions_{model}",
                 column_config=_PERCENT)


def training_ui(model: str, allowed: bool) -> None:
    """A Train button and the running (or last) training's progress.

    The part refreshes itself every 2 s only while a training runs. A fragment that reruns
    all the time would race every click elsewhere on the page: Streamlit (fastReruns) starts
    the click's run while the superseded fragment run is still finishing, and that run's end
    resets the click's button to False, so the click is lost.
    """
    status = training_jobs().status()
    running = status is not None and status.running
    st.fragment(_training, run_every=2 if running else None)(model, allowed, running)


def _training(model: str, allowed: bool, polling: bool) -> None:
    status = training_jobs().status()
    running = status is not None and status.running
    st.button(f"Train a new {model} version", key=f"models_train_{model}",
              disabled=running or not allowed, on_click=_start_training, args=(model,))
    if error := st.session_state.pop(f"models_train_error_{model}", None):
        st.error(error)
    mine = status is not None and status.model == model
    if mine and running:
        assert status is not None
        st.progress(status.fraction, text=status.message)  # shown while the page reruns, too
    if running != polling or _new_result(model, status):
        st.rerun(scope="app")  # start or stop polling; list a new candidate above too
    if status is None or not mine or running:
        return
    if status.error:
        st.error(f"Training failed: {status.error}")
    elif status.result:
        result = status.result
        st.success(f"{model} {result['version']} trained (added as a candidate): top-1 "
                   f"{result['before']['top1']:.0%} → {result['after']['top1']:.0%} on "
                   f"{result['eval_points']} held-out points ({result['seconds']} s).")


def _start_training(model: str) -> None:
    # A callback: it runs as the click's run starts, so the click cannot be lost (see above).
    try:
        training_jobs().start(model, manifest=str(manifest_path()), db_url=database_url())
    except PinpointError as exc:
        st.session_state[f"models_train_error_{model}"] = str(exc)


def _remember(key: str) -> None:
    # A click noted by a callback survives a superseded run's trigger reset (training_ui).
    st.session_state[key] = True


def _new_result(model: str, status: TrainingStatus | None) -> bool:
    """True once per finished training of `model` in this session."""
    if status is None or status.model != model or status.running:
        return False
    seen = f"models_trained_{model}"
    if st.session_state.get(seen) == status.started:
        return False
    st.session_state[seen] = status.started
    return True


def compare_ui(model: str, versions: list[str], store: FeedbackStore) -> None:
    """Two versions side by side on the store's labeled points, with the flipped crops."""
    left, right = st.columns(2)
    a = left.selectbox("Version A", versions, key=f"models_cmp_a_{model}")
    b = right.selectbox("Version B", versions, index=len(versions) - 1,
                        key=f"models_cmp_b_{model}")
    asked = f"models_compare_asked_{model}"
    st.button("Compare", key=f"models_compare_{model}", on_click=_remember, args=(asked,))
    if not st.session_state.pop(asked, False):
        return
    spec_a, spec_b = (version_spec(model, v, manifest_path()) for v in (a, b))
    points = gather(spec_a, store=store)
    if not points:
        st.info("No labeled points yet for this model.")
        return
    result = compare_on(spec_a, spec_b, points)
    rows = [{"version": f[("version")], "top-1": f["top1"], "top-1 lenient": f["top1_lenient"],
             "top-5": f["top5"]} for f in (result["a"], result["b"])]
    percent = st.column_config.NumberColumn(format="percent")
    st.dataframe(pd.DataFrame(rows), hide_index=True, key=f"models_cmp_table_{model}",
                 column_config={c: percent for c in ("top-1", "top-1 lenient", "top-5")})
    per_class = pd.DataFrame({f"{v['version']}": {c: x["top1"] for c, x in v["per_class"].items()}
                              for v in (result["a"], result["b"])})
    st.bar_chart(per_class, stack=False, y_label="top-1 per class")
    for kind, title in (("wrong_to_right", "Wrong → right"), ("right_to_wrong", "Right → wrong")):
        flips = result["flipped"][kind]
        st.write(f"**{title}: {len(flips)}**")
        if flips:
            st.image([points[f["index"]].crop for f in flips[:24]], width=80,
                     caption=[f"{f['truth']}: {f['a']} → {f['b']}" for f in flips[:24]])


def promote_ui(model: str, versions: list[str], active: str, store: FeedbackStore,
               by: str) -> None:
    """Make another version active (or roll back); the app serves it from the next click."""
    chosen = st.selectbox("Serve version", versions, index=versions.index(active),
                          key=f"models_promote_{model}")
    # A callback, not `if st.button(...)`: it runs before the page does, so this very run
    # shows the new version, and a superseded run cannot reset the click first.
    st.button("Make active", key=f"models_make_active_{model}", disabled=chosen == active,
              on_click=_promote, args=(model, store, by))
    if error := st.session_state.pop(f"models_promote_error_{model}", None):
        st.error(error)


def _promote(model: str, store: FeedbackStore, by: str) -> None:
    chosen = st.session_state[f"models_promote_{model}"]  # what the box shows at the click
    try:  # the app serves it from the next click: it must load, or nothing changes
        _load_once(model, chosen)
    except PinpointError as exc:
        st.session_state[f"models_promote_error_{model}"] = (
            f"{model} {chosen} was not made active: {exc}")
        return
    before = promote(manifest_path(), model, chosen)
    if before is not None:
        store.record_switch(model, before, chosen, by=by, source="app")


def _load_once(model: str, version: str) -> None:
    """Load and warm one version as serving would (its operations checked first), then free it."""
    spec = next(s for s in load_versions() if s.name == model and s.version == version)
    Predictor.from_specs([spec]).close()


def model_versions(model: str) -> tuple[list[str], str]:
    """Return the versions the manifest lists for `model` and the active one."""
    specs = [s for s in load_versions() if s.name == model]
    return [s.version for s in specs], next(s.version for s in specs if s.status == "active")
