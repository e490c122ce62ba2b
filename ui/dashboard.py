"""Dashboard pieces: shared filters and the Altair charts of the Accuracy and Performance pages."""

from __future__ import annotations

from datetime import date, timedelta

import altair as alt
import pandas as pd
import streamlit as st

from predictor.store import (
    NONE_LABEL,
    FeedbackStore,
    StoreFilter,
    agreement_table,
    filter_choices,
    pair_agreement,
)

ALL = "All"


def filters_ui(prefix: str, store: FeedbackStore) -> StoreFilter:
    """Sidebar filters: date range, tester, model, version. Returns a StoreFilter."""
    choices = filter_choices(store)
    st.sidebar.subheader("Filters")
    today = date.today()
    picked = st.sidebar.date_input("Dates", value=(today - timedelta(days=90), today),
                                   key=f"{prefix}_dates", help="Prediction dates, inclusive.")
    start, end = (tuple(picked) + (None, None))[:2] if isinstance(picked, (tuple, list)) \
        else (picked, picked)
    pick = {name: st.sidebar.selectbox(name.title(), [ALL, *values], key=f"{prefix}_{name}")
            for name, values in choices.items()}
    return StoreFilter(start=start, end=end or start,
                       **{name: None if value == ALL else value for name, value in pick.items()})


def percent_bars(frame: pd.DataFrame, x: str, y: str, title: str) -> alt.LayerChart:
    """Horizontal bars of a 0-1 share per category, weakest first, each labelled "2 of 3 · 67 %"
    (so a 0 % class still shows its "0 of 3")."""
    frame = frame.assign(text=[f"{round(share * n)} of {n} · {share:.0%}"
                               for share, n in zip(frame[x], frame["n"], strict=True)])
    base = alt.Chart(frame).encode(
        x=alt.X(f"{x}:Q", title=None, axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])),
        y=alt.Y(f"{y}:N", sort=None, title=None, axis=alt.Axis(labelLimit=0)),
        tooltip=[y, alt.Tooltip(x, format=".0%"), "n"])
    bars = base.mark_bar().encode(
        color=alt.Color(f"{x}:Q", scale=alt.Scale(scheme="redyellowgreen", domain=[0, 1]),
                        legend=None))
    text = base.mark_text(align="left", dx=4).encode(text="text:N")
    return alt.LayerChart(layer=[bars, text], title=title)


def confusion_heatmap(frame: pd.DataFrame, title: str) -> alt.LayerChart:
    """Truth (rows) against the model's top-1 (columns), coloured by count: square, with the
    same label order on both axes so the diagonal (right answers) runs corner to corner."""
    seen = set(frame["truth"]) | set(frame["predicted"])
    # "none of these" is no label of the model: its row comes last, apart from the labels
    order = sorted(seen - {NONE_LABEL}) + ([NONE_LABEL] if NONE_LABEL in seen else [])
    base = alt.Chart(frame).encode(
        x=alt.X("predicted:N", title="Model's top-1", sort=order, scale=alt.Scale(domain=order),
                axis=alt.Axis(labelLimit=0, labelAngle=-45)),
        y=alt.Y("truth:N", title="Tester's answer", sort=order, scale=alt.Scale(domain=order),
                axis=alt.Axis(labelLimit=0)))
    cells = base.mark_rect().encode(
        color=alt.Color("count:Q", scale=alt.Scale(scheme="blues"),
                        legend=alt.Legend(format="d", tickMinStep=1)),
        tooltip=["truth", "predicted", "count"])
    numbers = base.mark_text(baseline="middle").encode(text="count:Q")
    # one fixed step per label on both axes: square cells, every label shown
    return alt.LayerChart(layer=[cells, numbers], title=title).properties(
        width=alt.Step(24), height=alt.Step(24))


def time_step(created: pd.Series) -> tuple[str, str]:
    """Pick the over-time step by how much data there is: ("h", "hour") within two days,
    ("D", "day") within two months, else ("W", "week")."""
    span = created.max() - created.min() if len(created) else pd.Timedelta(0)
    if span <= pd.Timedelta(days=2):
        return "h", "hour"
    return ("D", "day") if span <= pd.Timedelta(days=62) else ("W", "week")


def over_time(frame: pd.DataFrame, y: str, color: str, title: str, percent: bool) -> alt.Chart:
    """Lines with points over `period`, one per value of `color`."""
    axis = alt.Axis(format="%") if percent else alt.Axis()
    scale = alt.Scale(domain=[0, 1]) if percent else alt.Scale(zero=True)
    return alt.Chart(frame, title=title).mark_line(point=True).encode(
        x=alt.X("period:T", title=None), y=alt.Y(f"{y}:Q", title=None, axis=axis, scale=scale),
        color=alt.Color(f"{color}:N", title=None), tooltip=list(frame.columns))


def grouped_bars(frame: pd.DataFrame, x: str, y: str, color: str, title: str,
                 order: list[str] | None = None) -> alt.Chart:
    """Bars of `y` per `x` (in `order`), side by side per `color` (e.g. series vs parallel)."""
    return alt.Chart(frame, title=title).mark_bar().encode(
        x=alt.X(f"{x}:N", title=None, sort=order, axis=alt.Axis(labelAngle=0)),
        xOffset=f"{color}:N", y=alt.Y(f"{y}:Q", title="ms"),
        color=alt.Color(f"{color}:N", title=None), tooltip=list(frame.columns))


def with_switches(chart: alt.Chart, switches: pd.DataFrame
                  ) -> alt.Chart | alt.LayerChart | alt.FacetChart:
    """Mark each switch of the served version (promote, roll back) with a dashed rule."""
    if switches.empty:
        return chart
    marks = switches.rename(columns={"switched_at": "period"})
    marks["switch"] = marks["model"] + " " + marks["from_version"].fillna("?") + " → " \
        + marks["to_version"]
    rules = alt.Chart(marks).mark_rule(strokeDash=[4, 4], color="gray").encode(
        x="period:T", tooltip=["switch", "by", "source", alt.Tooltip("period:T", title="at")])
    return alt.layer(chart, rules)


STAGE_NAMES = {"decode": "decode", "crop": "crop", "total": "prediction (server)",
               "page": "page run (tester waits)"}


def readable_stage(stage: str) -> str:
    """Column name to chart label: "model:color" -> "color model", "total" -> "prediction
    (server)", "page" -> "page run (tester waits)"; other names unchanged."""
    if stage.startswith("model:"):
        return f"{stage.removeprefix('model:')} model"
    return STAGE_NAMES.get(stage, stage)


def wait_over_time(frame: pd.DataFrame, title: str) -> alt.Chart:
    """Median (solid) and p90 (dashed) per period, one colour per stage, on a log scale so
    2 ms of model work and 200 ms of page run both read."""
    long = frame.melt(id_vars=["period", "stage", "n"], value_vars=["p50", "p90"],
                      var_name="percentile", value_name="ms")
    long["percentile"] = long["percentile"].map({"p50": "median", "p90": "p90"})
    return alt.Chart(long, title=title).mark_line(point=True).encode(
        x=alt.X("period:T", title=None),
        y=alt.Y("ms:Q", title="ms (log scale)", scale=alt.Scale(type="log")),
        color=alt.Color("stage:N", title=None, sort=list(STAGE_NAMES.values())),
        strokeDash=alt.StrokeDash("percentile:N", title=None, sort=["median", "p90"]),
        shape=alt.Shape("percentile:N", title=None, sort=["median", "p90"]),
        tooltip=["period:T", "stage", "percentile", alt.Tooltip("ms:Q", format=".1f"), "n"])


def agreement_ui(labeled: pd.DataFrame) -> None:
    """Where two or more testers labeled the same point (same photo, clicks within 2 px): per
    model, how often they agree, with chance-corrected kappas and the figures per pair."""
    st.header("Agreement between testers")
    table = agreement_table(labeled)
    if table.empty:
        st.caption("No point has labels from two testers yet (the same photo, clicked within "
                   "2 pixels). When testers label the same points, their agreement shows here.")
        return
    shown = pd.DataFrame({
        "Model": table["model"], "Points": table["points"],
        "All testers agree": table["all_agree"].map("{:.0%}".format),
        "Tester pairs": table["pairs"],
        "Pairs agreeing": table["pairwise"].map("{:.0%}".format),
        "Fleiss' κ": table["kappa"].map(_kappa)})
    st.dataframe(shown, hide_index=True, key="accuracy_agreement")
    st.caption("A point counts when two or more testers labeled it (the same photo, clicks "
               "within 2 pixels; each tester's latest label). κ is agreement beyond chance: "
               "1 = always agree, 0 = no better than chance, — = undefined (one answer only).")
    pairs = pair_agreement(labeled)
    with st.expander(f"Per pair of testers ({len(pairs)})"):
        st.dataframe(pd.DataFrame({
            "Model": pairs["model"], "Tester": pairs["tester_a"], "And": pairs["tester_b"],
            "Points": pairs["points"], "Agree": pairs["agree"].map("{:.0%}".format),
            "Cohen's κ": pairs["kappa"].map(_kappa)}), hide_index=True,
            key="accuracy_agreement_pairs")


def _kappa(value: float | None) -> str:
    return "—" if value is None or pd.isna(value) else f"{value:.2f}"
