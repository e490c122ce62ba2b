"""The feedback store: every prediction and every tester's label, in SQLite or PostgreSQL.

Writes are short transactions that either land whole or not at all. SQLite is set up
for several writers (WAL, busy timeout, BEGIN IMMEDIATE); only `make_engine` knows it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, func, insert, select, text, update
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError

from ..errors import NotYourLabel, StoreBusy, StoreError
from ..results import Prediction
from . import schema

DEFAULT_DB = Path(__file__).resolve().parents[2] / "data" / "pinpoint.db"
STATUSES = ("ok", "degraded", "failed", "timeout")
# FULL fsyncs the WAL on every commit, so an acknowledged label survives a power cut too;
# NORMAL could lose the last commits. One row per click makes the extra fsync cheap.
SYNCHRONOUS = "FULL"
# Error codes PostgreSQL uses for "try again": lock timeout, serialization, deadlock.
_PG_RETRYABLE = {"55P03", "40001", "40P01"}
_UPGRADE_LOCK = 0x50494E50  # "PINP": the advisory lock key taken while upgrading the schema




def database_url(url: str | None = None) -> str:
    """Return the URL to use: the argument, else $PINPOINT_DB_URL, else data/pinpoint.db."""
    from ..config import load_config

    return url or load_config().db_url or f"sqlite:///{DEFAULT_DB}"


def make_engine(url: str | None = None, *, busy_timeout_ms: int = 5000) -> Engine:
    """Create an engine; for SQLite, create the folder and set WAL, busy timeout, IMMEDIATE."""
    parsed = make_url(database_url(url))
    if parsed.get_backend_name() == "postgresql":
        # A writer waits for a lock at most as long as SQLite's busy timeout: past it,
        # PostgreSQL raises 55P03, which becomes StoreBusy.
        options = {"options": f"-c lock_timeout={int(busy_timeout_ms)}"}
        return create_engine(parsed, pool_pre_ping=True, connect_args=options)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(parsed, connect_args={"timeout": busy_timeout_ms / 1000})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        # Hand transaction control to SQLAlchemy's "begin" event below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute(f"PRAGMA synchronous = {SYNCHRONOUS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Writers take the lock up front, so they queue on busy_timeout instead of failing
        # at once when a read lock cannot be upgraded; readers never block in WAL.
        readonly = conn.get_execution_options().get("pinpoint_readonly", False)
        conn.exec_driver_sql("BEGIN DEFERRED" if readonly else "BEGIN IMMEDIATE")

    return engine


class FeedbackStore:
    """Record predictions and labels; safe to share between threads."""

    def __init__(self, url: str | None = None, *, busy_timeout_ms: int = 5000,
                 engine: Engine | None = None):
        self.engine = engine or make_engine(url, busy_timeout_ms=busy_timeout_ms)
        with self._write() as conn:
            _serialize_upgrades(conn)
            self.schema_version = schema.upgrade(conn)

    def close(self) -> None:
        """Release every pooled connection."""
        self.engine.dispose()

    def flush(self) -> bool:
        """Fold SQLite's write-ahead log into the database file, as a clean stop should.

        Every acknowledged write is already durable (synchronous=FULL); this only leaves one
        file to copy. Returns False if a reader held the log (nothing is lost then either).
        """
        if self.engine.dialect.name != "sqlite":
            return True
        import sqlite3

        raw = self.engine.raw_connection()
        try:  # autocommit at the driver level: a checkpoint cannot run inside a transaction
            busy = raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        except sqlite3.Error:
            return False
        finally:
            raw.close()
        return busy == 0

    def record_prediction(
        self,
        prediction: Prediction | Mapping[str, Any],
        *,
        tester: str,
        source: str = "app",
        status: str = "ok",
        crops_png: Mapping[str, bytes] | None = None,
        parallel: bool | None = None,
        at: datetime | None = None,
        image_name: str | None = None,
        labels: Mapping[str, str | None] | None = None,
    ) -> int:
        """Store a Prediction (or its to_dict()) with each model's top-k and crop; return its id.

        `image_name` says where the image came from when known (a file name or path).
        `labels` (model -> label, None = none of these) are stored in the same transaction,
        as the tester's: a crash leaves the click with its labels, or nothing.
        """
        data: dict[str, Any] = dict(
            prediction.to_dict() if isinstance(prediction, Prediction) else prediction)
        timings = data.get("timings_ms", {})
        row = {
            **_head(tester, source, status, None, data.get("image"), data.get("point"), at),
            "parallel": None if parallel is None else int(parallel),
            "total_ms": timings.get("total"),
            "timings": timings,
            "image_name": image_name[:1000] if image_name else None,
        }
        with self._write() as conn:
            inserted = conn.execute(insert(schema.predictions).values(row))
            prediction_id = int(inserted.inserted_primary_key[0])  # type: ignore[index]
            for name, ranked in data.get("predictions", {}).items():
                conn.execute(insert(schema.prediction_models).values(
                    _model_row(prediction_id, name, ranked, data, crops_png or {})))
            for model, label in (labels or {}).items():
                if model not in data.get("predictions", {}):
                    raise StoreError(f"the prediction has no answer from model {model!r}")
                _upsert_label(conn, prediction_id, model, label, tester, at or _utcnow())
        return prediction_id

    def record_failure(
        self,
        *,
        tester: str,
        error: str,
        status: str = "failed",
        source: str = "app",
        image: Mapping[str, object] | None = None,
        point: Mapping[str, float] | None = None,
        at: datetime | None = None,
    ) -> int:
        """Store a prediction that failed or timed out, so it is counted but never scored."""
        if status not in ("failed", "timeout"):
            raise StoreError(f"a failure's status must be 'failed' or 'timeout', not {status!r}")
        row = _head(tester, source, status, error[:2000], image, point, at)
        with self._write() as conn:
            inserted = conn.execute(insert(schema.predictions).values(row))
            return int(inserted.inserted_primary_key[0])  # type: ignore[index]

    def record_labels(
        self, prediction_id: int, chosen: Mapping[str, str | None], *, tester: str,
        at: datetime | None = None,
    ) -> None:
        """Set the true label per model (None = none of these); a relabel replaces the old one."""
        when = at or _utcnow()
        models = schema.prediction_models
        with self._write() as conn:
            known = set(conn.execute(
                select(models.c.model).where(models.c.prediction_id == prediction_id)).scalars())
            for model, label in chosen.items():
                if model not in known:
                    raise StoreError(
                        f"prediction {prediction_id} has no answer from model {model!r}")
                _upsert_label(conn, prediction_id, model, label, tester, when)

    def edit_label(self, prediction_id: int, model: str, label: str | None, *, tester: str,
                   at: datetime | None = None) -> None:
        """Replace `tester`'s own label of one model's answer; the old one goes to the history.

        Raises NotYourLabel when there is no label, or another tester saved it.
        """
        table = schema.labels
        with self._write() as conn:
            owner = conn.execute(select(table.c.tester).where(
                table.c.prediction_id == prediction_id, table.c.model == model)
                .with_for_update()).scalar()
            if owner is None or owner != (tester or "anonymous"):
                raise NotYourLabel(f"you have no label of model {model!r} on prediction "
                                   f"{prediction_id} to edit")
            _upsert_label(conn, prediction_id, model, label, tester, at or _utcnow())

    def record_page_ms(self, prediction_id: int, page_ms: float) -> bool:
        """Store how long the app took for this click (one UPDATE); False if no such row."""
        table = schema.predictions
        with self._write() as conn:
            done = conn.execute(update(table).where(table.c.id == prediction_id)
                                .values(page_ms=float(page_ms)))
            return bool(done.rowcount)

    def models_of(self, prediction_id: int) -> set[str]:
        """Return the names of the models that answered this prediction (empty if none)."""
        table = schema.prediction_models
        with self.read() as conn:
            query = select(table.c.model).where(table.c.prediction_id == prediction_id)
            return set(conn.execute(query).scalars())

    def record_shadow(self, prediction_id: int, answers: list[Mapping[str, Any]],
                      at: datetime | None = None) -> None:
        """Store shadow versions' answers to a stored click: model, version, format, ranked
        [{"label", "score"}], model_ms, or an error instead of an answer."""
        when = at or _utcnow()
        rows = [{"prediction_id": prediction_id, "created_at": when, "model": a["model"],
                 "version": str(a["version"]), "format": a.get("format"),
                 "top1": a["ranked"][0]["label"] if a.get("ranked") else None,
                 "ranked": list(a.get("ranked") or []), "model_ms": a.get("model_ms"),
                 "error": (str(a["error"])[:2000] if a.get("error") else None)}
                for a in answers]
        if rows:
            with self._write() as conn:
                conn.execute(insert(schema.shadow_predictions), rows)

    def record_model_loads(self, described: Mapping[str, Mapping[str, object]],
                           at: datetime | None = None) -> None:
        """Store each model's load and warm-up times (Predictor.describe()) for this start."""
        when = at or _utcnow()
        rows = [{"loaded_at": when, "model": name, "version": str(facts.get("version")),
                 "format": facts.get("format"), "load_ms": facts.get("load_ms"),
                 "warmup_ms": facts.get("warmup_ms")} for name, facts in described.items()]
        with self._write() as conn:
            conn.execute(insert(schema.model_loads), rows)

    def record_switch(self, model: str, from_version: str | None, to_version: str, *,
                      by: str, source: str, at: datetime | None = None) -> None:
        """Store that `model` now serves `to_version` instead of `from_version`."""
        row = {"switched_at": at or _utcnow(), "model": model, "from_version": from_version,
               "to_version": to_version, "by": by or "anonymous", "source": source}
        with self._write() as conn:
            conn.execute(insert(schema.model_switches).values(row))

    def count_labels(self) -> int:
        """Return how many labels are stored (a cheap key for caches of labeled figures)."""
        with self.read() as conn:
            return int(conn.execute(select(func.count()).select_from(schema.labels)).scalar() or 0)

    def schema_version_stored(self) -> int:
        """Read the schema version back from the database."""
        with self.read() as conn:
            return schema.current_version(conn)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """Yield a connection in a read transaction that never waits for writers."""
        readonly = {"pinpoint_readonly": True}
        with _mapped_errors(), self.engine.connect().execution_options(**readonly) as conn:
            yield conn

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with _mapped_errors(), self.engine.begin() as conn:
            yield conn


def _serialize_upgrades(conn: Connection) -> None:
    # Many processes may open a new database at once. SQLite's BEGIN IMMEDIATE already lets
    # one at a time in; PostgreSQL needs a transaction-scoped advisory lock for that.
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _UPGRADE_LOCK})


@contextmanager
def _mapped_errors() -> Iterator[None]:
    try:
        yield
    except OperationalError as exc:
        if _is_busy(exc):
            raise StoreBusy("the feedback database is busy; please try again in a moment") from None
        raise StoreError(f"the feedback database failed: {_first_line(exc.orig)}") from None
    except SQLAlchemyError as exc:
        raise StoreError(f"the feedback database failed: {_first_line(exc)}") from None


def _is_busy(exc: OperationalError) -> bool:
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    text = str(exc.orig).lower()
    return code in _PG_RETRYABLE or "database is locked" in text or "database is busy" in text


def _head(tester, source, status, error, image, point, at) -> dict[str, object]:
    if status not in STATUSES:
        raise StoreError(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
    image, point = image or {}, point or {}
    return {
        "created_at": at or _utcnow(), "tester": tester or "anonymous", "source": source,
        "status": status, "error": error,
        "image_sha256": image.get("sha256"), "image_width": image.get("width"),
        "image_height": image.get("height"), "image_format": image.get("format"),
        "image_bytes": image.get("bytes"), "point_x": point.get("x"), "point_y": point.get("y"),
    }


def _model_row(prediction_id: int, name: str, ranked: list, data: dict, crops: Mapping) -> dict:
    box = data.get("crops", {}).get(name, {})
    about = data.get("models", {}).get(name, {})
    ranked = [{"label": r["label"], "score": float(r["score"])} for r in ranked]
    return {
        "prediction_id": prediction_id, "model": name,
        "version": str(about.get("version", "unversioned")), "format": about.get("format"),
        "crop_left": box.get("left"), "crop_top": box.get("top"),
        "crop_right": box.get("right"), "crop_bottom": box.get("bottom"),
        "top1": ranked[0]["label"] if ranked else None, "ranked": ranked,
        "model_ms": data.get("timings_ms", {}).get(f"model:{name}"), "crop_png": crops.get(name),
    }


def _upsert_label(conn: Connection, prediction_id: int, model: str, label: str | None,
                  tester: str, when: datetime) -> None:
    # UPDATE, else INSERT: portable SQL. SQLite's write lock rules out a race; elsewhere a
    # concurrent first label trips the unique key, and the UPDATE is then done again.
    table = schema.labels
    values = {"label": label, "tester": tester or "anonymous", "labeled_at": when}
    _keep_replaced(conn, prediction_id, model, values)
    same = update(table).where(table.c.prediction_id == prediction_id, table.c.model == model)
    if conn.execute(same.values(values)).rowcount:
        return
    try:
        with conn.begin_nested():
            conn.execute(insert(table).values(prediction_id=prediction_id, model=model, **values))
    except IntegrityError:
        conn.execute(same.values(values))


def _keep_replaced(conn: Connection, prediction_id: int, model: str,
                   new: dict[str, Any]) -> None:
    # The label about to be replaced goes to the history (unless nothing changes): accuracy
    # counts only the current label, the history says what it was before and who changed it.
    table = schema.labels
    old = conn.execute(select(table.c.label, table.c.tester, table.c.labeled_at).where(
        table.c.prediction_id == prediction_id, table.c.model == model)
        .with_for_update()).mappings().first()
    if old is None or (old["label"], old["tester"]) == (new["label"], new["tester"]):
        return
    conn.execute(insert(schema.label_history).values(
        prediction_id=prediction_id, model=model, **old, replaced_at=new["labeled_at"],
        replaced_by=new["tester"]))


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _first_line(exc: object) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0][:200]
