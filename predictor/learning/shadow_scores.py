"""Score shadow versions against the served one on the same labeled clicks, from the store.

Every figure here comes from answers recorded at click time (served in `prediction_models`,
shadow in `shadow_predictions`), scored against the one label the tester gave the click.
Only clicks that were answered "ok" and labeled with a model label count ("none of these"
cannot say which version was closer).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, func, select

from ..store import schema
from ..store.accuracy import Answer, summarize

if TYPE_CHECKING:
    from ..store.feedback import FeedbackStore

P, M, L, S = schema.predictions, schema.prediction_models, schema.labels, schema.shadow_predictions
Recorded = dict[int, tuple[str, list[str], str]]  # prediction id -> (truth, ranked, version)


def shadow_figures(store: FeedbackStore, model: str) -> list[dict[str, Any]]:
    """Per shadow version of `model`: clicks shadowed, and on its labeled ones its top-1/top-5
    beside the served version's on exactly the same clicks."""
    rows = []
    for version, shadowed in _shadowed_counts(store, model).items():
        shadow = recorded_answers(store, model, version, shadow=True)
        served = _served_on(store, model, set(shadow))
        same = sorted(set(shadow) & set(served))
        mine = summarize(Answer(shadow[i][0], shadow[i][1]) for i in same)
        theirs = summarize(Answer(served[i][0], served[i][1]) for i in same)
        rows.append({"version": version, "shadowed_clicks": shadowed, "labeled": len(same),
                     "shadow_top1": mine["top1"], "shadow_top5": mine["top5"],
                     "served_versions": ", ".join(sorted({served[i][2] for i in same})),
                     "served_top1": theirs["top1"], "served_top5": theirs["top5"]})
    return rows


def recorded_answers(store: FeedbackStore, model: str, version: str, *,
                     shadow: bool | None = None) -> Recorded:
    """Labeled answers `model` `version` gave at click time: served ones, shadow ones, or both
    (shadow=None)."""
    found: Recorded = {}
    if shadow is not True:
        found |= _labeled(store, M, and_(M.c.model == model, M.c.version == version))
    if shadow is not False:
        found |= _labeled(store, S, and_(S.c.model == model, S.c.version == version,
                                         S.c.error.is_(None)))
    return found


def _served_on(store: FeedbackStore, model: str, ids: set[int]) -> Recorded:
    if not ids:
        return {}
    return _labeled(store, M, and_(M.c.model == model, M.c.prediction_id.in_(sorted(ids))))


def _labeled(store: FeedbackStore, table, where) -> Recorded:  # noqa: ANN001 - a Table
    query = (select(table.c.prediction_id, table.c.ranked, table.c.version, L.c.label)
             .join(P, P.c.id == table.c.prediction_id)
             .join(L, and_(L.c.prediction_id == table.c.prediction_id,
                           L.c.model == table.c.model))
             .where(where, P.c.status == "ok", L.c.label.is_not(None)))
    with store.read() as conn:
        return {int(row.prediction_id): (row.label, [r["label"] for r in row.ranked],
                                         str(row.version))
                for row in conn.execute(query)}


def _shadowed_counts(store: FeedbackStore, model: str) -> dict[str, int]:
    query = (select(S.c.version, func.count()).where(S.c.model == model, S.c.error.is_(None))
             .group_by(S.c.version).order_by(S.c.version))
    with store.read() as conn:
        return {str(version): int(n) for version, n in conn.execute(query)}
