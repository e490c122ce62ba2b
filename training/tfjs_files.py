"""Read a TF.js model bundled as JS modules: the model.json object and its dequantized weights.

nsfwjs ships each model as `model.min.js` (the model.json object) and `group1-shard*.min.js`
(each shard's bytes as a base64 string), wrapped in UMD modules. Node evaluates each module in
an empty `vm` context (no require, no process): the module only assigns `module.exports`.
"""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path
from typing import Any

import numpy as np

_UNWRAP_JS = """
const fs = require("fs"), vm = require("vm");
const module = {exports: {}};
vm.runInNewContext(fs.readFileSync(process.argv[1], "utf8"),
                   {module, exports: module.exports}, {timeout: 60000});
process.stdout.write(JSON.stringify(module.exports));
"""


class TfjsFormatError(ValueError):
    """The TF.js files hold something this reader does not handle."""


def unwrap_js(path: Path) -> Any:
    """Return what a UMD-wrapped JS module exports, as JSON-decoded Python values."""
    out = subprocess.run(
        ["node", "-e", _UNWRAP_JS, str(path)], check=True, capture_output=True, timeout=120
    ).stdout
    return json.loads(out)


def read_bundle(folder: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Return the model.json object and its float32 weights by name from an nsfwjs model folder."""
    model_json = unwrap_js(folder / "model.min.js")
    shards = {}
    for group in model_json["weightsManifest"]:
        for name in group["paths"]:
            shards[name] = base64.b64decode(unwrap_js(folder / f"{name}.min.js"))
    return model_json, decode_weights(model_json["weightsManifest"], shards)


def decode_weights(
    manifest: list[dict[str, Any]], shards: dict[str, bytes]
) -> dict[str, np.ndarray]:
    """Split each group's concatenated shards into named float32 arrays, dequantizing uint8."""
    weights: dict[str, np.ndarray] = {}
    for group in manifest:
        data = b"".join(shards[name] for name in group["paths"])
        offset = 0
        for spec in group["weights"]:
            array, offset = _take(data, offset, spec)
            weights[spec["name"]] = array
        if offset != len(data):
            raise TfjsFormatError(f"{len(data) - offset} bytes left after {group['paths']}")
    return weights


def _take(data: bytes, offset: int, spec: dict[str, Any]) -> tuple[np.ndarray, int]:
    shape = tuple(spec["shape"])
    count = int(np.prod(shape, dtype=np.int64))
    quant = spec.get("quantization")
    if spec["dtype"] not in ("float32", "int32"):
        raise TfjsFormatError(f"{spec['name']}: dtype {spec['dtype']}")
    if quant is None:
        raw = np.frombuffer(data, "<f4" if spec["dtype"] == "float32" else "<i4", count, offset)
        return raw.reshape(shape).copy(), offset + 4 * count
    if quant["dtype"] == "float16" and spec["dtype"] == "float32":
        half = np.frombuffer(data, "<f2", count, offset)
        return half.astype(np.float32).reshape(shape), offset + 2 * count
    if quant["dtype"] != "uint8" or "min" not in quant:
        raise TfjsFormatError(f"{spec['name']}: quantization {quant}")
    q = np.frombuffer(data, np.uint8, count, offset)
    # TF.js computes q * scale + min in double precision, then stores float32.
    values = q.astype(np.float64) * quant["scale"] + quant["min"]
    return values.astype(np.float32).reshape(shape), offset + count
