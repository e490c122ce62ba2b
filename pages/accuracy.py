"""Pinpoint · Accuracy: how often each model and version gets the testers' answers right."""

from dataclasses import replace

import streamlit as st

from predictor.store import (
    NONE_LABEL,
    accuracy_over_time,
    accuracy_table,
    confusion_table,
    export_labeled,
    labeled_answers,
    model_switches,
    per_class_table,
)
from ui.common import load_store, page_setup
from ui.dashboard import (
    agreement_ui,
    confusion_heatmap,
    filters_ui,
    over_time,
    percent_bars,
    time_step,
    with_switches,
)

page_setup("Accuracy")
store = load_store()
st.title("🎯 Accuracy")
st.write("Every label a tester saved, scored against what the model said at the time. "
         "Failed or timed-out predictions are never counted.")

where = filters_ui("accuracy", store)
labeled = labeled_answers(store, where)
if labeled.empty:
    st.info("No labeled predictions match these filters yet. Label some on the Predict page.")
    st.stop()

# The headline: one row of figures per model and version.
for row in accuracy_table(labeled).itertuples():
    st.subheader(f"{row.model} · version {row.version}")
    n, top1, top5, outside = st.columns(4)
    n.metric("Answers", row.n)
    top1.metric("Top-1 accuracy", f"{row.top1:.0%}")
    top5.metric("Top-5 accuracy", f"{row.top5:.0%}")
    outside.metric("Outside the top 5 (overrides)", f"{row.outside_top5:.0%}")
    mine = labeled[(labeled["model"] == row.model) & (labeled["version"] == row.version)]
    st.caption(f"Of these, **{int(mine['truth'].isna().sum())}** answered “none of these” "
               "(no label of the model fits: counted as a miss, shown apart from the labels "
               "below).")

# Do testers agree where several labeled the same point? (Whatever the tester filter says.)
agreement_ui(labeled if where.tester is None else labeled_answers(store, replace(where,
                                                                                  tester=None)))

# Where each model goes wrong: per class, the confusion matrix, and the trend.
for model, answers in labeled.groupby("model"):
    st.header(f"{model.title()} in detail")
    left, right = st.columns(2)
    classes = per_class_table(answers)
    left.altair_chart(percent_bars(classes[classes["label"] != NONE_LABEL], "top1", "label",
                                   "Top-1 accuracy per true label (weakest first)"),
                      width="stretch")
    right.altair_chart(confusion_heatmap(confusion_table(answers), "Confusion matrix"),
                       width="content")
    freq, step = time_step(answers["created_at"])
    trend = accuracy_over_time(answers, freq)
    trend["series"] = "version " + trend["version"]
    # Dashed rules: when a version was promoted or rolled back.
    chart = over_time(trend, "top1", "series", f"Top-1 accuracy per {step}", percent=True)
    st.altair_chart(with_switches(chart, model_switches(store, model)), width="stretch")

st.download_button("Download labeled records (CSV, crops included)",
                   export_labeled(store, where).to_csv(index=False).encode(),
                   file_name="pinpoint-labels.csv", mime="text/csv", key="accuracy_csv")
