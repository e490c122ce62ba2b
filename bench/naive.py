"""The naive first version the benchmark compares against. Never used by the product.

Full Pillow decode, crop, resize, then Keras `model.predict` per model, in series.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageOps

from predictor.crop import crop_box
from predictor.manifest import ModelSpec


class NaivePredictor:
    """What a first version does, kept honest: same crops, same models, none of the fast path."""

    def __init__(self, specs: list[ModelSpec], keras_models: list):
        self.specs, self.keras_models = specs, keras_models

    @classmethod
    def for_specs(cls, specs: list[ModelSpec]) -> NaivePredictor | None:
        """Load the Keras file beside each served model, or None when one is missing."""
        from predictor.models import tensorflow

        tensorflow()  # TensorFlow's quiet import: its start-up lines would clutter the table
        import keras

        models = []
        for spec in specs:
            path = spec.path if spec.format == "keras" else spec.path.with_suffix(".keras")
            if path.is_file():
                models.append(keras.saving.load_model(path, compile=False))
            elif (rebuilt := _head_version_in_keras(spec)) is not None:
                models.append(rebuilt)
            else:
                return None
        return cls(specs, models)

    def decode(self, data: bytes) -> Image.Image:
        image = ImageOps.exif_transpose(Image.open(io.BytesIO(data)))
        return image.convert("RGB")

    def predict(self, source: bytes | Image.Image, x: float, y: float) -> list[np.ndarray]:
        image = self.decode(source) if isinstance(source, bytes) else source
        outputs = []
        for spec, model in zip(self.specs, self.keras_models, strict=True):
            box = crop_box(image.size, (x, y), spec.crop_fraction)
            crop = image.crop((box.left, box.top, box.right, box.bottom))
            crop = crop.resize((spec.input_size, spec.input_size), Image.Resampling.BILINEAR)
            batch = np.asarray(crop, np.float32)[None] * spec.scale + spec.offset
            outputs.append(model.predict(batch, verbose=0)[0])
        return outputs


def _head_version_in_keras(spec: ModelSpec):  # noqa: ANN202 - a keras.Model or None
    """A head version (TFLite extractor + head.npz) as one Keras model, rebuilt from its recipe.

    The served TFLite extractor was exported from this same extractor, so the Keras model
    computes what the product serves (up to its float16 weights)."""
    import keras

    from training.head_recipes import HEAD_HISTORY
    from training.heads import extractor

    recipe = HEAD_HISTORY.get((spec.name, spec.version))
    if spec.head is None or recipe is None:
        return None
    features = extractor(recipe)
    head = np.load(spec.head)
    crop = keras.Input((recipe.input_size, recipe.input_size, 3))
    pooled = (features if isinstance(features, keras.Model) else features.keras_layer())(crop)
    dense = keras.layers.Dense(head["weights"].shape[1], activation="softmax")
    model = keras.Model(crop, dense(pooled))
    dense.set_weights([head["weights"], head["bias"]])
    return model
