import importlib.util
import io
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import create_engine, inspect, text

from predictor import PinpointError
from predictor.errors import NotYourLabel
from predictor.store import queries, schema
from predictor.store.feedback import (
    FeedbackStore,
    StoreBusy,
    StoreError,
    database_url,
    make_engine,
)

ROOT = Path(__file__).resolve().parent.parent
WRITER = ROOT / "tests" / "store_writer.py"
_spec = importlib.util.spec_from_file_location("store_writer", WRITER)
assert _spec is not None and _spec.loader is not None
store_writer = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(store_writer)
fake_prediction = store_writer.fake_prediction


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'feedback' / 'pinpoint.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, sqlite_url):
    """Every store test runs on SQLite and on a throwaway PostgreSQL server."""
    if request.param == "sqlite":
        return sqlite_url
    return request.getfixturevalue("postgres_database")


@pytest.fixture
def store(db_url):
    opened = FeedbackStore(db_url)
    yield opened
    opened.close()


def _writer(db_url, tag, count):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, str(WRITER), db_url, tag, str(count)],
                            stdout=subprocess.PIPE, text=True, env=env)


def _acks(lines):
    acked = {"P": set(), "L": set()}
    for line in lines:
        kind, key, _ = line.split()
        acked[kind].add(key)
    return acked


def _count_by_key(url):
    engine = create_engine(url)
    with engine.connect() as conn:
        counts = dict(conn.execute(text(
            "SELECT image_sha256, COUNT(*) FROM predictions GROUP BY image_sha256")).all())
        models = dict(conn.execute(text(
            "SELECT p.image_sha256, COUNT(m.id) FROM predictions p "
            "LEFT JOIN prediction_models m ON m.prediction_id = p.id "
            "GROUP BY p.id, p.image_sha256")).all())
        labels = dict(conn.execute(text(
            "SELECT p.image_sha256, COUNT(l.id) FROM predictions p "
            "JOIN labels l ON l.prediction_id = p.id GROUP BY p.id, p.image_sha256")).all())
        integrity = _integrity(conn)
    engine.dispose()
    return counts, models, labels, integrity


def _integrity(conn):
    """SQLite checks its own file; on PostgreSQL, look for rows whose parent is missing."""
    if conn.dialect.name == "sqlite":
        return conn.execute(text("PRAGMA integrity_check")).scalar()
    orphans = conn.execute(text(
        "SELECT (SELECT COUNT(*) FROM prediction_models m LEFT JOIN predictions p "
        "ON p.id = m.prediction_id WHERE p.id IS NULL) + (SELECT COUNT(*) FROM labels l "
        "LEFT JOIN predictions p ON p.id = l.prediction_id WHERE p.id IS NULL)")).scalar()
    return "ok" if orphans == 0 else f"{orphans} orphan rows"


# -- the database file and its settings (D3) -------------------------------------------


def test_store_creates_folder_and_database_on_first_use(tmp_path):
    path = tmp_path / "new" / "deeper" / "pinpoint.db"
    FeedbackStore(f"sqlite:///{path}").close()
    assert path.is_file()


def test_database_url_comes_from_environment(tmp_path, monkeypatch):
    path = tmp_path / "from-env.db"
    monkeypatch.setenv("PINPOINT_DB_URL", f"sqlite:///{path}")
    store = FeedbackStore()
    store.record_failure(tester="t", error="x")
    store.close()
    assert path.is_file()


def test_without_a_url_the_store_is_data_pinpoint_db_in_the_repository(monkeypatch):
    monkeypatch.delenv("PINPOINT_DB_URL", raising=False)
    assert database_url() == f"sqlite:///{ROOT / 'data' / 'pinpoint.db'}"


def test_engine_sets_wal_busy_timeout_full_sync_and_foreign_keys(sqlite_url):
    engine = make_engine(sqlite_url, busy_timeout_ms=1234)
    with engine.connect() as conn:
        read = {name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "busy_timeout", "synchronous", "foreign_keys")}
    assert read == {"journal_mode": "wal", "busy_timeout": 1234, "synchronous": 2,
                    "foreign_keys": 1}


def test_write_transaction_takes_the_write_lock_at_begin(sqlite_url):
    engine = make_engine(sqlite_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("SELECT 1")  # no write yet: only BEGIN IMMEDIATE can hold the lock
        other = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), timeout=0)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
        other.close()


def test_read_transaction_does_not_block_writers(sqlite_url):
    store = FeedbackStore(sqlite_url)
    with store.read() as conn:
        conn.execute(text("SELECT COUNT(*) FROM predictions")).scalar()
        other = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), timeout=0)
        other.execute("BEGIN IMMEDIATE")
        other.rollback()
        other.close()


def test_flush_folds_the_write_ahead_log_into_the_database_file(sqlite_url):
    store = FeedbackStore(sqlite_url)
    prediction_id = store.record_prediction(fake_prediction("img-f"), tester="ann")
    wal = Path(sqlite_url.removeprefix("sqlite:///") + "-wal")
    assert wal.stat().st_size > 0
    assert store.flush() is True
    assert wal.stat().st_size == 0
    store.close()
    with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as conn:  # the file alone has it
        assert conn.execute("SELECT id FROM predictions").fetchall() == [(prediction_id,)]


def test_flush_while_a_reader_holds_the_log_says_so_and_loses_nothing(sqlite_url):
    store = FeedbackStore(sqlite_url)
    store.record_prediction(fake_prediction("img-g"), tester="ann")
    reader = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"))
    reader.execute("BEGIN")
    reader.execute("SELECT COUNT(*) FROM predictions").fetchone()
    store.record_prediction(fake_prediction("img-h"), tester="ann")  # past the reader's snapshot
    assert store.flush() is False
    reader.rollback()
    reader.close()
    with store.read() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM predictions")).scalar() == 2
    store.close()


# -- schema creation and upgrades ------------------------------------------------------


def test_new_database_is_at_latest_schema(store):
    assert store.schema_version == store.schema_version_stored() == schema.LATEST == 6


def test_old_database_is_upgraded_and_keeps_its_rows(db_url):
    engine = make_engine(db_url)
    with engine.begin() as conn:
        schema.upgrade(conn, target=1)
        conn.execute(schema.predictions.insert().values(
            created_at=datetime(2026, 1, 1), tester="old", source="app", status="failed"))
    before = {index["name"] for index in inspect(engine).get_indexes("predictions")}
    assert "ix_predictions_tester" not in before
    engine.dispose()
    store = FeedbackStore(db_url)
    indexes = {i["name"] for i in inspect(store.engine).get_indexes("predictions")}
    with store.read() as conn:
        testers = conn.execute(text("SELECT tester FROM predictions")).scalars().all()
    assert store.schema_version_stored() == 6
    assert "ix_predictions_tester" in indexes
    assert testers == ["old"]


def test_a_version_3_database_gains_image_names_and_switches(db_url):
    engine = make_engine(db_url)
    with engine.begin() as conn:
        schema.upgrade(conn, target=3)
        conn.execute(text("ALTER TABLE predictions DROP COLUMN image_name"))
    engine.dispose()
    store = FeedbackStore(db_url)
    columns = {c["name"] for c in inspect(store.engine).get_columns("predictions")}
    store.record_switch("color", "1.0.0", "1.1.0", by="ann", source="cli")
    with store.read() as conn:
        switched = conn.execute(text("SELECT from_version, to_version FROM model_switches")).all()
    assert "image_name" in columns
    assert [tuple(row) for row in switched] == [("1.0.0", "1.1.0")]


def test_a_version_4_database_gains_shadow_answers_and_keeps_its_rows(db_url):
    from predictor.learning.shadow_scores import shadow_figures

    engine = make_engine(db_url)
    with engine.begin() as conn:
        schema.upgrade(conn, target=4)
        conn.execute(schema.predictions.insert().values(
            created_at=datetime(2026, 1, 1), tester="old", source="app", status="failed"))
    assert "shadow_predictions" not in inspect(engine).get_table_names()
    engine.dispose()
    store = FeedbackStore(db_url)
    kept = store.record_prediction(fake_prediction("shadowed"), tester="ann")
    store.record_shadow(kept, [{"model": "color", "version": "v2", "format": "keras",
                                "ranked": [{"label": "blue", "score": 0.7}], "model_ms": 1.5}])
    store.record_labels(kept, {"color": "blue"}, tester="ann")
    [row] = shadow_figures(store, "color")
    with store.read() as conn:
        testers = conn.execute(text("SELECT tester FROM predictions ORDER BY id")).scalars().all()
    store.close()
    assert store.schema_version == schema.LATEST and testers == ["old", "ann"]
    assert (row["version"], row["labeled"], row["shadow_top1"], row["served_top1"]) == (
        "v2", 1, 1.0, 0.0)


def test_a_version_5_database_gains_label_history_and_page_times(db_url):
    engine = make_engine(db_url)
    with engine.begin() as conn:
        schema.upgrade(conn, target=5)
        conn.execute(text("ALTER TABLE predictions DROP COLUMN page_ms"))
        conn.execute(schema.predictions.insert().values(
            created_at=datetime(2026, 1, 1), tester="old", source="app", status="ok"))
    assert "label_history" not in inspect(engine).get_table_names()
    engine.dispose()
    store = FeedbackStore(db_url)
    assert store.record_page_ms(1, 321.5)
    with store.read() as conn:
        assert conn.execute(text("SELECT tester, page_ms FROM predictions")).one() == (
            "old", 321.5)
    assert "label_history" in inspect(store.engine).get_table_names()
    store.close()


def test_reopening_runs_no_step_twice(db_url):
    FeedbackStore(db_url).close()
    store = FeedbackStore(db_url)  # would fail creating existing indexes if steps re-ran
    with store.read() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM schema_version")).scalar() == 1


# -- what is stored ----------------------------------------------------------------------


def test_prediction_is_stored_with_models_crops_and_timings(store):
    prediction_id = store.record_prediction(
        fake_prediction("img-1"), tester="ann", crops_png={"color": b"\x89PNG-color"},
        parallel=True)
    with store.read() as conn:
        head = conn.execute(schema.predictions.select()).mappings().one()
        rows = conn.execute(schema.prediction_models.select().order_by(
            schema.prediction_models.c.model)).mappings().all()
    assert (head["id"], head["tester"], head["status"]) == (prediction_id, "ann", "ok")
    assert head["parallel"] == 1
    assert (head["image_sha256"], head["image_width"], head["point_x"]) == ("img-1", 64, 17.0)
    assert head["timings"]["model:theme"] == 2.5 and head["total_ms"] == 6.0
    assert [r["model"] for r in rows] == ["color", "theme"]
    assert rows[0]["ranked"] == [{"label": "red", "score": 0.6}, {"label": "blue", "score": 0.3}]
    assert (rows[0]["crop_png"], rows[1]["crop_png"]) == (b"\x89PNG-color", None)
    assert (rows[1]["top1"], rows[1]["version"], rows[1]["crop_right"]) == ("Music", "v1", 33)


def test_relabel_updates_instead_of_duplicating(store):
    prediction_id = store.record_prediction(fake_prediction("img"), tester="ann")
    store.record_labels(prediction_id, {"color": "blue", "theme": "Music"}, tester="ann")
    store.record_labels(prediction_id, {"color": None}, tester="bob")
    frame = queries.labeled_answers(store).set_index("model")
    assert len(frame) == 2
    assert pd.isna(frame.loc["color", "truth"]) and frame.loc["color", "tester"] == "bob"
    assert frame.loc["theme", "truth"] == "Music" and frame.loc["theme", "tester"] == "ann"


def test_a_replaced_label_is_kept_in_the_history_and_only_the_new_one_counts(store):
    prediction_id = store.record_prediction(fake_prediction("img"), tester="ann")
    store.record_labels(prediction_id, {"color": "blue"}, tester="ann",
                        at=datetime(2026, 1, 1, 10))
    store.record_labels(prediction_id, {"color": "blue"}, tester="ann")  # same: no history
    store.edit_label(prediction_id, "color", None, tester="ann", at=datetime(2026, 1, 2, 9))
    store.edit_label(prediction_id, "color", "red", tester="ann", at=datetime(2026, 1, 3, 9))
    history = queries.label_history(store, prediction_id, "color")
    assert history["label"].tolist()[:2] == ["blue", None]
    assert history["label"].tolist()[2] == "red"
    assert history["replaced_at"].tolist()[:2] == [pd.Timestamp(2026, 1, 2, 9),
                                                    pd.Timestamp(2026, 1, 3, 9)]
    assert pd.isna(history["replaced_at"].iloc[2])  # the current label
    counted = queries.labeled_answers(store)
    assert counted["truth"].tolist() == ["red"]
    mine = queries.tester_labels(store, "ann")
    assert (mine["truth"].tolist(), mine["edits"].tolist()) == (["red"], [2])


def test_a_tester_edits_only_their_own_labels(store):
    prediction_id = store.record_prediction(fake_prediction("img"), tester="ann")
    store.record_labels(prediction_id, {"color": "blue"}, tester="ann")
    with pytest.raises(NotYourLabel):
        store.edit_label(prediction_id, "color", "red", tester="bob")
    with pytest.raises(NotYourLabel):  # no label of theme to edit
        store.edit_label(prediction_id, "theme", "Music", tester="ann")
    assert queries.labeled_answers(store)["truth"].tolist() == ["blue"]
    assert queries.tester_labels(store, "bob").empty
    assert queries.label_history(store, prediction_id, "color")["label"].tolist() == ["blue"]


def test_tester_labels_lists_newest_first_with_answers_and_crops(store):
    first = store.record_prediction(fake_prediction("a"), tester="ann",
                                    crops_png={"color": b"png-a"}, image_name="a.jpg")
    second = store.record_prediction(fake_prediction("b"), tester="ann")
    store.record_labels(first, {"color": "red"}, tester="ann", at=datetime(2026, 1, 1))
    store.record_labels(second, {"theme": None}, tester="ann", at=datetime(2026, 1, 2))
    store.record_labels(second, {"color": "blue"}, tester="bob", at=datetime(2026, 1, 3))
    mine = queries.tester_labels(store, "ann")
    assert mine[["prediction_id", "model"]].values.tolist() == [[second, "theme"],
                                                                [first, "color"]]
    assert pd.isna(mine["truth"].iloc[0]) and mine["truth"].iloc[1] == "red"
    assert mine["crop_png"].iloc[1] == b"png-a" and mine["image_name"].iloc[1] == "a.jpg"
    assert mine["ranked"].iloc[1][0] == {"label": "red", "score": 0.6}


def test_page_time_of_a_missing_prediction_is_not_written(store):
    assert not store.record_page_ms(12345, 10.0)
    prediction_id = store.record_prediction(fake_prediction("img"), tester="ann")
    assert store.record_page_ms(prediction_id, 87.0)
    assert queries.prediction_timings(store)["page"].tolist() == [87.0]


def test_label_for_a_model_the_prediction_lacks_is_refused_whole(store):
    prediction_id = store.record_prediction(fake_prediction("img"), tester="ann")
    with pytest.raises(StoreError, match="no answer from model 'shape'"):
        store.record_labels(prediction_id, {"color": "red", "shape": "round"}, tester="ann")
    assert queries.labeled_answers(store).empty  # the valid half was rolled back too


def test_failed_timeout_and_degraded_never_count_in_accuracy(store):
    good = store.record_prediction(fake_prediction("good"), tester="t")
    degraded = store.record_prediction(fake_prediction("slow"), tester="t", status="degraded")
    for prediction_id in (good, degraded):
        store.record_labels(prediction_id, {"color": "red"}, tester="t")
    store.record_failure(tester="t", error="model timed out", status="timeout")
    store.record_failure(tester="t", error="corrupt image")
    labeled = queries.labeled_answers(store)
    timings = queries.prediction_timings(store)
    assert labeled["prediction_id"].tolist() == [good]
    assert timings["status"].tolist() == ["ok", "degraded", "timeout", "failed"]


def test_unknown_status_is_refused(store):
    with pytest.raises(StoreError, match="status must be one of"):
        store.record_prediction(fake_prediction("x"), tester="t", status="maybe")


@pytest.mark.parametrize("where, expected", [
    (queries.StoreFilter(), ["a-jan", "a-feb", "b-feb-v2"]),
    (queries.StoreFilter(start=date(2026, 2, 1)), ["a-feb", "b-feb-v2"]),
    (queries.StoreFilter(end=date(2026, 1, 31)), ["a-jan"]),
    (queries.StoreFilter(start=date(2026, 2, 10), end=date(2026, 2, 10)), ["a-feb"]),
    (queries.StoreFilter(tester="b"), ["b-feb-v2"]),
    (queries.StoreFilter(version="v2"), ["b-feb-v2"]),
    (queries.StoreFilter(model="theme"), ["a-jan", "a-feb", "b-feb-v2"]),
])
def test_labeled_answers_filters(store, where, expected):
    for key, tester, when in (("a-jan", "a", datetime(2026, 1, 5)),
                              ("a-feb", "a", datetime(2026, 2, 10, 23, 59)),
                              ("b-feb-v2", "b", datetime(2026, 2, 11))):
        prediction = fake_prediction(key)
        if key.endswith("v2"):
            prediction["models"]["color"]["version"] = "v2"
        prediction_id = store.record_prediction(prediction, tester=tester, at=when)
        store.record_labels(prediction_id, {"color": "red", "theme": "Music"}, tester=tester)
    frame = queries.labeled_answers(store, where)
    keys = list(dict.fromkeys(frame["image_sha256"]))
    assert keys == expected
    if where.model:
        assert set(frame["model"]) == {where.model}


def test_export_has_crops_and_none_of_these_as_empty(store):
    prediction_id = store.record_prediction(fake_prediction("img"), tester="t",
                                            crops_png={"color": b"abc"})
    store.record_labels(prediction_id, {"color": None}, tester="t")
    row = queries.export_labeled(store).iloc[0]
    assert (row["truth"], row["crop_png_base64"]) == ("", "YWJj")
    assert row["top5"] == "red=0.6000; blue=0.3000"


# -- many writers (D1), killed writers (D2), a lock held too long (D4) --------------------


def test_d1_threads_and_processes_store_every_acknowledged_row_once(db_url):
    per_writer, n_threads, n_processes = 15, 8, 4
    processes = [_writer(db_url, f"proc{i}", per_writer) for i in range(n_processes)]
    buffers = [io.StringIO() for _ in range(n_threads)]

    def run(i):
        store = FeedbackStore(db_url, busy_timeout_ms=30000)
        store_writer.write(store, f"thread{i}", per_writer, out=buffers[i])
        store.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n_threads)]
    for thread in threads:
        thread.start()
    outputs = [p.communicate(timeout=300)[0].splitlines() for p in processes]
    for thread in threads:
        thread.join(timeout=300)
    acked = _acks([line for lines in outputs + [b.getvalue().splitlines() for b in buffers]
                    for line in lines])
    counts, models, labels, integrity = _count_by_key(db_url)
    total = per_writer * (n_threads + n_processes)
    print(f"D1: {len(acked['P'])} predictions and {len(acked['L'])} label sets acknowledged, "
          f"{len(counts)} stored")
    assert [p.returncode for p in processes] == [0] * n_processes
    assert len(acked["P"]) == len(acked["L"]) == total
    assert set(counts) == acked["P"] and set(counts.values()) == {1}
    assert set(models.values()) == {2} and set(labels.values()) == {2}
    assert integrity == "ok"


def test_d2_killed_writer_loses_no_acknowledged_row_and_leaves_no_half(db_url):
    FeedbackStore(db_url).close()
    rng = random.Random(4)
    lines, kills = [], 12
    for round_ in range(kills):
        writer = _writer(db_url, f"r{round_}", 0)
        first = writer.stdout.readline()  # started and writing
        assert first.startswith("P "), first
        time.sleep(rng.uniform(0.0, 0.3))
        writer.send_signal(signal.SIGKILL)
        rest = writer.stdout.read()
        writer.wait()
        assert writer.returncode == -signal.SIGKILL
        lines += [first] + rest.splitlines()
    acked = _acks(line for line in lines if line.strip())
    counts, models, labels, integrity = _count_by_key(db_url)
    print(f"D2: {kills} kills, {len(acked['P'])} predictions acknowledged, "
          f"{len(counts)} stored, {len(acked['L'])} label sets acknowledged")
    assert len(acked["P"]) >= kills and acked["P"] <= set(counts)
    assert set(counts.values()) == {1}
    assert len(set(counts) - acked["P"]) <= kills  # at most one committed-but-unprinted per kill
    assert set(models.values()) == {2}  # never a prediction without both model rows
    assert acked["L"] <= {key for key, n in labels.items() if n == 2}
    assert set(labels.values()) <= {2}  # both labels land together or not at all
    assert integrity == "ok"


HOLD_LOCK = {
    "sqlite": """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1].removeprefix("sqlite:///"), isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.read()
conn.rollback()
""",
    "postgresql": """
import sys
from sqlalchemy import create_engine, text
conn = create_engine(sys.argv[1]).connect()
conn.execute(text("LOCK TABLE predictions IN EXCLUSIVE MODE"))
print("locked", flush=True)
sys.stdin.read()
conn.rollback()
""",
}


def test_d4_lock_held_past_timeout_raises_retryable_store_busy(db_url):
    store = FeedbackStore(db_url, busy_timeout_ms=200)
    backend = "sqlite" if db_url.startswith("sqlite") else "postgresql"
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK[backend], db_url],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    with pytest.raises(StoreBusy) as busy:
        store.record_prediction(fake_prediction("while-locked"), tester="t")
    assert isinstance(busy.value, PinpointError) and "try again" in str(busy.value)
    assert queries.prediction_timings(store).empty  # reads still work; nothing half-written
    holder.communicate("", timeout=30)
    store.record_prediction(fake_prediction("while-locked"), tester="t")  # the retry
    counts, models, _, integrity = _count_by_key(db_url)
    assert counts == {"while-locked": 1} and models == {"while-locked": 2} and integrity == "ok"


def test_model_loads_are_kept_per_start_and_filtered(store):
    described = {"color": {"version": "v1", "format": "keras", "load_ms": 120.0, "warmup_ms": 8.0},
                 "theme": {"version": "v2", "format": "tflite", "load_ms": 30.0, "warmup_ms": 2.0}}
    store.record_model_loads(described, at=datetime(2026, 3, 1))
    store.record_model_loads(described, at=datetime(2026, 3, 2))
    loads = queries.model_loads(store)
    assert loads["model"].tolist() == ["color", "theme", "color", "theme"]
    v2 = queries.model_loads(store, queries.StoreFilter(version="v2"))
    assert v2["load_ms"].tolist() == [30.0, 30.0]
