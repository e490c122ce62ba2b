"""Agreement between testers: where two or more labeled the same point, do they agree?

The same point: the same image (SHA-256 of its bytes) and clicks at most `radius` original
pixels apart (default 2: a re-click of "the same spot" rarely lands on the same pixel). Points
are grouped per image in click order: a click joins the first group whose first click is
within the radius. A tester who labeled one point several times counts once, with their
latest label. "None of these" is an answer like any label; skipped models have no label.
"""

from __future__ import annotations

import math
from collections import Counter
from itertools import combinations

import pandas as pd

from .accuracy import NONE_LABEL

RADIUS = 2.0  # original pixels


def same_points(labeled: pd.DataFrame, radius: float = RADIUS) -> pd.Series:
    """Return a point id per row of `labeled` (image_sha256, point_x, point_y): rows of the
    same image within `radius` pixels of a group's first click share it."""
    ids = pd.Series(-1, index=labeled.index, dtype=int)
    anchors: dict[str, list[tuple[int, float, float]]] = {}
    for row in labeled.sort_values(["created_at", "prediction_id"]).itertuples():
        groups = anchors.setdefault(row.image_sha256, [])
        found = next((gid for gid, x, y in groups
                      if math.hypot(row.point_x - x, row.point_y - y) <= radius), None)
        if found is None:
            found = sum(len(g) for g in anchors.values())
            groups.append((found, row.point_x, row.point_y))
        ids[row.Index] = found
    return ids


def _answers_per_point(labeled: pd.DataFrame, radius: float) -> pd.DataFrame:
    """One row per (model, point, tester): that tester's latest answer there."""
    frame = labeled.assign(point=same_points(labeled, radius),
                           answer=labeled["truth"].map(lambda t: t if isinstance(t, str)
                                                       else NONE_LABEL))
    frame = frame.sort_values("labeled_at").groupby(["model", "point", "tester"]).tail(1)
    return frame[["model", "point", "tester", "answer"]]


def agreement_table(labeled: pd.DataFrame, radius: float = RADIUS) -> pd.DataFrame:
    """Per model, over the points labeled by two or more testers: how many points, the share
    where every tester gave the same answer, the share of agreeing tester pairs, and Fleiss'
    kappa (agreement beyond what the answers' overall frequencies give by chance; None when
    undefined, e.g. every answer is the same label)."""
    columns = ["model", "points", "all_agree", "pairs", "pairwise", "kappa"]
    if labeled.empty:
        return pd.DataFrame(columns=columns)
    rows = []
    for model, answers in _answers_per_point(labeled, radius).groupby("model", sort=True):
        shared = [group["answer"].tolist() for _, group in answers.groupby("point")
                  if len(group) >= 2]
        if shared:
            rows.append({"model": model, "points": len(shared),
                         "all_agree": sum(len(set(a)) == 1 for a in shared) / len(shared),
                         "pairs": sum(len(a) * (len(a) - 1) // 2 for a in shared),
                         "pairwise": _pairwise(shared), "kappa": _fleiss(shared)})
    return pd.DataFrame(rows, columns=columns)


def pair_agreement(labeled: pd.DataFrame, radius: float = RADIUS) -> pd.DataFrame:
    """Per model and pair of testers, over the points both labeled: how many, the share
    where they agree, and Cohen's kappa (None when undefined)."""
    columns = ["model", "tester_a", "tester_b", "points", "agree", "kappa"]
    if labeled.empty:
        return pd.DataFrame(columns=columns)
    rows = []
    for model, answers in _answers_per_point(labeled, radius).groupby("model", sort=True):
        wide = answers.pivot(index="point", columns="tester", values="answer")
        for a, b in combinations(sorted(wide.columns), 2):
            both = wide[[a, b]].dropna()
            if len(both):
                rows.append({"model": model, "tester_a": a, "tester_b": b, "points": len(both),
                             "agree": float((both[a] == both[b]).mean()),
                             "kappa": _cohen(both[a].tolist(), both[b].tolist())})
    return pd.DataFrame(rows, columns=columns)


def _pairwise(shared: list[list[str]]) -> float:
    agree = sum(x == y for answers in shared for x, y in combinations(answers, 2))
    return agree / sum(len(a) * (len(a) - 1) // 2 for a in shared)


def _fleiss(shared: list[list[str]]) -> float | None:
    # Fleiss' kappa, with each point weighted equally whatever its number of testers.
    observed = sum(sum(c * (c - 1) for c in Counter(a).values()) / (len(a) * (len(a) - 1))
                   for a in shared) / len(shared)
    totals = Counter(answer for answers in shared for answer in answers)
    n = sum(totals.values())
    chance = sum((c / n) ** 2 for c in totals.values())
    return None if chance >= 1 else (observed - chance) / (1 - chance)


def _cohen(a: list[str], b: list[str]) -> float | None:
    observed = sum(x == y for x, y in zip(a, b, strict=True)) / len(a)
    left, right = Counter(a), Counter(b)
    chance = sum(left[k] * right[k] for k in left) / len(a) ** 2
    return None if chance >= 1 else (observed - chance) / (1 - chance)
