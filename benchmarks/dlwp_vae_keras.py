"""Deep Learning with Python's (2nd ed.) VAE trained step for step by Keras itself and by the `dlwp-vae` preset, from
the same weights, on the same batches and the same draws of epsilon. TensorFlow is no dependency of the workflow:
run this where both tensorflow (2.x, with Keras 3, or Keras 2 through tf-keras and TF_USE_LEGACY_KERAS=1) and the
workflow's requirements are installed:

    python benchmarks/dlwp_vae_keras.py [--train results/data/mnist/train.pt] [--steps 20] [--seed 0]

The Keras side is the book's chapter 12 notebook (chapter12_part04_variational-autoencoders.ipynb, generated for
TensorFlow 2.6): its encoder, Sampler, decoder and VAE.train_step as written, compiled with Adam() as the book
compiles it (run_eagerly=True), but for one change: the Sampler takes each step's epsilon from the preset's random
numbers instead of drawing its own, so that both sides see the same draws. Each step's three losses are printed side
by side. The book's loss averages the KL's terms over the batch and the latent dimensions (tf.reduce_mean(kl_loss)),
as the preset's loss `dlwp2` does; `--loss elbo` trains the preset on the negative ELBO instead (the KL summed over
the latent dimensions, as the keras.io example and this preset before it did), to show what such a departure looks
like here. Two copies of the preset train beside Keras (keras_check.PresetCopies): one as the workflow trains it,
one whose Adam takes Keras' steps (keras_check.match_keras_adam: its epsilon, the presets' one known departure, and
its float32 betas). Both sides run in float32: the preset's step casts the encoder's outputs to float32, so this
check cannot run in float64 as the GAN checks do. It exits non-zero when the matched copy's losses differ from
Keras' by more than 1e-3 (relative, or absolute below 1: float32 rounding, amplified over a few dozen steps of Adam,
stays well below).
"""

import numpy as np
import torch
from keras_check import (
    DrawSite,
    PresetCopies,
    channels_last_index,
    check_arguments,
    copy_convolution,
    copy_dense,
    import_tensorflow,
    keras_version,
    match_keras_adam,
    of_kind,
    training_images,
)

tf = import_tensorflow()

from genzoo import config, losses  # noqa: E402  (keras_check puts it on sys.path)

keras, layers = tf.keras, tf.keras.layers
LATENT = 2
LOSS_COLUMNS = (("loss", 10, 4), ("reconstruction", 10, 4), ("kl", 8, 5))  # name, width, decimals


def book_encoder() -> keras.Model:
    encoder_inputs = keras.Input(shape=(28, 28, 1))
    x = layers.Conv2D(32, 3, activation="relu", strides=2, padding="same")(encoder_inputs)
    x = layers.Conv2D(64, 3, activation="relu", strides=2, padding="same")(x)
    x = layers.Flatten()(x)
    x = layers.Dense(16, activation="relu")(x)
    z_mean = layers.Dense(LATENT, name="z_mean")(x)
    z_log_var = layers.Dense(LATENT, name="z_log_var")(x)
    return keras.Model(encoder_inputs, [z_mean, z_log_var], name="encoder")


def book_decoder() -> keras.Model:
    latent_inputs = keras.Input(shape=(LATENT,))
    x = layers.Dense(7 * 7 * 64, activation="relu")(latent_inputs)
    x = layers.Reshape((7, 7, 64))(x)
    x = layers.Conv2DTranspose(64, 3, activation="relu", strides=2, padding="same")(x)
    x = layers.Conv2DTranspose(32, 3, activation="relu", strides=2, padding="same")(x)
    decoder_outputs = layers.Conv2D(1, 3, activation="sigmoid", padding="same")(x)
    return keras.Model(latent_inputs, decoder_outputs, name="decoder")


class GivenEpsilonSampler(layers.Layer):
    """The book's Sampler, z_mean + tf.exp(0.5 * z_log_var) * epsilon, with epsilon set from outside."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = None

    def call(self, z_mean, z_log_var):
        return z_mean + tf.exp(0.5 * z_log_var) * self.epsilon


class BookVAE(keras.Model):
    """The book's VAE; train_step as the notebook writes it (its metric trackers left out)."""

    def __init__(self, encoder, decoder, **kwargs):
        super().__init__(**kwargs)
        self.encoder = encoder
        self.decoder = decoder
        self.sampler = GivenEpsilonSampler()

    def train_step(self, data):
        with tf.GradientTape() as tape:
            z_mean, z_log_var = self.encoder(data)
            z = self.sampler(z_mean, z_log_var)
            reconstruction = self.decoder(z)
            reconstruction_loss = tf.reduce_mean(
                tf.reduce_sum(keras.losses.binary_crossentropy(data, reconstruction), axis=(1, 2))
            )
            kl_loss = -0.5 * (1 + z_log_var - tf.square(z_mean) - tf.exp(z_log_var))
            total_loss = reconstruction_loss + tf.reduce_mean(kl_loss)
        grads = tape.gradient(total_loss, self.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.trainable_weights, strict=True))
        return {"loss": total_loss, "reconstruction": reconstruction_loss, "kl": tf.reduce_mean(kl_loss)}


def kernel_and_bias(layer) -> tuple[np.ndarray, np.ndarray]:
    kernel, bias = (v.numpy() for v in layer.weights)
    return kernel, bias


def copy_weights(encoder: keras.Model, decoder: keras.Model, nets: dict[str, torch.nn.Module]) -> None:
    """Keras' weights into the preset's layers: convolution kernels by torch_kernel, dense kernels transposed, and
    the 7*7*64 features on either side of Flatten/Reshape reordered from channels-last to channels-first."""
    order = channels_last_index(64, 7)
    ours_encoder, ours_decoder = nets["encoder"], nets["generator"]
    convolutions = of_kind(encoder, layers.Conv2D)
    for keras_layer, ours in zip(convolutions, ours_encoder.features[0:4:2], strict=True):
        copy_convolution(ours, *kernel_and_bias(keras_layer))
    kernel, bias = kernel_and_bias(of_kind(encoder, layers.Dense)[0])
    copy_dense(ours_encoder.features[5], kernel[order], bias)
    for name in ("z_mean", "z_log_var"):
        kernel, bias = kernel_and_bias(encoder.get_layer(name))
        copy_dense(getattr(ours_encoder, name), kernel, bias)

    (project,) = of_kind(decoder, layers.Dense)
    kernel, bias = kernel_and_bias(project)
    copy_dense(ours_decoder.project[0], kernel[:, order], bias[order])
    convolutions = of_kind(decoder, (layers.Conv2DTranspose, layers.Conv2D))  # in the decoder's order
    for keras_layer, ours in zip(convolutions, ours_decoder.upsample[0:6:2], strict=True):
        copy_convolution(ours, *kernel_and_bias(keras_layer))


def preset_run(loss: str | None) -> dict:
    run = config.standalone_run("dlwp-vae", "keras-check", device="cpu")
    return {**run, "vae_loss": loss or run["vae_loss"]}


def main() -> None:
    parser = check_arguments(__doc__, precision=False)
    parser.add_argument("--loss", choices=sorted(losses.VAE_LOSSES), help="train the preset on this loss instead")
    args = parser.parse_args()
    tf.keras.utils.set_random_seed(args.seed)
    torch.manual_seed(args.seed)
    print(f"tensorflow {tf.__version__}, Keras {keras_version(tf)}, torch {torch.__version__}")

    run = preset_run(args.loss)
    batch = run["batch_size"]
    images = training_images(args.train, "sigmoid", batch, args.steps)
    epsilons = [torch.randn(batch, LATENT) for _ in range(args.steps)]

    encoder, decoder = book_encoder(), book_decoder()
    vae = BookVAE(encoder, decoder)
    vae.compile(optimizer=keras.optimizers.Adam(), run_eagerly=True)
    # step_vae draws its epsilon with torch.randn_like(z_mean).
    copies = PresetCopies(
        run,
        lambda nets: copy_weights(encoder, decoder, nets),
        {"epsilon": DrawSite(torch, "randn_like")},
        match=match_keras_adam,
    )

    print(f"loss {run['vae_loss']}; per step: Keras / the preset as the workflow trains it / with Keras' Adam")
    print(f"{'step':>4}  {'total loss':^32}  {'reconstruction':^32}  {'KL':^26}")
    for t in range(1, args.steps + 1):
        real, epsilon = images[(t - 1) * batch : t * batch], epsilons[t - 1]
        vae.sampler.epsilon = tf.constant(epsilon.numpy())
        # Called as fit calls it under run_eagerly=True, on the batch as the book's train_step reads it (N, 28, 28, 1).
        theirs = {k: float(v) for k, v in vae.train_step(tf.constant(real.permute(0, 2, 3, 1).numpy())).items()}
        sides = copies.step(theirs, real, {"epsilon": [epsilon]}, t)
        copies.print_step(t, sides, LOSS_COLUMNS)
    copies.conclude(args.steps, f"the preset's loss {run['vae_loss']} does not train as the book's VAE does")


if __name__ == "__main__":
    main()
