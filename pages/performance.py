"""Pinpoint · Performance: how long models take to load and to answer, stage by stage."""

import random

import streamlit as st

from predictor.learning import record_click
from predictor.store import (
    latency_percentiles,
    model_loads,
    model_switches,
    prediction_timings,
    stage_columns,
)
from ui.common import (
    load_client,
    load_models,
    load_page_times,
    load_predictor,
    load_store,
    page_setup,
)
from ui.dashboard import (
    filters_ui,
    grouped_bars,
    over_time,
    readable_stage,
    time_step,
    wait_over_time,
    with_switches,
)
from ui.widgets import SAMPLES

tester = page_setup("Performance")
load_models()  # here: loads the models (their load times are recorded); remote: asks the service
store = load_store()
st.title("⏱️ Performance")
st.write("Where the time goes. The photo is decoded once per upload, so a click's `decode` "
         "stage is near zero; *prediction (server)* is the core's whole answer; *page run "
         "(tester waits)* is the app's own run for the click, from its arrival to the result "
         "drawn. Runs of the button below (source “benchmark”) are kept out of the testers' "
         "charts.")
where = filters_ui("performance", store)

# Start-up: every server start records each model's load and warm-up time.
loads = model_loads(store, where)
if not loads.empty:
    loads["model · version"] = loads["model"] + " · " + loads["version"]
    cost = loads.melt(id_vars=["model · version"], value_vars=["load_ms", "warmup_ms"],
                      var_name="step", value_name="ms")
    cost = cost.groupby(["model · version", "step"], as_index=False)["ms"].median()
    st.altair_chart(grouped_bars(cost, "model · version", "ms", "step",
                                 "Model load and warm-up (median over server starts)"),
                    width="stretch")

# Answers: latency percentiles per stage, over time and series against parallel.
everything = prediction_timings(store, where)
timings = everything[everything["source"] != "benchmark"]  # testers' clicks only
if timings.empty or not (timings["status"] == "ok").any():
    st.info("No predictions yet. Click a photo on the Predict page, or measure below.")
else:
    order = [readable_stage(stage) for stage in stage_columns(timings)]
    # What the tester waits for, beside the model stages: median and p90 per time step.
    freq, step = time_step(timings["created_at"])
    waits = latency_percentiles(timings, freq=freq)
    waits = waits[waits["stage"].isin(["page", "total"]) | waits["stage"].str.startswith(
        "model:")].assign(stage=lambda f: f["stage"].map(readable_stage))
    st.altair_chart(wait_over_time(waits, f"What a tester waits for, per {step}: median and "
                                   "p90"), width="stretch")
    if "page" not in stage_columns(timings):
        st.caption("No page run times yet: they are stored with each click on Predict or "
                   "Label session from now on.")
    overall = latency_percentiles(timings).assign(stage=lambda f: f["stage"].map(readable_stage))
    st.altair_chart(grouped_bars(overall.melt(id_vars=["stage"], value_vars=["p50", "p90", "p99"],
                                              var_name="percentile", value_name="ms"),
                                 "stage", "ms", "percentile", "Latency per stage", order),
                    width="stretch")
    stage = st.selectbox("Stage over time", order, index=len(order) - 1, key="performance_stage")
    hourly = latency_percentiles(timings, freq=freq).assign(
        stage=lambda f: f["stage"].map(readable_stage))
    per_hour = over_time(hourly[hourly["stage"] == stage].melt(
        id_vars=["period"], value_vars=["p50", "p90", "p99"], var_name="percentile",
        value_name="ms"), "ms", "percentile", f"{stage} latency per {step} (ms)", percent=False)
    st.altair_chart(with_switches(per_hour, model_switches(store, where.model)), width="stretch")
    modes = latency_percentiles(everything, by=["mode"]).assign(  # the measured runs count here
        stage=lambda f: f["stage"].map(readable_stage))
    st.altair_chart(grouped_bars(modes, "stage", "p50", "mode",
                                 "Median per stage: models in series vs in parallel", order),
                    width="stretch")

if (writer := load_page_times()) is not None and writer.dropped:
    st.caption(f"{writer.dropped} page run time(s) were not stored since this server started "
               "(the database was busy): the charts miss them, the clicks did not wait.")

# Measure: run both ways on a sample photo so the comparison has data. Only where the models
# run: through a service ($PINPOINT_SERVICE_URL) this app loads none.
if load_client() is not None:
    st.caption("Series against parallel is measured where the models run: "
               "`python -m predictor bench` on the service's machine.")
    st.stop()
runs = st.number_input("Clicks per mode", 5, 100, 20, key="performance_runs")
if st.button("Measure series vs parallel on a sample photo", key="performance_measure"):
    predictor = load_predictor()
    decoded = predictor.decode(sorted(SAMPLES.glob("*.jpg"))[0])
    rng = random.Random(0)
    with st.spinner("Measuring…"):
        for i in range(2 * runs):
            point = (rng.uniform(0, decoded.width), rng.uniform(0, decoded.height))
            record_click(predictor, store, decoded, point, tester=tester,
                         source="benchmark", parallel=bool(i % 2))
    st.rerun()
