"""CS231n's TensorFlow-edition DCGAN generator, trained by Keras itself as the notebook's run_a_gan trains it, beside
the `cs231n-dcgan` preset's generator given Keras' weights. TensorFlow is no dependency of the workflow: run this
where both tensorflow (2.x, with Keras 3, or Keras 2 through tf-keras and TF_USE_LEGACY_KERAS=1) and the workflow's
requirements are installed:

    python benchmarks/cs231n_tf_batchnorm.py [--steps 20] [--seed 0]

The Keras generator has the layers the notebook specifies (its dc_generator is left to the student), at Keras'
defaults: Dense 1024 ReLU, BatchNormalization, Dense 7*7*128 ReLU, BatchNormalization, Reshape (7, 7, 128),
Conv2DTranspose 64 4x4 stride 2 'same' ReLU, BatchNormalization, Conv2DTranspose 1 4x4 stride 2 'same' tanh, Reshape
(784,). It takes --steps Adam steps (lr 1e-3, beta_1 0.5) as run_a_gan takes its generator's: G(noise) inside a
GradientTape, without training=True, then apply_gradients, with the generator's loss against a fixed random linear
discriminator (any loss moves the weights). Printed: how far the BatchNorm layers' moving statistics and their scale
and shift moved, and the largest difference between Keras' output and the preset's generator, given Keras' weights
and run in training mode as the workflow trains it, on fresh noise: Keras' generator called as run_a_gan calls it
and, for contrast, with training=True (batch statistics: what the notebook does not do). It exits non-zero unless the
moving statistics stayed at 0 and 1, the preset's running statistics stayed as copied, and the outputs agree to 1e-5.
"""

import argparse

import numpy as np
import torch
from keras_check import (
    channels_last_index,
    copy_convolution,
    import_tensorflow,
    in_keras_order,
    keras_version,
    of_kind,
)

tf = import_tensorflow()

from genzoo.models.cs231n import DCGenerator  # noqa: E402  (keras_check puts it on sys.path)

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


def copy_weights(keras_model: tf.keras.Model, preset: DCGenerator) -> None:
    """Keras' weights into the preset's layers: dense kernels transposed, the 7*7*128 features reordered from
    channels-last to channels-first, transposed-convolution kernels from (h, w, out, in) to (in, out, h, w)."""
    dense, deconvs = of_kind(keras_model, tf.keras.layers.Dense), of_kind(keras_model, tf.keras.layers.Conv2DTranspose)
    ours = preset.model
    # The features of each BatchNorm in Keras' order: only the second one's (after the 7*7*128 dense layer) are
    # reordered; the two dense layers' outputs are the first two BatchNorms' inputs, so they share the first two.
    orders = [slice(None), channels_last_index(128, 7), slice(None)]
    with torch.no_grad():
        for layer, linear, features in zip(dense, (ours[0], ours[3]), orders[:2], strict=True):
            kernel, bias = (v.numpy() for v in layer.weights)
            linear.weight.copy_(torch.from_numpy(kernel[:, features].T.copy()))
            linear.bias.copy_(torch.from_numpy(bias[features].copy()))
        for layer, norm, features in zip(batch_norms(keras_model), (ours[2], ours[5], ours[9]), orders, strict=True):
            for target, value in zip(in_keras_order(norm), layer.weights, strict=True):
                target.copy_(torch.from_numpy(value.numpy()[features].copy()))
        for layer, deconv in zip(deconvs, (ours[7], ours[10]), strict=True):
            copy_convolution(deconv, *(v.numpy() for v in layer.weights))


def batch_norms(keras_model: tf.keras.Model) -> list:
    return of_kind(keras_model, tf.keras.layers.BatchNormalization)


def report_statistics(keras_model: tf.keras.Model, steps: int) -> bool:
    """Prints how far each BatchNorm's four variables moved; True when the moving statistics stayed at 0 and 1."""
    stayed = True
    for index, layer in enumerate(batch_norms(keras_model), start=1):
        gamma, beta, mean, variance = (v.numpy() for v in layer.weights)
        print(
            f"BatchNorm {index} after {steps} steps: moving mean max |m| {np.abs(mean).max():.3g}, moving "
            f"variance max |v - 1| {np.abs(variance - 1).max():.3g}; scale max |g - 1| {np.abs(gamma - 1).max():.3g}, "
            f"shift max |b| {np.abs(beta).max():.3g}"
        )
        stayed = stayed and not mean.any() and (variance == 1).all()
    return stayed


def preset_in_training(keras_model: tf.keras.Model, noise: np.ndarray) -> tuple[np.ndarray, bool]:
    """The preset's generator given Keras' weights, run in training mode (as the workflow trains it) on the noise;
    also whether its running statistics stayed as copied."""
    preset = DCGenerator(NOISE, edition="tf").train()
    copy_weights(keras_model, preset)
    norms = (preset.model[2], preset.model[5], preset.model[9])
    before = [(norm.running_mean.clone(), norm.running_var.clone()) for norm in norms]
    with torch.no_grad():
        images = preset(torch.from_numpy(noise)).reshape(len(noise), 784).numpy()
    kept = all(
        torch.equal(mean, norm.running_mean) and torch.equal(variance, norm.running_var)
        for (mean, variance), norm in zip(before, norms, strict=True)
    )
    return images, kept


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=20, help="Adam steps (at least 1: the scales must move)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.steps < 1:
        parser.error("--steps must be at least 1: untrained, the BatchNorm parameters could be copied in any order")
    tf.keras.utils.set_random_seed(args.seed)  # Python's, NumPy's and TensorFlow's generators, Keras' initialisers
    print(f"tensorflow {tf.__version__}, Keras {keras_version(tf)}, torch {torch.__version__}")

    generator = keras_generator()
    train_as_run_a_gan(generator, args.steps)
    stayed = report_statistics(generator, args.steps)
    noise = tf.random.uniform([BATCH, NOISE], -1, 1)
    ours, kept = preset_in_training(generator, noise.numpy())
    as_called = np.abs(generator(noise).numpy() - ours).max()
    batch_statistics = np.abs(generator(noise, training=True).numpy() - ours).max()
    print(f"largest |Keras - preset (training mode)|, G(noise) as run_a_gan calls it: {as_called:.3g}")
    print(f"largest |Keras - preset (training mode)|, G(noise, training=True) instead: {batch_statistics:.3g}")
    print(f"the preset's running statistics after its forward pass: {'unchanged' if kept else 'MOVED'}")
    if not (stayed and kept and as_called < 1e-5):
        raise SystemExit("the preset does not run Keras' BatchNorm as run_a_gan calls it")


if __name__ == "__main__":
    main()
