"""Two versions of one model on the same labeled points: which is better, where, and which flip."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from ..manifest import ModelSpec, load_versions
from ..store.accuracy import Answer, summarize
from .labeled_crops import LabeledCrop, gather
from .retrain import measure
from .versions import UnknownVersion


def version_spec(model: str, version: str, manifest: str | os.PathLike | None) -> ModelSpec:
    """Return the manifest entry of `model` at `version` (any status)."""
    specs = [s for s in load_versions(manifest) if s.name == model]
    for spec in specs:
        if spec.version == version:
            return spec
    listed = ", ".join(s.version for s in specs) or "none"
    raise UnknownVersion(f"model {model!r} has no version {version!r} (versions: {listed})")


def compare_versions(model: str, version_a: str, version_b: str, *,
                     manifest: str | os.PathLike | None = None, store=None,
                     source: str | os.PathLike | None = None) -> dict[str, Any]:
    """Score A and B on the store's labeled points (or a labeled file's) and list the flips."""
    spec_a = version_spec(model, version_a, manifest)
    spec_b = version_spec(model, version_b, manifest)
    points = gather(spec_a, store=store, source=source)
    result = compare_on(spec_a, spec_b, points)
    return {"model": model, "on": str(source) if source else "store", **result}


def compare_recorded(model: str, version_a: str, version_b: str, *, store,
                     manifest: str | os.PathLike | None = None) -> dict[str, Any]:
    """Score A and B by the answers they gave at click time (served or shadow), on the
    labeled clicks both answered: the same clicks, the same truth, nothing re-run."""
    from .shadow_scores import recorded_answers

    specs = {v: version_spec(model, v, manifest) for v in (version_a, version_b)}
    answers = {v: recorded_answers(store, model, v) for v in specs}
    same = sorted(set(answers[version_a]) & set(answers[version_b]))
    truth = [answers[version_a][i][0] for i in same]
    result: dict[str, Any] = {"model": model, "on": "recorded answers", "points": len(same)}
    flips: dict[str, list[dict]] = {"right_to_wrong": [], "wrong_to_right": []}
    for side, version in (("a", version_a), ("b", version_b)):
        ranked = [answers[version][i][1] for i in same]
        summary = summarize([Answer(t, r) for t, r in zip(truth, ranked, strict=True)])
        points = [_Truth(t) for t in truth]
        result[side] = _figures(specs[version], {**summary, "ranked": ranked}, points)
    for index, pid in enumerate(same):
        top_a = next(iter(answers[version_a][pid][1]), None)
        top_b = next(iter(answers[version_b][pid][1]), None)
        if (top_a == truth[index]) != (top_b == truth[index]):
            kind = "right_to_wrong" if top_a == truth[index] else "wrong_to_right"
            flips[kind].append({"index": index, "prediction_id": pid, "truth": truth[index],
                                "image": f"prediction {pid}", "a": top_a, "b": top_b})
    return {**result, "flipped": flips}


@dataclass(frozen=True)
class _Truth:
    label: str
    accepted: tuple[str, ...] = ()


def compare_on(spec_a: ModelSpec, spec_b: ModelSpec,
               points: list[LabeledCrop]) -> dict[str, Any]:
    """Score two specs on the same crops; each flipped point names its index in `points`."""
    scored = {"a": measure(spec_a, points), "b": measure(spec_b, points)}
    flips: dict[str, list[dict]] = {"right_to_wrong": [], "wrong_to_right": []}
    for index, point in enumerate(points):
        right_a = scored["a"]["ranked"][index][0] == point.label
        right_b = scored["b"]["ranked"][index][0] == point.label
        if right_a != right_b:
            flips["right_to_wrong" if right_a else "wrong_to_right"].append({
                "index": index, "image": point.image, "truth": point.label,
                "a": scored["a"]["ranked"][index][0], "b": scored["b"]["ranked"][index][0]})
    return {"points": len(points),
            "a": _figures(spec_a, scored["a"], points), "b": _figures(spec_b, scored["b"], points),
            "flipped": flips}


def _figures(spec: ModelSpec, summary: dict, points: list) -> dict[str, object]:
    lenient = [bool(r) and r[0] in (p.label, *p.accepted)
               for p, r in zip(points, summary["ranked"], strict=True)]
    return {"version": spec.version, "status": spec.status, "n": summary["n"],
            "top1": summary["top1"], "top1_lenient": sum(lenient) / len(points) if points else None,
            "top5": summary["top5"], "per_class": summary["per_class"]}


def format_comparison(result: dict) -> str:
    """Render compare_versions' result as a plain-text report."""
    a, b = result["a"], result["b"]
    lines = [f"{result['model']}: {a['version']} vs {b['version']} on {result['points']} "
             f"labeled points ({result['on']})", "",
             f"{'':<14}{a['version']:>12}{b['version']:>12}"]
    for key, name in (("top1", "top-1 strict"), ("top1_lenient", "top-1 lenient"),
                      ("top5", "top-5")):
        lines.append(f"{name:<14}{_pct(a[key]):>12}{_pct(b[key]):>12}")
    lines += ["", "per class (top-1):"]
    for label in sorted(set(a["per_class"]) | set(b["per_class"])):
        n = (a["per_class"].get(label) or b["per_class"][label])["n"]
        lines.append(f"  {label:<16}{n:>4}{_pct(_class(a, label)):>10}{_pct(_class(b, label)):>10}")
    flips = result["flipped"]
    lines += ["", f"right -> wrong: {len(flips['right_to_wrong'])}, "
                  f"wrong -> right: {len(flips['wrong_to_right'])}"]
    for kind in ("right_to_wrong", "wrong_to_right"):
        for flip in flips[kind][:10]:
            lines.append(f"  {kind.replace('_', ' ')}: {flip['image']} ({flip['truth']}): "
                         f"{flip['a']} -> {flip['b']}")
    return "\n".join(lines)


def _class(figures: dict, label: str) -> float | None:
    return (figures["per_class"].get(label) or {}).get("top1")


def _pct(value: object) -> str:
    return "n/a" if value is None else f"{100 * float(value):.1f}%"  # type: ignore[arg-type]



def version_figures(model: str, *, manifest: str | os.PathLike | None = None,
                    store=None) -> list[dict[str, object]]:
    """Every listed version of `model` scored on the same labeled points of the store."""
    specs = [s for s in load_versions(manifest) if s.name == model]
    active = next(s for s in specs if s.status == "active")
    points = gather(active, store=store)
    rows = []
    for spec in specs:
        figures = measure(spec, points) if points else {"n": 0, "top1": None, "top5": None}
        rows.append({"version": spec.version, "status": spec.status, "format": spec.format,
                     "n": figures["n"], "top1": figures["top1"], "top5": figures["top5"]})
    return rows
