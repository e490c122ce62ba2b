"""The Models page's version tools: figures per version, training, comparing, promoting."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from predictor import PinpointError, Predictor, load_versions, manifest_path
from predictor.learning.compare import compare_on, version_figures, version_spec
from predictor.learning.labeled_crops import gather
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


@st.fragment(run_every=2)
def training_ui(model: str, allowed: bool) -> None:
    """A Train button and the running (or last) training's progress; refreshes itself."""
    jobs = training_jobs()
    status = jobs.status()
    running = status is not None and status.running
    if st.button(f"Train a new {model} version", key=f"models_train_{model}",
                 disabled=running or not allowed):
        try:
            jobs.start(model, manifest=str(manifest_path()), db_url=database_url())
        except PinpointError as exc:
            st.error(str(exc))
        status = jobs.status()
    if status is None or status.model != model:
        return
    if status.running:
        st.progress(status.fraction, text=status.message)
    elif status.error:
        st.error(f"Training failed: {status.error}")
    elif status.result:
        result = status.result
        seen = f"models_trained_{model}"
        if st.session_state.get(seen) != status.started:  # list the new candidate above too
            st.session_state[seen] = status.started
            st.rerun(scope="app")
        st.success(f"{model} {result['version']} trained (added as a candidate): top-1 "
                   f"{result['before']['top1']:.0%} → {result['after']['top1']:.0%} on "
                   f"{result['eval_points']} held-out points ({result['seconds']} s).")


def compare_ui(model: str, versions: list[str], store: FeedbackStore) -> None:
    """Two versions side by side on the store's labeled points, with the flipped crops."""
    left, right = st.columns(2)
    a = left.selectbox("Version A", versions, key=f"models_cmp_a_{model}")
    b = right.selectbox("Version B", versions, index=len(versions) - 1,
                        key=f"models_cmp_b_{model}")
    if not st.button("Compare", key=f"models_compare_{model}"):
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
    if st.button("Make active", key=f"models_make_active_{model}", disabled=chosen == active):
        try:  # the app serves it from the next click: it must load, or nothing changes
            _load_once(model, chosen)
        except PinpointError as exc:
            st.error(f"{model} {chosen} was not made active: {exc}")
            return
        before = promote(manifest_path(), model, chosen)
        if before is not None:
            store.record_switch(model, before, chosen, by=by, source="app")
        st.rerun()


def _load_once(model: str, version: str) -> None:
    """Load and warm one version as serving would (its operations checked first), then free it."""
    spec = next(s for s in load_versions() if s.name == model and s.version == version)
    Predictor.from_specs([spec]).close()


def model_versions(model: str) -> tuple[list[str], str]:
    """Return the versions the manifest lists for `model` and the active one."""
    specs = [s for s in load_versions() if s.name == model]
    return [s.version for s in specs], next(s.version for s in specs if s.status == "active")
