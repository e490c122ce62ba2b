"""Read the feedback store into pandas DataFrames for the dashboards and the CSV export."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import pandas as pd
from sqlalchemy import Select, and_, exists, func, select

from . import schema
from .feedback import FeedbackStore

P, M, L = schema.predictions, schema.prediction_models, schema.labels
H = schema.label_history
SCORED = ("ok",)  # failed, timeout and degraded predictions never count in accuracy


@dataclass(frozen=True)
class StoreFilter:
    """Which records a dashboard shows; None means no restriction. Dates are inclusive."""

    start: date | datetime | None = None
    end: date | datetime | None = None
    tester: str | None = None
    model: str | None = None
    version: str | None = None


def labeled_answers(store: FeedbackStore, where: StoreFilter = StoreFilter()) -> pd.DataFrame:
    """Return one row per labeled model answer of a scored prediction, oldest first.

    `truth` is None where the tester chose "none of these"; `ranked` lists labels best first.
    """
    query = (
        select(P.c.id.label("prediction_id"), P.c.created_at, L.c.labeled_at,
               L.c.tester, P.c.tester.label("predicted_for"), M.c.model, M.c.version,
               L.c.label.label("truth"), M.c.top1, M.c.ranked, P.c.image_sha256,
               P.c.point_x, P.c.point_y, M.c.crop_left, M.c.crop_top, M.c.crop_right,
               M.c.crop_bottom)
        .join(M, M.c.prediction_id == P.c.id)
        .join(L, and_(L.c.prediction_id == P.c.id, L.c.model == M.c.model))
        .where(P.c.status.in_(SCORED))
        .order_by(P.c.created_at, P.c.id, M.c.model)
    )
    frame = _read(store, _filtered(query, where, labels_tester=True))
    frame["ranked"] = frame["ranked"].map(lambda r: [x["label"] for x in r or []])
    return frame


def prediction_timings(store: FeedbackStore, where: StoreFilter = StoreFilter()) -> pd.DataFrame:
    """Return one row per prediction: time, status, series/parallel and one column per stage."""
    query = select(P.c.id.label("prediction_id"), P.c.created_at, P.c.tester, P.c.source,
                   P.c.status, P.c.parallel, P.c.timings, P.c.page_ms.label("page"),
                   ).order_by(P.c.created_at, P.c.id)
    frame = _read(store, _filtered(query, where))
    stages = pd.json_normalize(frame.pop("timings").map(lambda t: t or {}).tolist())
    page = frame.pop("page").astype(float)  # the app's run time, after the server's stages
    return pd.concat([frame, stages.set_axis(frame.index)], axis=1).assign(page=page)


def tester_labels(store: FeedbackStore, tester: str) -> pd.DataFrame:
    """Return the labels `tester` saved (newest first), one row per model answer: the
    prediction, the point, the model's ranked answers and crop, the label, and how many
    times it was replaced before (`edits`). `truth` is None for "none of these"."""
    edits = (select(func.count()).select_from(H)
             .where(H.c.prediction_id == L.c.prediction_id, H.c.model == L.c.model)
             .scalar_subquery())
    query = (
        select(P.c.id.label("prediction_id"), P.c.created_at, P.c.status, P.c.image_name,
               P.c.image_sha256, P.c.point_x, P.c.point_y, M.c.model, M.c.version, M.c.ranked,
               M.c.crop_png, L.c.label.label("truth"), L.c.labeled_at, edits.label("edits"))
        .join(M, M.c.prediction_id == P.c.id)
        .join(L, and_(L.c.prediction_id == P.c.id, L.c.model == M.c.model))
        .where(L.c.tester == (tester or "anonymous"))
        .order_by(L.c.labeled_at.desc(), P.c.id.desc(), M.c.model)
    )
    return _read(store, query)


def label_history(store: FeedbackStore, prediction_id: int, model: str) -> pd.DataFrame:
    """Return every label one model's answer has had, oldest first, the current one last
    (its `replaced_at` empty): label, tester, labeled_at, replaced_at, replaced_by."""
    old = select(H.c.label, H.c.tester, H.c.labeled_at, H.c.replaced_at, H.c.replaced_by) \
        .where(H.c.prediction_id == prediction_id, H.c.model == model).order_by(H.c.id)
    frame = _read(store, old)
    now = _read(store, select(L.c.label, L.c.tester, L.c.labeled_at).where(
        L.c.prediction_id == prediction_id, L.c.model == model))
    both = pd.concat([frame, now], ignore_index=True) if not now.empty else frame
    both["label"] = both["label"].astype(object).where(both["label"].notna(), None)
    return both


def export_labeled(store: FeedbackStore, where: StoreFilter = StoreFilter()) -> pd.DataFrame:
    """Return labeled answers with scores and the crop as base64 PNG, ready for CSV."""
    query = (
        select(P.c.id.label("prediction_id"), P.c.created_at, L.c.labeled_at, L.c.tester,
               M.c.model, M.c.version, L.c.label.label("truth"), M.c.ranked,
               P.c.image_sha256, P.c.image_width, P.c.image_height, P.c.point_x, P.c.point_y,
               M.c.crop_left, M.c.crop_top, M.c.crop_right, M.c.crop_bottom, M.c.crop_png)
        .join(M, M.c.prediction_id == P.c.id)
        .join(L, and_(L.c.prediction_id == P.c.id, L.c.model == M.c.model))
        .where(P.c.status.in_(SCORED))
        .order_by(P.c.created_at, P.c.id, M.c.model)
    )
    frame = _read(store, _filtered(query, where, labels_tester=True))
    frame["truth"] = frame["truth"].fillna("")
    frame["top5"] = frame.pop("ranked").map(
        lambda r: "; ".join(f"{x['label']}={x['score']:.4f}" for x in r or []))
    frame["crop_png_base64"] = frame.pop("crop_png").map(
        lambda b: base64.b64encode(b).decode() if b else "")
    return frame


def model_loads(store: FeedbackStore, where: StoreFilter = StoreFilter()) -> pd.DataFrame:
    """Return every recorded model load: time, model, version, format, load and warm-up ms."""
    loads = schema.model_loads
    query = select(loads.c.loaded_at, loads.c.model, loads.c.version, loads.c.format,
                   loads.c.load_ms, loads.c.warmup_ms).order_by(loads.c.loaded_at, loads.c.id)
    query = query.where(*[loads.c[name] == getattr(where, name)
                          for name in ("model", "version") if getattr(where, name)])
    return _read(store, query)


def model_switches(store: FeedbackStore, model: str | None = None) -> pd.DataFrame:
    """Return every recorded switch of a served version (promote, roll back), oldest first."""
    table = schema.model_switches
    query = select(table.c.switched_at, table.c.model, table.c.from_version,
                   table.c.to_version, table.c.by, table.c.source).order_by(table.c.switched_at,
                                                                            table.c.id)
    if model:
        query = query.where(table.c.model == model)
    frame = _read(store, query)
    frame["switched_at"] = pd.to_datetime(frame["switched_at"])
    return frame


def filter_choices(store: FeedbackStore) -> dict[str, list[str]]:
    """Return the testers, models and versions present, for filter widgets."""
    with store.read() as conn:
        testers = sorted({*conn.execute(select(P.c.tester).distinct()).scalars(),
                          *conn.execute(select(L.c.tester).distinct()).scalars()})
        models = list(conn.execute(select(M.c.model).distinct().order_by(M.c.model)).scalars())
        versions = list(
            conn.execute(select(M.c.version).distinct().order_by(M.c.version)).scalars())
    return {"tester": testers, "model": models, "version": versions}


def _filtered(query: Select, where: StoreFilter, labels_tester: bool = False) -> Select:
    if where.start is not None:
        query = query.where(P.c.created_at >= _day_start(where.start))
    if where.end is not None:
        if isinstance(where.end, datetime):
            query = query.where(P.c.created_at <= where.end)
        else:
            query = query.where(P.c.created_at < _day_start(where.end + timedelta(days=1)))
    if where.tester:
        query = query.where((L.c.tester if labels_tester else P.c.tester) == where.tester)
    if where.model or where.version:
        conditions = [M.c.prediction_id == P.c.id]
        conditions += [M.c.model == where.model] if where.model else []
        conditions += [M.c.version == where.version] if where.version else []
        if labels_tester:  # M is already joined: restrict its rows directly
            query = query.where(*conditions[1:])
        else:
            query = query.where(exists().where(*conditions))
    return query


def _day_start(value: date | datetime) -> datetime:
    return value if isinstance(value, datetime) else datetime.combine(value, time.min)


def _read(store: FeedbackStore, query: Select) -> pd.DataFrame:
    with store.read() as conn:
        frame = pd.DataFrame(conn.execute(query).mappings().all(),
                             columns=[c.name for c in query.selected_columns])
    for column in ("created_at", "labeled_at", "loaded_at", "replaced_at"):
        if column in frame:
            frame[column] = pd.to_datetime(frame[column])
    return frame
