"""A small depthwise-separable CNN (MobileNet-style) sized for two CPU cores."""

from __future__ import annotations

import keras
from keras import layers

# (output channels, stride) of each depthwise-separable block after the stem.
BLOCKS = ((32, 1), (64, 2), (64, 1), (128, 2), (128, 1), (256, 2), (256, 1))


def build(
    n_classes: int, input_size: int, width: float = 1.0, head: str = "gap", dropout: float = 0.2
) -> keras.Model:
    """Return an uncompiled classifier: float [0, 1] RGB in, softmax probabilities out.

    head="flatten" keeps where features are (the colour under the centre matters);
    head="gap" pools them (a theme can sit anywhere in the crop).
    """
    inputs = keras.Input((input_size, input_size, 3), name="input")
    x = _conv_bn(inputs, int(24 * width), 3, 2)
    for channels, stride in BLOCKS:
        x = _separable(x, int(channels * width), stride)
    if head == "flatten":
        x = _conv_bn(x, 64, 1, 1)
        x = layers.Flatten()(x)
    else:
        x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(dropout)(x)
    outputs = layers.Dense(n_classes, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs)


def _conv_bn(x, channels: int, kernel: int, stride: int):
    x = layers.Conv2D(channels, kernel, stride, padding="same", use_bias=False)(x)
    return layers.ReLU(6.0)(layers.BatchNormalization()(x))


def _separable(x, channels: int, stride: int):
    x = layers.DepthwiseConv2D(3, stride, padding="same", use_bias=False)(x)
    x = layers.ReLU(6.0)(layers.BatchNormalization()(x))
    return _conv_bn(x, channels, 1, 1)
