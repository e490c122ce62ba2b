"""The feedback store on a real PostgreSQL server: same behaviour, same guarantees as SQLite."""

import os
import threading
import uuid

import pytest
from sqlalchemy import create_engine, text

from predictor import store_schema as schema
from predictor.store import FeedbackStore, StoreBusy
from tests import store_writer
from tests.pg_server import postgres_bin, throwaway_postgres
from tests.test_store import (  # noqa: F401 - collected again here with the PostgreSQL store
    test_export_has_crops_and_none_of_these_as_empty,
    test_failed_timeout_and_degraded_never_count_in_accuracy,
    test_label_for_a_model_the_prediction_lacks_is_refused_whole,
    test_labeled_answers_filters,
    test_model_loads_are_kept_per_start_and_filtered,
    test_prediction_is_stored_with_models_crops_and_timings,
    test_relabel_updates_instead_of_duplicating,
    test_unknown_status_is_refused,
)


@pytest.fixture(scope="module")
def pg_server():
    if postgres_bin() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL is not installed (apt-get install postgresql)")
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    with throwaway_postgres() as url:
        yield url

@pytest.fixture
def db_url(pg_server):
    """A new, empty database on the throwaway server."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(pg_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return pg_server.rsplit("/", 1)[0] + f"/{name}"

@pytest.fixture
def store(db_url):
    opened = FeedbackStore(db_url)
    yield opened
    opened.close()

def _counts(url):
    engine = create_engine(url)
    with engine.connect() as conn:
        per_key = dict(conn.execute(text(
            "SELECT image_sha256, COUNT(*) FROM predictions GROUP BY image_sha256")).all())
        models = set(conn.execute(text(
            "SELECT COUNT(*) FROM prediction_models GROUP BY prediction_id")).scalars())
        labels = set(conn.execute(text(
            "SELECT COUNT(*) FROM labels GROUP BY prediction_id")).scalars())
    engine.dispose()
    return per_key, models, labels

def test_schema_is_created_at_latest_version(store):
    assert store.schema_version_stored() == schema.LATEST

def test_d1_concurrent_writers_store_every_acknowledged_row_once(db_url):
    FeedbackStore(db_url).close()
    buffers = [__import__("io").StringIO() for _ in range(8)]

    def run(i):
        store = FeedbackStore(db_url)
        store_writer.write(store, f"pg{i}", 10, out=buffers[i])
        store.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    acked = {line.split()[1] for b in buffers for line in b.getvalue().splitlines()
             if line.startswith("P ")}
    per_key, models, labels = _counts(db_url)
    assert len(acked) == 80 and set(per_key) == acked and set(per_key.values()) == {1}
    assert models == {2} and labels == {2}

def test_simultaneous_first_labels_of_one_prediction_do_not_duplicate(store, db_url):
    prediction_id = store.record_prediction(store_writer.fake_prediction("race"), tester="t")
    errors, barrier = [], threading.Barrier(8)

    def label(i):
        try:
            barrier.wait()
            store.record_labels(prediction_id, {"color": f"c{i}", "theme": None}, tester=f"t{i}")
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=label, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert _counts(db_url)[2] == {2}

def test_d4_lock_held_past_timeout_raises_store_busy(db_url):
    store = FeedbackStore(db_url, busy_timeout_ms=200)
    holder = create_engine(db_url).connect()
    holder.execute(text("LOCK TABLE predictions IN ACCESS EXCLUSIVE MODE"))
    with pytest.raises(StoreBusy, match="try again"):
        store.record_prediction(store_writer.fake_prediction("locked"), tester="t")
    holder.rollback()
    holder.close()
    store.record_prediction(store_writer.fake_prediction("locked"), tester="t")
    assert _counts(db_url)[0] == {"locked": 1}
