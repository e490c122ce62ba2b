"""Child process of the benchmark: cold start to first prediction, then memory over many calls.

Prints two JSON lines: one right after the first prediction, one after all calls.
"""

import json
import sys
import time


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    calls, manifest = int(sys.argv[1]), sys.argv[2] or None
    started = time.perf_counter()
    from predictor import Predictor
    from predictor.cli.bench import synthetic_photo

    predictor = Predictor.from_manifest(manifest)
    image = predictor.decode(synthetic_photo(1600, 1200, "JPEG"))
    predictor.predict(image, 800, 600)
    loaded = {
        "in_process_first_prediction_ms": round((time.perf_counter() - started) * 1e3, 1),
        "rss_loaded_mb": round(_rss_mb(), 1),
    }
    print(json.dumps(loaded), flush=True)
    for i in range(calls):
        predictor.predict(image, (i * 37) % 1600, (i * 53) % 1200)
    print(json.dumps({"calls": calls, "rss_after_mb": round(_rss_mb(), 1)}), flush=True)


if __name__ == "__main__":
    main()
