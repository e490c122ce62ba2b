"""Accuracy of every served model on a CSV of labeled points: the check before shipping a model.

The CSV has columns `image,x,y` and one column per model name holding the right label; an
empty cell means "not labeled for this model". An optional `<name>_also` column lists other
labels that are honestly right too, separated by `|`: lenient top-1 accepts them, strict
top-1 and top-5 count the label only. Image paths are relative to the CSV's folder. A row
whose image or point cannot be used is counted as an error and the run goes on.

Beside every color model (one whose labels name most of the heuristic's colors) the report
shows the nearest-named-color heuristic on the same crops: the baseline a model must beat.

`evaluate_versions` also scores every other version the manifest lists (candidate and
retired ones) on the same points, so versions are compared on equal terms.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

from ..crop import crop_pixels
from ..errors import LabeledFileError, PinpointError
from ..store.accuracy import NONE_LABEL, Answer, summarize
from .heuristic import PROTOTYPES, rank_colors

REQUIRED = ("image", "x", "y")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what makes a spreadsheet run a cell
TOP_K = 5
ALSO = "_also"
_EXPORT_EXTRAS = ("prediction_id", "image_sha256", "tester")  # columns a labels export adds
HEURISTIC = "nearest named color"



def evaluate_csv(predictor, csv_path: str | os.PathLike) -> dict[str, Any]:
    """Predict every labeled row with every model and summarise accuracy per model.

    Color models also get the nearest-named-color heuristic scored on the same crops.
    """
    path = Path(csv_path)
    header, rows = _read(path)
    specs = {m.spec.name: m.spec for m in predictor.models}
    scored = {name: _ModelTally() for name in specs if name in header}
    baselines = {name: _ModelTally() for name in scored if _is_color_model(specs[name])}
    errors, unlabeled, decoded = [], 0, None
    for line, row in rows:
        wanted = {name: row[name].strip() for name in scored if (row.get(name) or "").strip()}
        for name in [n for n, truth in wanted.items() if truth.casefold() == NONE_LABEL]:
            scored[name].none_of_these += 1  # said explicitly; no model can be right
            del wanted[name]
        if not wanted:
            unlabeled += 1
            continue
        try:
            image = image_path(path, row["image"])
            if decoded is None or decoded[0] != image:  # rows of one photo decode it once
                decoded = (image, predictor.decode(image))
            prediction = predictor.predict(decoded[1], row["x"], row["y"], top_k=TOP_K)
        except (PinpointError, OSError) as exc:
            errors.append({"row": line, "image": row["image"], "error": str(exc)})
            continue
        for name, truth in wanted.items():
            also = _alternatives(row.get(name + ALSO))
            ranked = [s.label for s in prediction.predictions[name]]
            scored[name].add(truth, ranked, line, specs[name].labels, also)
            if name in baselines:
                ranked = _heuristic(decoded[1], prediction.crops[name], specs[name])
                baselines[name].add(truth, ranked, line, specs[name].labels, also)
    return {
        "file": str(path),
        "rows": len(rows),
        "unlabeled_rows": unlabeled,
        "errors": errors,
        "models": {name: tally.result(specs[name].version) for name, tally in scored.items()},
        "heuristic": {name: tally.result(HEURISTIC) for name, tally in baselines.items()},
        "models_without_column": [n for n in specs if n not in header],
        "ignored_columns": [
            c for c in header if c not in (*REQUIRED, *specs, *(n + ALSO for n in specs),
                                           *_EXPORT_EXTRAS)
            and not any(c.startswith(f"{n}_") for n in specs)
        ],
    }


def _is_color_model(spec) -> bool:
    return sum(label in PROTOTYPES for label in spec.labels) * 2 > len(PROTOTYPES)


def _heuristic(decoded, box, spec) -> list[str]:
    pixels = crop_pixels(decoded.image, box, decoded.scale, spec.input_size)
    return [name for name, _ in rank_colors(pixels, spec.labels)[:TOP_K]]


def _alternatives(cell: str | None) -> list[str]:
    return [a.strip() for a in (cell or "").split("|") if a.strip()]


class _ModelTally:
    """Answers for one model, plus labels people used that the model does not have."""

    def __init__(self) -> None:
        self.answers: list[Answer] = []
        self.lenient: list[bool] = []
        self.unknown: dict[str, list[int]] = {}
        self.none_of_these = 0

    def add(
        self, truth: str, ranked: list[str], line: int, labels: tuple[str, ...], also=()
    ) -> None:
        canonical = _match(truth, labels)
        if canonical is None:
            self.unknown.setdefault(truth, []).append(line)
            return
        self.answers.append(Answer(canonical, ranked))
        accepted = {canonical, *(_match(a, labels) for a in also)}
        self.lenient.append(bool(ranked) and ranked[0] in accepted)

    def result(self, version: str) -> dict[str, object]:
        summary = summarize(self.answers, k=TOP_K)
        summary.pop("confusion", None)
        summary["top1_lenient"] = _mean(self.lenient)
        per_class: dict[str, dict[str, object]] = summary["per_class"]  # type: ignore[assignment]
        for label, counts in per_class.items():
            pairs = zip(self.answers, self.lenient, strict=True)
            counts["top1_lenient"] = _mean([ok for a, ok in pairs if a.truth == label])
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

    Each spec in `other_specs` (a manifest entry that is not active) takes the place of its
    model's served version beside the other served models (so images decode at the same
    scale) and is scored on the same rows; its result has the same form as the active
    model's, plus its `status` and, for a color model, the heuristic on its own crops.
    """
    from ..predict import Predictor

    result = evaluate_csv(predictor, csv_path)
    others: dict[str, dict[str, object]] = {}
    for spec in other_specs:
        kwargs = {} if limits is None else {"limits": limits}
        beside = [s for s in predictor.specs if s.name != spec.name]
        single = Predictor.from_specs([spec, *beside], **kwargs)
        try:
            alone = evaluate_csv(single, csv_path)
        finally:
            single.close()
        models: dict = alone["models"]
        baselines: dict = alone["heuristic"]
        scored = models.get(spec.name)
        if scored is not None:
            entry = {**scored, "status": spec.status}
            if spec.name in baselines:
                entry["heuristic"] = baselines[spec.name]
            others.setdefault(spec.name, {})[spec.version] = entry
    result["other_versions"] = others
    return result


def read_labeled(path: Path) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """Return a labeled CSV's header and (line number, row) pairs; raise LabeledFileError."""
    return _read(path)


def _read(path: Path) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = [h.strip() for h in reader.fieldnames or []]
            twice = sorted({h for h in header if header.count(h) > 1})
            if twice:  # which of the two would count?
                raise LabeledFileError(f"{path}: column(s) {', '.join(twice)} appear twice")
            reader.fieldnames = header
            rows = [(reader.line_num, _unquoted(row)) for row in reader]
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


def _unquoted(row: dict) -> dict:
    """Undo an export's formula quoting: `'=x` reads back as `=x` (see spreadsheet_safe)."""
    return {key: value[1:] if isinstance(value, str) and value[:1] == "'"
            and value[1:2] in FORMULA_STARTS else value for key, value in row.items()}


def image_path(csv_path: Path, image: str | None) -> Path:
    """Return a labeled row's image path; relative paths are relative to the file's folder."""
    image = (image or "").strip()
    if not image:
        raise LabeledFileError("the image cell is empty")
    # One rule for batch and evaluate: a relative path is relative to the input file's folder.
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


def _mean(hits: list[bool]) -> float | None:
    return sum(hits) / len(hits) if hits else None


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
        lines += ["", *_model_lines(name, model, result.get("heuristic", {}).get(name))]
        for other in result.get("other_versions", {}).get(name, {}).values():
            lines += ["", *_model_lines(name, other, other.get("heuristic"))]
    if result["models_without_column"]:
        lines += ["", f"not labeled in this file: {', '.join(result['models_without_column'])}"]
    if result["ignored_columns"]:
        lines += [f"ignored columns (no such model): {', '.join(result['ignored_columns'])}"]
    if errors:
        lines += ["", "rows that could not be predicted:"]
        lines += [f"  row {e['row']}: {e['image']}: {e['error']}" for e in errors]
    return "\n".join(lines)


def _model_lines(name: str, model: dict, baseline: dict | None = None) -> list[str]:
    status = f", {model['status']}" if "status" in model else ""
    lines = [
        f"{name} (version {model['version']}{status}): {model['n']} labeled points",
        f"  {'':<24} top-1  lenient  top-{TOP_K}",
        f"  {'model':<24}{_scores(model)}",
    ]
    if baseline is not None:
        lines.append(f"  {'nearest-color heuristic':<24}{_scores(baseline)}")
    if model["per_class"]:
        width = max(len(label) for label in model["per_class"])
        head = f"  {'class':<{width}}  {'n':>4}  top-1  lenient  top-{TOP_K}"
        lines.append(head + ("  | heuristic:  top-1  lenient  top-5" if baseline else ""))
        for label, c in model["per_class"].items():
            line = f"  {label:<{width}}  {c['n']:>4}{_scores(c)}"
            if baseline is not None:
                line += f"  | {'':>10}{_scores(baseline['per_class'][label])}"
            lines.append(line)
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


def _scores(figures: dict) -> str:
    return (
        f" {_pct(figures['top1'])}   {_pct(figures['top1_lenient'])}"
        f" {_pct(figures[f'top{TOP_K}'])}"
    )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
