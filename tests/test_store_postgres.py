"""What only PostgreSQL can get wrong: two first labels for one answer at the same instant.

Everything else in tests/test_store.py runs on both SQLite and PostgreSQL.
"""

import threading

from sqlalchemy import create_engine, text

from predictor.store.feedback import FeedbackStore
from tests import store_writer


def test_simultaneous_first_labels_of_one_prediction_do_not_duplicate(postgres_database):
    store = FeedbackStore(postgres_database)
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
    store.close()
    engine = create_engine(postgres_database)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT model, COUNT(*) FROM labels GROUP BY model")).all()
    engine.dispose()
    assert errors == []
    assert sorted(rows) == [("color", 1), ("theme", 1)]
