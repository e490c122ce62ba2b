"""Accuracy from labeled answers: top-1, top-5, per class, confusions. Shared by every report."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

NONE_LABEL = "none of these"  # a tester's answer when no label of the model fits


@dataclass(frozen=True)
class Answer:
    """A model's ranked labels for one point and the label a person says is right."""

    truth: str
    ranked: Sequence[str]


def summarize(answers: Iterable[Answer], k: int = 5, top_pairs: int = 10) -> dict[str, object]:
    """Return counts, top-1, top-k, the share outside the top-k, per-class figures and confusions.

    Accuracies are fractions in [0, 1], or None where there is nothing to count.
    """
    answers = list(answers)
    per_class: dict[str, Counter] = {}
    confusion: Counter = Counter()
    for answer in answers:
        counts = per_class.setdefault(answer.truth, Counter())
        counts["n"] += 1
        top1 = answer.ranked[0] if answer.ranked else None
        counts["top1"] += top1 == answer.truth
        counts["topk"] += answer.truth in answer.ranked[:k]
        if top1 is not None:
            confusion[(answer.truth, top1)] += 1
    total: Counter = Counter()
    for counts in per_class.values():
        total.update(counts)
    pairs = [(t, p, c) for (t, p), c in confusion.most_common() if t != p][:top_pairs]
    return {
        "n": total["n"],
        "top1": _share(total["top1"], total["n"]),
        f"top{k}": _share(total["topk"], total["n"]),
        f"outside_top{k}": _share(total["n"] - total["topk"], total["n"]),
        "per_class": {
            label: {
                "n": c["n"],
                "top1": _share(c["top1"], c["n"]),
                f"top{k}": _share(c["topk"], c["n"]),
            }
            for label, c in sorted(per_class.items())
        },
        "confused_pairs": [{"truth": t, "predicted": p, "count": c} for t, p, c in pairs],
        "confusion": [
            {"truth": t, "predicted": p, "count": c} for (t, p), c in sorted(confusion.items())
        ],
    }


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None
