"""Tiny real Keras "color" and "theme" models with the repository's label sets, for app tests."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
INPUT_SIZE = 32
TIMEOUT = 120  # AppTest: the first run in a process loads TensorFlow and the models


def build_app_models(folder: Path) -> Path:
    """Write color.keras, theme.keras, both label files and a manifest; return the manifest."""
    import keras

    folder.mkdir(parents=True, exist_ok=True)
    entries = []
    for seed, (name, labels, fraction) in enumerate(
            (("color", "colors.txt", 0.2), ("theme", "themes.txt", 0.6))):
        shutil.copy(ROOT / "labels" / labels, folder / labels)
        n_labels = len((folder / labels).read_text().split("\n")) - 1
        keras.utils.set_random_seed(seed)
        model = keras.Sequential([
            keras.Input((INPUT_SIZE, INPUT_SIZE, 3)),
            keras.layers.Conv2D(4, 3, strides=2, activation="relu"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(n_labels, activation="softmax"),
        ])
        model.save(folder / f"{name}.keras")
        entries.append(
            f'[[model]]\nname = "{name}"\nfile = "{name}.keras"\nlabels = "{labels}"\n'
            f'version = "tiny-{seed + 1}"\ninput_size = {INPUT_SIZE}\ncrop_fraction = {fraction}\n')
    manifest = folder / "manifest.toml"
    manifest.write_text("\n".join(entries))
    return manifest


def png(size=(1200, 900), color=(220, 30, 40)) -> bytes:
    """A one-colour PNG photo, as bytes."""
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


if __name__ == "__main__":
    import sys

    print(build_app_models(Path(sys.argv[1])))
