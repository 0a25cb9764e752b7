"""CS231n's TensorFlow-edition DCGAN generator, trained by Keras itself as the notebook's run_a_gan trains it, beside
the `cs231n-dcgan` preset's generator given Keras' weights. TensorFlow is no dependency of the workflow: run this
where both tensorflow (2.x, with Keras 3, or Keras 2 through tf-keras and TF_USE_LEGACY_KERAS=1) and the workflow's
requirements are installed:

    python benchmarks/cs231n_tf_batchnorm.py [--steps 20] [--seed 0]

The Keras generator has the notebook's layers at Keras' defaults: Dense 1024 ReLU, BatchNormalization, Dense 7*7*128
ReLU, BatchNormalization, Reshape (7, 7, 128), Conv2DTranspose 64 4x4 stride 2 'same' ReLU, BatchNormalization,
Conv2DTranspose 1 4x4 stride 2 'same' tanh, Reshape (784,). It takes --steps Adam steps (lr 1e-3, beta_1 0.5) as
run_a_gan takes its generator's: G(noise) inside a GradientTape, without training=True, then apply_gradients, with
the generator's loss against a fixed random linear discriminator (any loss moves the weights). Printed: how far the
BatchNorm layers' moving statistics and their scale and shift moved, and the largest difference between Keras'
output and the preset's generator given Keras' weights, on fresh noise, called as run_a_gan calls it and, for
contrast, with training=True (batch statistics: what the notebook does not do).
"""

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

try:
    import tensorflow as tf
except ModuleNotFoundError:
    raise SystemExit("this check needs TensorFlow, which the workflow does not: pip install tensorflow-cpu") from None

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow"))

from genzoo.models.cs231n import DCGenerator  # noqa: E402

NOISE, BATCH = 96, 128


def keras_generator() -> tf.keras.Model:
    layers = tf.keras.layers
    return tf.keras.Sequential(
        [
            tf.keras.Input(shape=(NOISE,)),
            layers.Dense(1024, activation="relu"),
            layers.BatchNormalization(),
            layers.Dense(7 * 7 * 128, activation="relu"),
            layers.BatchNormalization(),
            layers.Reshape((7, 7, 128)),
            layers.Conv2DTranspose(64, 4, strides=2, padding="same", activation="relu"),
            layers.BatchNormalization(),
            layers.Conv2DTranspose(1, 4, strides=2, padding="same", activation="tanh"),
            layers.Reshape((784,)),
        ]
    )


def train_as_run_a_gan(generator: tf.keras.Model, steps: int) -> None:
    """The generator's half of run_a_gan's loop: G(noise) without training=True, under a tape, Adam's step."""
    discriminator = tf.random.normal([784, 1], stddev=0.05)
    optimizer = tf.keras.optimizers.Adam(learning_rate=1e-3, beta_1=0.5)
    for _ in range(steps):
        noise = tf.random.uniform([BATCH, NOISE], -1, 1)
        with tf.GradientTape() as tape:
            logits = tf.matmul(generator(noise), discriminator)
            loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.ones_like(logits), logits=logits))
        gradients = tape.gradient(loss, generator.trainable_variables)
        optimizer.apply_gradients(zip(gradients, generator.trainable_variables, strict=True))


def channels_first_order() -> np.ndarray:
    """Keras' index of each feature of the 7*7*128 layer, in the order PyTorch's Unflatten(128, 7, 7) reads them."""
    c, h, w = np.meshgrid(np.arange(128), np.arange(7), np.arange(7), indexing="ij")
    return ((h * 7 + w) * 128 + c).reshape(-1)


def copy_weights(keras_model: tf.keras.Model, preset: DCGenerator) -> None:
    """Keras' weights into the preset's layers: dense kernels transposed, the 7*7*128 features reordered from
    channels-last to channels-first, transposed-convolution kernels from (h, w, out, in) to (in, out, h, w)."""
    dense = [layer for layer in keras_model.layers if isinstance(layer, tf.keras.layers.Dense)]
    norms = [layer for layer in keras_model.layers if isinstance(layer, tf.keras.layers.BatchNormalization)]
    deconvs = [layer for layer in keras_model.layers if isinstance(layer, tf.keras.layers.Conv2DTranspose)]
    ours = preset.model
    order = channels_first_order()
    orders = [slice(None), order, slice(None)]
    with torch.no_grad():
        for layer, linear, features in zip(dense, (ours[0], ours[3]), orders[:2], strict=True):
            kernel, bias = (v.numpy() for v in layer.weights)
            linear.weight.copy_(torch.from_numpy(kernel[:, features].T.copy()))
            linear.bias.copy_(torch.from_numpy(bias[features].copy()))
        for layer, norm, features in zip(norms, (ours[2], ours[5], ours[9]), orders, strict=True):
            gamma, beta, mean, variance = (v.numpy()[features] for v in layer.weights)
            for target, value in ((norm.weight, gamma), (norm.bias, beta), (norm.running_mean, mean)):
                target.copy_(torch.from_numpy(value.copy()))
            norm.running_var.copy_(torch.from_numpy(variance.copy()))
        for layer, deconv in zip(deconvs, (ours[7], ours[10]), strict=True):
            kernel, bias = (v.numpy() for v in layer.weights)
            deconv.weight.copy_(torch.from_numpy(kernel.transpose(3, 2, 0, 1).copy()))
            deconv.bias.copy_(torch.from_numpy(bias))


def keras_version() -> str:
    """The Keras that tf.keras is: Keras 3's own, or tf-keras (Keras 2) under TF_USE_LEGACY_KERAS=1."""
    if tf.keras.__name__.startswith("tf_keras"):
        from importlib.metadata import version

        return f"{version('tf-keras')} (tf-keras, Keras 2)"
    return tf.keras.__version__


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    tf.random.set_seed(args.seed)
    print(f"tensorflow {tf.__version__}, Keras {keras_version()}, torch {torch.__version__}")

    generator = keras_generator()
    train_as_run_a_gan(generator, args.steps)
    norms = [layer for layer in generator.layers if isinstance(layer, tf.keras.layers.BatchNormalization)]
    for index, layer in enumerate(norms):
        gamma, beta, mean, variance = (v.numpy() for v in layer.weights)
        print(
            f"BatchNorm {index + 1} after {args.steps} steps: moving mean max |m| {np.abs(mean).max():.3g}, moving "
            f"variance max |v - 1| {np.abs(variance - 1).max():.3g}; scale max |g - 1| {np.abs(gamma - 1).max():.3g}, "
            f"shift max |b| {np.abs(beta).max():.3g}"
        )

    preset = DCGenerator(NOISE, edition="tf").eval()
    copy_weights(generator, preset)
    noise = tf.random.uniform([BATCH, NOISE], -1, 1)
    with torch.no_grad():
        ours = preset(torch.from_numpy(noise.numpy())).reshape(BATCH, 784).numpy()
    as_called = generator(noise).numpy()
    batch_statistics = generator(noise, training=True).numpy()
    print(f"largest |Keras - preset|, G(noise) as run_a_gan calls it: {np.abs(as_called - ours).max():.3g}")
    print(f"largest |Keras - preset|, G(noise, training=True) instead: {np.abs(batch_statistics - ours).max():.3g}")


if __name__ == "__main__":
    main()
