"""Labeled points in and out of the store: import a CSV through the click pipeline, export all.

A labeled file has the `evaluate` columns `image,x,y` and one column per model holding the
true label: empty means "not labeled for this model", "none of these" means a tester said no
label fits. An export adds, per model, the version that answered, its top 5 and the crop;
`evaluate`, `labels import` and `retrain` read a CSV, JSONL or zip export back.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import shutil
import stat
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import and_, select

from ..crop import check_point
from ..errors import LabeledFileError, PinpointError, UnknownLabel
from ..paths import image_root
from ..predict import Predictor
from ..store import schema
from ..store.accuracy import NONE_LABEL
from ..store.feedback import FeedbackStore
from .evaluate import FORMULA_STARTS, image_path, read_labeled
from .recording import predict_click, store_click
from .unpack import safe_unzip

FORMATS = ("csv", "jsonl", "zip")
MAX_ORIGINAL_MB = 64  # an original photo larger than this is left out of a zip export
MAX_UNZIPPED_MB = 2048  # a zip export unpacks to at most this (crops and original photos)
P, M, L = schema.predictions, schema.prediction_models, schema.labels


def parse_truth(cell: str | None, labels: tuple[str, ...]) -> tuple[bool, str | None]:
    """Return (labeled?, label): empty = not labeled; "none of these" = labeled, None.

    A cell may list acceptable alternatives after the label ("navy|blue"); the first counts.
    Raises UnknownLabel for a label the model does not have (matched ignoring case).
    """
    text = (cell or "").split("|")[0].strip()
    if not text:
        return False, None
    if text.casefold() == NONE_LABEL:
        return True, None
    folded = {label.casefold(): label for label in labels}
    if text.casefold() not in folded:
        raise UnknownLabel(f"{text!r} is not one of this model's labels")
    return True, folded[text.casefold()]


def alternatives(cell: str | None, labels: tuple[str, ...]) -> tuple[str, ...]:
    """Return the acceptable alternatives listed after the label ("navy|blue" -> ("blue",))."""
    folded = {label.casefold(): label for label in labels}
    rest = [part.strip().casefold() for part in (cell or "").split("|")[1:]]
    return tuple(folded[part] for part in rest if part in folded)


def import_labels(predictor: Predictor, store: FeedbackStore, path: str | os.PathLike, *,
                  tester: str) -> dict[str, Any]:
    """Store every usable row as a click plus its labels; report and skip the others whole."""
    with labeled_csv(path) as csv_path:
        header, rows = read_labeled(csv_path)
        models = [spec for spec in predictor.specs if spec.name in header]
        imported, skipped = [], []
        for line, row in rows:
            try:
                imported.append(_import_row(predictor, store, csv_path, row, models, tester))
            except (PinpointError, OSError) as exc:
                skipped.append({"row": line, "image": row.get("image"), "error": str(exc)})
    return {"file": str(path), "rows": len(rows), "imported": len(imported),
            "prediction_ids": imported, "skipped": skipped,
            "models": [spec.name for spec in models]}


def _import_row(predictor: Predictor, store: FeedbackStore, csv_path: Path, row: dict,
                models: list, tester: str) -> int:
    # Everything is checked before the click is stored, so a bad row leaves nothing behind.
    chosen = {}
    for spec in models:
        try:
            labeled, label = parse_truth(row.get(spec.name), spec.labels)
        except UnknownLabel as exc:
            raise UnknownLabel(f"{spec.name}: {exc}") from None
        if labeled:
            chosen[spec.name] = label
    if not chosen:
        raise LabeledFileError("no label for any model")
    image = within_reach(image_path(csv_path, row.get("image")), csv_path.parent)
    decoded = predictor.decode(image)
    point = check_point(row.get("x"), row.get("y"), decoded.size)
    click = predict_click(predictor, decoded, point, include_decode=True)
    # One transaction for the click and its labels: killed at any point, a row is stored
    # whole or not at all. (The labels were checked against the models above.)
    recorded = store_click(store, click, tester=tester, source="import",
                           image_name=str(image), labels=chosen)
    assert recorded.prediction_id is not None
    return recorded.prediction_id


def within_reach(image: Path, folder: Path) -> Path:
    """Return the image's real path if it lies in `folder`'s tree or the image root, links
    followed: a labeled file may not make the server store crops of any other file."""
    try:
        real = image.resolve(strict=True)
    except (OSError, RuntimeError):
        raise LabeledFileError(f"no image at {image}") from None
    roots = [folder.resolve(), *([root.resolve()] if (root := image_root()) else [])]
    if not any(real.is_relative_to(r) for r in roots):
        where = "its folder or the image root" if len(roots) > 1 else "its folder"
        raise LabeledFileError(f"{image} is outside the labeled file's reach ({where}; "
                               "links are followed)")
    return real


@contextmanager
def labeled_csv(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a CSV path for a labeled CSV, a JSONL export or a zip export (unpacked)."""
    path = Path(path)
    if path.suffix.lower() == ".csv":
        yield path
        return
    if not path.is_file():
        raise LabeledFileError(f"no labeled file at {path}")
    folder = Path(tempfile.mkdtemp(prefix="pinpoint-labels-"))
    try:
        if path.suffix.lower() == ".zip":
            yield _unzip(path, folder)
        elif path.suffix.lower() == ".jsonl":
            yield _jsonl_to_csv(path, folder)
        else:
            raise LabeledFileError(f"{path.name}: labeled files are .csv, .jsonl or .zip")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _unzip(path: Path, folder: Path) -> Path:
    safe_unzip(path, folder, MAX_UNZIPPED_MB * 2**20, LabeledFileError)
    if not (folder / "labels.csv").is_file():
        raise LabeledFileError(f"{path.name} holds no labels.csv")
    return folder / "labels.csv"


def _jsonl_to_csv(path: Path, folder: Path) -> Path:
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise LabeledFileError(f"{path.name} line {number}: {exc}") from None
    target = folder / "labels.csv"
    _write_csv(target, [_flat(record) for record in records])
    for record in records:  # relative image paths stay relative to the JSONL's folder
        image = Path(str(record.get("image") or ""))
        if record.get("image") and not image.is_absolute():
            source, copy = (path.parent / image).resolve(), (folder / image).resolve()
            # Neither end may leave its folder: "../x" would copy a file beside the JSONL's
            # folder to a place beside the temporary one.
            if source.is_file() and source.is_relative_to(path.parent.resolve()) \
                    and copy.is_relative_to(folder.resolve()):
                copy.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, copy)
    return target


def export_labels(store: FeedbackStore, out: str | os.PathLike, fmt: str = "csv") -> int:
    """Write every labeled click (one record per click) as CSV, JSONL or zip; return the count.

    The zip holds labels.csv, crops/ (one PNG per model answer) and originals/ (each image
    whose file is still where it was clicked).
    """
    if fmt not in FORMATS:
        raise LabeledFileError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    records = labeled_records(store)
    out = Path(out)
    if fmt == "jsonl":
        lines = [json.dumps(_jsonl_record(r)) for r in records]
        out.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    elif fmt == "csv":
        _write_csv(out, [_flat(_jsonl_record(r)) for r in records])
    else:
        _write_zip(out, records)
    return len(records)


def labeled_records(store: FeedbackStore) -> list[dict]:
    """Return one dict per labeled click of a scored prediction, each with its labeled models."""
    query = (
        select(P.c.id, P.c.image_name, P.c.image_sha256, P.c.point_x, P.c.point_y,
               L.c.tester, L.c.labeled_at, M.c.model, M.c.version, M.c.ranked, L.c.label,
               M.c.crop_png)
        .join(M, M.c.prediction_id == P.c.id)
        .join(L, and_(L.c.prediction_id == P.c.id, L.c.model == M.c.model))
        .where(P.c.status == "ok").order_by(P.c.id, M.c.model))
    records: dict[int, dict] = {}
    with store.read() as conn:
        for row in conn.execute(query).mappings():
            record = records.setdefault(row["id"], {
                "prediction_id": row["id"], "image": row["image_name"] or "",
                "image_sha256": row["image_sha256"], "x": row["point_x"], "y": row["point_y"],
                "tester": row["tester"], "labeled_at": str(row["labeled_at"]), "labels": {}})
            record["labels"][row["model"]] = {
                "truth": row["label"], "version": row["version"],
                "top5": [{"label": r["label"], "score": r["score"]} for r in row["ranked"][:5]],
                "crop_png": row["crop_png"]}
    return list(records.values())


def _jsonl_record(record: dict, crops: dict[str, str] | None = None) -> dict:
    labels = {}
    for model, answer in record["labels"].items():
        crop = (crops or {}).get(model)
        labels[model] = {
            "truth": answer["truth"], "none_of_these": answer["truth"] is None,
            "version": answer["version"], "top5": answer["top5"],
            **({"crop": crop} if crop else {"crop_png_base64": _b64(answer["crop_png"])})}
    return {**{k: v for k, v in record.items() if k != "labels"}, "labels": labels}


def _flat(record: dict) -> dict[str, object]:
    """One CSV row: the evaluate columns, then per model its truth, version, top 5 and crop."""
    row: dict[str, object] = {key: record.get(key) for key in
                              ("image", "x", "y", "prediction_id", "image_sha256", "tester")}
    for model, answer in (record.get("labels") or {}).items():
        truth = answer.get("truth")
        row[model] = NONE_LABEL if truth is None else truth
        row[f"{model}_version"] = answer.get("version")
        row[f"{model}_top5"] = "; ".join(f"{t['label']}={t['score']:.4f}"
                                         for t in answer.get("top5") or [])
        row[f"{model}_crop"] = answer.get("crop") or answer.get("crop_png_base64") or ""
    return row


def _write_csv(path: Path, rows: list[dict[str, object]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        _write_csv_to(handle, rows)


def _write_zip(out: Path, records: list[dict]) -> None:
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        rows = []
        for record in records:
            crops = {}
            for model, answer in record["labels"].items():
                if answer["crop_png"]:
                    name = f"crops/{record['prediction_id']}_{model}.png"
                    archive.writestr(name, answer["crop_png"])
                    crops[model] = name
            original = _original(record)
            if original is not None:
                path, data = original
                name = f"originals/{record['image_sha256']}{path.suffix.lower()}"
                if name not in archive.namelist():
                    archive.writestr(name, data)  # the bytes hashed, not the path again
                record = {**record, "image": name}
            rows.append(_flat(_jsonl_record(record, crops)))
        buffer = io.StringIO()
        _write_csv_to(buffer, rows)
        archive.writestr("labels.csv", buffer.getvalue())


def _write_csv_to(handle: io.TextIOBase | io.StringIO, rows: list[dict[str, object]]) -> None:
    columns: list[str] = ["image", "x", "y"]
    for row in rows:
        columns += [key for key in row if key not in columns]
    writer = csv.DictWriter(handle, fieldnames=columns)
    writer.writeheader()
    writer.writerows({key: spreadsheet_safe(value) for key, value in row.items()}
                     for row in rows)


def spreadsheet_safe(value: object) -> object:
    """Quote a text cell a spreadsheet would run as a formula (OWASP CSV injection): a
    leading `=`, `+`, `-`, `@`, tab or CR gets a `'` before it; read_labeled removes it."""
    if isinstance(value, str) and value[:1] in FORMULA_STARTS:
        return "'" + value
    return value


def _original(record: dict) -> tuple[Path, bytes] | None:
    """The clicked image file and its bytes, if it is still a regular file of at most
    MAX_ORIGINAL_MB holding the same bytes; read once, so what was hashed is what is written
    (a stored path swapped for a link to another file in between cannot slip in)."""
    import hashlib

    path = Path(record["image"]) if record["image"] else None
    if path is None or not record["image_sha256"]:
        return None
    try:  # O_NONBLOCK: a path now naming a FIFO must not hang the export
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        data = handle.read(int(MAX_ORIGINAL_MB * 2**20) + 1)
    if len(data) > MAX_ORIGINAL_MB * 2**20:
        return None
    return (path, data) if hashlib.sha256(data).hexdigest() == record["image_sha256"] else None


def _b64(data: bytes | None) -> str:
    return base64.b64encode(data).decode() if data else ""
