"""The feedback store's tables and the ordered steps that create and upgrade them."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import Connection

metadata = MetaData()

schema_version = Table(
    "schema_version",
    metadata,
    Column("version", Integer, nullable=False),
)

# One row per click: what was asked, how it went, how long it took.
predictions = Table(
    "predictions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", DateTime, nullable=False),  # naive UTC
    Column("tester", String(200), nullable=False),
    Column("source", String(20), nullable=False),  # app, api, cli
    Column("status", String(20), nullable=False),  # ok, failed, timeout, degraded
    Column("error", Text),
    Column("image_sha256", String(64)),
    Column("image_width", Integer),
    Column("image_height", Integer),
    Column("image_format", String(20)),
    Column("image_bytes", Integer),
    Column("point_x", Float),
    Column("point_y", Float),
    Column("parallel", Integer),  # 1 = models ran in parallel, 0 = in series
    Column("total_ms", Float),
    Column("timings", JSON),
    # Added in step 4: where the image came from when known (a file name or path).
    Column("image_name", String(1000)),
    # Added in step 6: the app's own run time for the click, from its arrival to the result
    # drawn (what the tester waits for on the server); written after the result is shown.
    Column("page_ms", Float),
)

# One row per model per click: its crop, its version and its top-k.
prediction_models = Table(
    "prediction_models",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("prediction_id", ForeignKey("predictions.id", ondelete="CASCADE"), nullable=False),
    Column("model", String(100), nullable=False),
    Column("version", String(100), nullable=False),
    Column("format", String(20)),
    Column("crop_left", Integer),
    Column("crop_top", Integer),
    Column("crop_right", Integer),
    Column("crop_bottom", Integer),
    Column("top1", String(200)),
    Column("ranked", JSON, nullable=False),  # [{"label", "score"}, ...] best first
    Column("model_ms", Float),
    Column("crop_png", LargeBinary),
    UniqueConstraint("prediction_id", "model", name="uq_prediction_model"),
)

# The truth a tester gave for one model's answer; label NULL means "none of these".
labels = Table(
    "labels",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("prediction_id", ForeignKey("predictions.id", ondelete="CASCADE"), nullable=False),
    Column("model", String(100), nullable=False),
    Column("label", String(200)),
    Column("tester", String(200), nullable=False),
    Column("labeled_at", DateTime, nullable=False),
    UniqueConstraint("prediction_id", "model", name="uq_label_prediction_model"),
)

# How long each model took to load and warm up, each time a server process started.
model_loads = Table(
    "model_loads",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("loaded_at", DateTime, nullable=False),
    Column("model", String(100), nullable=False),
    Column("version", String(100), nullable=False),
    Column("format", String(20)),
    Column("load_ms", Float),
    Column("warmup_ms", Float),
)


# Every change of a model's served version (promote, roll back), for the charts' timelines.
model_switches = Table(
    "model_switches",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("switched_at", DateTime, nullable=False),
    Column("model", String(100), nullable=False),
    Column("from_version", String(100)),
    Column("to_version", String(100), nullable=False),
    Column("by", String(200), nullable=False),
    Column("source", String(20), nullable=False),  # cli, app, api
)

# A shadow version's answer to a click the active version answered: stored apart, so the
# testers' views, the dashboards and accuracy never see it. Scored against the label the
# tester gave the active answer (labels.prediction_id + model), so both meet the same truth.
shadow_predictions = Table(
    "shadow_predictions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("prediction_id", ForeignKey("predictions.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("model", String(100), nullable=False),
    Column("version", String(100), nullable=False),
    Column("format", String(20)),
    Column("top1", String(200)),
    Column("ranked", JSON, nullable=False),
    Column("model_ms", Float),
    Column("error", Text),  # the shadow failed on this click (the click itself did not)
    UniqueConstraint("prediction_id", "model", "version", name="uq_shadow_prediction"),
)


# Step 6: every label that was replaced (an edit in My labels, a relabel through the API),
# with who replaced it and when; `labels` keeps only the current one, the one counted.
label_history = Table(
    "label_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("prediction_id", ForeignKey("predictions.id", ondelete="CASCADE"), nullable=False),
    Column("model", String(100), nullable=False),
    Column("label", String(200)),  # NULL: "none of these", as in `labels`
    Column("tester", String(200), nullable=False),
    Column("labeled_at", DateTime, nullable=False),
    Column("replaced_at", DateTime, nullable=False),
    Column("replaced_by", String(200), nullable=False),
)


def _v1_tables(conn: Connection) -> None:
    metadata.create_all(conn, tables=[predictions, prediction_models, labels])


def _v2_dashboard_indexes(conn: Connection) -> None:
    # The dashboards filter on time and tester, and group model rows by version.
    # Plain DDL: Index objects would attach to the tables and leak into step 1's create_all.
    for name, table, columns in (
        ("ix_predictions_created_at", "predictions", "created_at"),
        ("ix_predictions_tester", "predictions", "tester"),
        ("ix_prediction_models_model_version", "prediction_models", "model, version"),
    ):
        conn.execute(text(f"CREATE INDEX {name} ON {table} ({columns})"))


def _v3_model_loads(conn: Connection) -> None:
    metadata.create_all(conn, tables=[model_loads])


def _v4_switches_and_image_names(conn: Connection) -> None:
    metadata.create_all(conn, tables=[model_switches])
    # Step 1 creates today's `predictions` table, which already has the column.
    if "image_name" not in {c["name"] for c in inspect(conn).get_columns("predictions")}:
        conn.execute(text("ALTER TABLE predictions ADD COLUMN image_name VARCHAR(1000)"))


def _v5_shadow_predictions(conn: Connection) -> None:
    metadata.create_all(conn, tables=[shadow_predictions])


def _v6_label_history_and_page_times(conn: Connection) -> None:
    metadata.create_all(conn, tables=[label_history])
    conn.execute(text("CREATE INDEX ix_label_history_prediction ON label_history "
                      "(prediction_id, model)"))
    if "page_ms" not in {c["name"] for c in inspect(conn).get_columns("predictions")}:
        conn.execute(text("ALTER TABLE predictions ADD COLUMN page_ms FLOAT"))


# Append new steps at the end; never edit or reorder a step that has shipped.
MIGRATIONS: list[Callable[[Connection], None]] = [
    _v1_tables, _v2_dashboard_indexes, _v3_model_loads, _v4_switches_and_image_names,
    _v5_shadow_predictions, _v6_label_history_and_page_times,
]
LATEST = len(MIGRATIONS)


def current_version(conn: Connection) -> int:
    """Return the schema version stored in the database (0 for an empty database)."""
    schema_version.create(conn, checkfirst=True)
    return conn.execute(select(schema_version.c.version)).scalar() or 0


def upgrade(conn: Connection, target: int = LATEST) -> int:
    """Run the steps after the stored version, inside the caller's transaction; return it."""
    version = current_version(conn)
    for step in MIGRATIONS[version:target]:
        step(conn)
    if target > version:
        conn.execute(schema_version.delete())
        conn.execute(schema_version.insert().values(version=target))
    return max(version, target)
