"""Accuracy of every served model on a CSV of labeled points: the check before shipping a model.

The CSV has columns `image,x,y` and one column per model name holding the right label; an
empty cell means "not labeled for this model". Image paths are relative to the CSV's folder.
A row whose image or point cannot be used is counted as an error and the run goes on.

`evaluate_versions` also scores every other version the manifest lists (candidate and
retired ones) on the same points, so versions are compared on equal terms.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

from .accuracy import NONE_LABEL, Answer, summarize
from .errors import LabeledFileError, PinpointError

REQUIRED = ("image", "x", "y")
_EXPORT_EXTRAS = ("prediction_id", "image_sha256", "tester")  # columns a labels export adds
TOP_K = 5



def evaluate_csv(predictor, csv_path: str | os.PathLike) -> dict[str, Any]:
    """Predict every labeled row with every model and summarise accuracy per model."""
    path = Path(csv_path)
    header, rows = read_labeled(path)
    names = [m.spec.name for m in predictor.models]
    scored = {name: _ModelTally() for name in names if name in header}
    errors, unlabeled = [], 0
    for line, row in rows:
        wanted = {name: row[name].split("|")[0].strip() for name in scored
                  if (row.get(name) or "").split("|")[0].strip()}
        for name in [n for n, truth in wanted.items() if truth.casefold() == NONE_LABEL]:
            scored[name].none_of_these += 1  # said explicitly; no model can be right
            del wanted[name]
        if not wanted:
            unlabeled += 1
            continue
        try:
            prediction = predictor.predict(
                _image_path(path, row["image"]), row["x"], row["y"], top_k=TOP_K
            )
        except (PinpointError, OSError) as exc:
            errors.append({"row": line, "image": row["image"], "error": str(exc)})
            continue
        for name, truth in wanted.items():
            ranked = [s.label for s in prediction.predictions[name]]
            scored[name].add(truth, ranked, line, _labels(predictor, name))
    return {
        "file": str(path),
        "rows": len(rows),
        "unlabeled_rows": unlabeled,
        "errors": errors,
        "models": {name: tally.result(_version(predictor, name)) for name, tally in scored.items()},
        "models_without_column": [n for n in names if n not in header],
        "ignored_columns": [c for c in header if c not in (*REQUIRED, *names, *_EXPORT_EXTRAS)
                            and not any(c.startswith(f"{n}_") for n in names)],
    }


class _ModelTally:
    """Answers for one model, plus labels people used that the model does not have."""

    def __init__(self) -> None:
        self.answers: list[Answer] = []
        self.unknown: dict[str, list[int]] = {}
        self.none_of_these = 0

    def add(self, truth: str, ranked: list[str], line: int, labels: tuple[str, ...]) -> None:
        canonical = _match(truth, labels)
        if canonical is None:
            self.unknown.setdefault(truth, []).append(line)
        else:
            self.answers.append(Answer(canonical, ranked))

    def result(self, version: str) -> dict[str, object]:
        summary = summarize(self.answers, k=TOP_K)
        summary.pop("confusion", None)
        unknown = [
            {"label": label, "count": len(lines), "rows": lines}
            for label, lines in sorted(self.unknown.items())
        ]
        return {"version": version, **summary, "unknown_labels": unknown,
                "none_of_these": self.none_of_these}


def evaluate_versions(
    predictor, other_specs: list, csv_path: str | os.PathLike, limits=None
) -> dict[str, Any]:
    """evaluate_csv with the served models, plus `other_versions`: {name: {version: result}}.

    Each spec in `other_specs` (a manifest entry that is not active) is loaded on its own and
    scored on the same rows; its result has the same form as the active model's, plus its
    `status`.
    """
    from .predict import Predictor

    result = evaluate_csv(predictor, csv_path)
    others: dict[str, dict[str, object]] = {}
    for spec in other_specs:
        kwargs = {} if limits is None else {"limits": limits}
        single = Predictor.from_specs([spec], **kwargs)
        try:
            scored = evaluate_csv(single, csv_path)["models"].get(spec.name)
        finally:
            single.close()
        if scored is not None:
            others.setdefault(spec.name, {})[spec.version] = {**scored, "status": spec.status}
    result["other_versions"] = others
    return result


def read_labeled(path: Path) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """Return a labeled CSV's header and (line number, row) pairs; raise LabeledFileError."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = [h.strip() for h in reader.fieldnames or []]
            reader.fieldnames = header
            rows = [(reader.line_num, row) for row in reader]
    except FileNotFoundError:
        raise LabeledFileError(f"no labeled file at {path}") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise LabeledFileError(f"cannot read {path}: {exc}") from None
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise LabeledFileError(
            f"{path} lacks column(s) {', '.join(missing)}; it has {', '.join(header) or 'none'}"
        )
    return header, rows


def _image_path(csv_path: Path, image: str | None) -> Path:
    image = (image or "").strip()
    if not image:
        raise LabeledFileError("the image cell is empty")
    candidate = Path(image)
    return candidate if candidate.is_absolute() else csv_path.parent / candidate


def _match(truth: str, labels: tuple[str, ...]) -> str | None:
    if truth in labels:
        return truth
    folded = {label.casefold(): label for label in labels}
    return folded.get(truth.casefold())


def _labels(predictor, name: str) -> tuple[str, ...]:
    return next(m.spec.labels for m in predictor.models if m.spec.name == name)


def _version(predictor, name: str) -> str:
    return next(m.spec.version for m in predictor.models if m.spec.name == name)


def _pct(value: float | None) -> str:
    return "   n/a" if value is None else f"{100 * value:5.1f}%"


def format_report(result: dict) -> str:
    """Render evaluate_csv's result as a plain-text report."""
    errors = result["errors"]
    lines = [
        f"{result['file']}: {_count(result['rows'], 'row')}, {_count(len(errors), 'error')}, "
        f"{result['unlabeled_rows']} without any label"
    ]
    for name, model in result["models"].items():
        lines += ["", *_model_lines(name, model)]
        for other in result.get("other_versions", {}).get(name, {}).values():
            lines += ["", *_model_lines(name, other)]
    if result["models_without_column"]:
        lines += ["", f"not labeled in this file: {', '.join(result['models_without_column'])}"]
    if result["ignored_columns"]:
        lines += [f"ignored columns (no such model): {', '.join(result['ignored_columns'])}"]
    if errors:
        lines += ["", "rows that could not be predicted:"]
        lines += [f"  row {e['row']}: {e['image']}: {e['error']}" for e in errors]
    return "\n".join(lines)


def _model_lines(name: str, model: dict) -> list[str]:
    status = f", {model['status']}" if "status" in model else ""
    lines = [
        f"{name} (version {model['version']}{status}): {model['n']} labeled points, "
        f"top-1 {_pct(model['top1']).strip()}, top-{TOP_K} {_pct(model[f'top{TOP_K}']).strip()}"
    ]
    if model["per_class"]:
        width = max(len(label) for label in model["per_class"])
        lines.append(f"  {'class':<{width}}  {'n':>4}  top-1  top-{TOP_K}")
        for label, c in model["per_class"].items():
            lines.append(
                f"  {label:<{width}}  {c['n']:>4} {_pct(c['top1'])} {_pct(c[f'top{TOP_K}'])}"
            )
    pairs = [
        f"{p['truth']} -> {p['predicted']} ({p['count']})" for p in model["confused_pairs"][:5]
    ]
    if pairs:
        lines.append(f"  most confused: {', '.join(pairs)}")
    for unknown in model["unknown_labels"]:
        rows = ", ".join(str(r) for r in unknown["rows"][:10])
        lines.append(
            f"  NOT SCORED: label {unknown['label']!r} is not one of this model's labels "
            f"({_count(unknown['count'], 'row')}: {rows})"
        )
    return lines


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
