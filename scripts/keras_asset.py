"""Make tests/assets/keras_small_tf2onnx.onnx: a small Keras CNN converted by tf2onnx, the NHWC
graph the ONNX tests read (a real exporter's output, kept because the test machines have no
TensorFlow). Run in an environment with tensorflow and tf2onnx (`pip install tensorflow-cpu
tf2onnx`; made with TensorFlow 2.21, tf2onnx 1.17):

    python scripts/keras_asset.py tests/assets/keras_small_tf2onnx.onnx

The network: 3x21x20 input (odd and even sizes, so SAME padding is uneven on one axis), a
stride-2 SAME conv with batch norm and ReLU, a depthwise 3x3 SAME conv, a stride-2 SAME max pool
(tf2onnx writes its uneven padding as pads), a 1x1 conv added to a 1x1 projection, global average
pooling and a dense layer. Non-zero biases (zeros would be dropped by tf2onnx's optimizer).
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import tensorflow as tf  # noqa: E402
import tf2onnx  # noqa: E402


def build() -> tf.keras.Model:
    tf.keras.utils.set_random_seed(0)
    layers = tf.keras.layers
    init = tf.keras.initializers.RandomNormal(stddev=0.1)
    x = inputs = tf.keras.Input((21, 20, 3))
    x = layers.Conv2D(8, 3, strides=2, padding="same", bias_initializer=init)(x)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    x = layers.DepthwiseConv2D(3, padding="same", bias_initializer=init)(x)
    x = layers.MaxPooling2D(3, strides=2, padding="same")(x)
    y = layers.Conv2D(16, 1, bias_initializer=init)(x)
    x = layers.Add()([y, layers.Conv2D(16, 1, bias_initializer=init)(x)])
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(10, bias_initializer=init)(x)
    return tf.keras.Model(inputs, outputs)


if __name__ == "__main__":
    model = build()
    spec = (tf.TensorSpec((1, 21, 20, 3), tf.float32, name="input"),)
    tf2onnx.convert.from_keras(model, input_signature=spec, opset=17, output_path=sys.argv[1])
