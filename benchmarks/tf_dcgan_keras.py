"""The TensorFlow DCGAN tutorial trained step for step by Keras itself and by the `tf-dcgan` preset, from the same
weights, on the same batches and the same noise. TensorFlow is no dependency of the workflow: run this where both
tensorflow (2.x, with Keras 3, or Keras 2 through tf-keras and TF_USE_LEGACY_KERAS=1) and the workflow's
requirements are installed:

    python benchmarks/tf_dcgan_keras.py [--train results/data/mnist/train.pt] [--steps 20] [--seed 0] [--float32]

The Keras side is the tutorial (site/en/tutorials/generative/dcgan.ipynb of tensorflow/docs): make_generator_model,
make_discriminator_model, the from-logits cross-entropy losses, Adam(1e-4) twice and the @tf.function train_step as
written, but for two changes that let both sides see the same random numbers: train_step takes its noise (the preset's
draws) instead of drawing tf.random.normal([BATCH_SIZE, noise_dim]) itself, and both discriminators' Dropout rates are 0
(both could be handed the same keep masks instead, as dlwp1_gan_keras.py hands them; not done here). Two copies of the
preset train beside Keras: one as the workflow trains it (steps.step_simultaneous), one whose Adam takes Keras' steps
(keras_check.match_keras_adam). Printed: each step's losses, then how far the generators' BatchNorm moving variances
(which the sample grids are drawn with) and their images in inference mode on fresh noise lie apart. Both sides run in
float64 unless --float32 (float32 GAN runs part by rounding alone; cs231n_tf_keras.py says why). It exits non-zero when
the matched copy's losses differ from Keras' by more than 1e-5 in float64 (1e-3 in float32; relative, or absolute below
1).
"""

import numpy as np
import torch
from keras_check import (
    DrawSite,
    PresetCopies,
    channels_last_index,
    check_arguments,
    chosen_dtype,
    copy_convolution,
    copy_dense,
    import_tensorflow,
    in_keras_order,
    keras_version,
    match_keras_adam,
    of_kind,
    training_images,
)

tf = import_tensorflow()

from genzoo import config, sampling  # noqa: E402  (keras_check puts it on sys.path)

keras, layers = tf.keras, tf.keras.layers
NOISE = 100


def make_generator_model() -> keras.Model:
    model = keras.Sequential()
    model.add(keras.Input(shape=(NOISE,)))
    model.add(layers.Dense(7 * 7 * 256, use_bias=False))
    model.add(layers.BatchNormalization())
    model.add(layers.LeakyReLU())
    model.add(layers.Reshape((7, 7, 256)))
    model.add(layers.Conv2DTranspose(128, (5, 5), strides=(1, 1), padding="same", use_bias=False))
    model.add(layers.BatchNormalization())
    model.add(layers.LeakyReLU())
    model.add(layers.Conv2DTranspose(64, (5, 5), strides=(2, 2), padding="same", use_bias=False))
    model.add(layers.BatchNormalization())
    model.add(layers.LeakyReLU())
    model.add(layers.Conv2DTranspose(1, (5, 5), strides=(2, 2), padding="same", use_bias=False, activation="tanh"))
    return model


def make_discriminator_model(dropout: float) -> keras.Model:
    model = keras.Sequential()
    model.add(keras.Input(shape=(28, 28, 1)))
    model.add(layers.Conv2D(64, (5, 5), strides=(2, 2), padding="same"))
    model.add(layers.LeakyReLU())
    model.add(layers.Dropout(dropout))
    model.add(layers.Conv2D(128, (5, 5), strides=(2, 2), padding="same"))
    model.add(layers.LeakyReLU())
    model.add(layers.Dropout(dropout))
    model.add(layers.Flatten())
    model.add(layers.Dense(1))
    return model


class Tutorial:
    """The tutorial's losses, optimizers and train_step, its noise given."""

    def __init__(self, generator: keras.Model, discriminator: keras.Model):
        self.generator, self.discriminator = generator, discriminator
        self.cross_entropy = keras.losses.BinaryCrossentropy(from_logits=True)
        self.generator_optimizer = keras.optimizers.Adam(1e-4)
        self.discriminator_optimizer = keras.optimizers.Adam(1e-4)
        self.train_step = tf.function(self._train_step)

    def generator_loss(self, fake_output):
        return self.cross_entropy(tf.ones_like(fake_output), fake_output)

    def discriminator_loss(self, real_output, fake_output):
        real_loss = self.cross_entropy(tf.ones_like(real_output), real_output)
        fake_loss = self.cross_entropy(tf.zeros_like(fake_output), fake_output)
        return real_loss + fake_loss

    def _train_step(self, images, noise):
        generator, discriminator = self.generator, self.discriminator
        with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
            generated_images = generator(noise, training=True)
            real_output = discriminator(images, training=True)
            fake_output = discriminator(generated_images, training=True)
            gen_loss = self.generator_loss(fake_output)
            disc_loss = self.discriminator_loss(real_output, fake_output)
        gradients_of_generator = gen_tape.gradient(gen_loss, generator.trainable_variables)
        gradients_of_discriminator = disc_tape.gradient(disc_loss, discriminator.trainable_variables)
        self.generator_optimizer.apply_gradients(
            zip(gradients_of_generator, generator.trainable_variables, strict=True)
        )
        self.discriminator_optimizer.apply_gradients(
            zip(gradients_of_discriminator, discriminator.trainable_variables, strict=True)
        )
        return {"g_loss": gen_loss, "d_loss": disc_loss}


def batch_norms(generator: torch.nn.Module) -> tuple:
    return (generator.project[1], *generator.upsample[1:7:3])


def copy_weights(generator: keras.Model, discriminator: keras.Model, nets: dict[str, torch.nn.Module]) -> None:
    """Keras' weights (and BatchNorm moving statistics) into the preset's layers: the 7*7*256 features after the
    generator's dense layer and the 7*7*128 before the discriminator's reordered from channels-last to first."""
    ours_g, ours_d = nets["generator"], nets["discriminator"]
    projected = channels_last_index(256, 7)
    with torch.no_grad():
        (dense,) = of_kind(generator, layers.Dense)
        ours_g.project[0].weight.copy_(torch.from_numpy(dense.weights[0].numpy()[:, projected].T.copy()))
        norms = zip(of_kind(generator, layers.BatchNormalization), batch_norms(ours_g), strict=True)
        for index, (layer, norm) in enumerate(norms):
            order = projected if index == 0 else slice(None)
            for target, value in zip(in_keras_order(norm), layer.weights, strict=True):
                target.copy_(torch.from_numpy(value.numpy()[order].copy()))
        for layer, deconv in zip(of_kind(generator, layers.Conv2DTranspose), ours_g.upsample[0:9:3], strict=True):
            copy_convolution(deconv, layer.weights[0].numpy())
        for layer, conv in zip(of_kind(discriminator, layers.Conv2D), ours_d.model[0:4:3], strict=True):
            copy_convolution(conv, *(v.numpy() for v in layer.weights))
        (dense,) = of_kind(discriminator, layers.Dense)
        copy_dense(ours_d.model[-1], dense.weights[0].numpy()[channels_last_index(128, 7)], dense.weights[1].numpy())


def fill(generator: keras.Model, discriminator: keras.Model, nets: dict[str, torch.nn.Module]) -> None:
    """Keras' weights into the preset's networks, the discriminator's dropout off as Keras' is here."""
    copy_weights(generator, discriminator, nets)
    for module in nets["discriminator"].modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0


def statistics_gap(generator: keras.Model, nets: dict[str, torch.nn.Module]) -> float:
    """The largest relative difference between Keras' moving variances and the preset's running ones."""
    order = channels_last_index(256, 7)
    gaps = []
    norms = batch_norms(nets["generator"])
    for index, (layer, norm) in enumerate(zip(of_kind(generator, layers.BatchNormalization), norms, strict=True)):
        theirs = layer.weights[3].numpy()[order if index == 0 else slice(None)]
        gaps.append(np.abs(theirs - norm.running_var.numpy()).max() / np.abs(theirs).max())
    return max(gaps)


def inference_gap(generator: keras.Model, nets: dict[str, torch.nn.Module], noise: torch.Tensor) -> float:
    """The largest difference between the two generators' images in inference mode (as the grids are drawn)."""
    theirs = generator(tf.constant(noise.numpy()), training=False).numpy().transpose(0, 3, 1, 2)
    nets["generator"].eval()
    with torch.no_grad():
        ours = nets["generator"](noise).numpy()
    nets["generator"].train()
    return float(np.abs(theirs - ours).max())


def main() -> None:
    parser = check_arguments(__doc__)
    args = parser.parse_args()
    dtype = chosen_dtype(args)
    keras.backend.set_floatx(str(dtype).removeprefix("torch."))
    tf.keras.utils.set_random_seed(args.seed)
    torch.manual_seed(args.seed)
    print(f"tensorflow {tf.__version__}, Keras {keras_version(tf)}, torch {torch.__version__}, in {dtype}")

    run = config.standalone_run("tf-dcgan", "keras-check", device="cpu")
    batch = run["batch_size"]
    images = training_images(args.train, "tanh", batch, args.steps).to(dtype)
    noises = [torch.randn(batch, NOISE, dtype=dtype) for _ in range(args.steps)]  # the tutorial's normal noise

    generator, discriminator = make_generator_model(), make_discriminator_model(dropout=0.0)
    tutorial = Tutorial(generator, discriminator)
    # step_simultaneous draws its noise with sampling.sample_noise.
    copies = PresetCopies(
        run,
        lambda nets: fill(generator, discriminator, nets),
        {"noise": DrawSite(sampling, "sample_noise")},
        dtype,
        match=match_keras_adam,
    )

    print("per step: Keras / the preset as the workflow trains it / with Keras' Adam")
    print(f"{'step':>4}  {'generator loss':^29}  {'discriminator loss':^29}")
    for t in range(1, args.steps + 1):
        real, noise = images[(t - 1) * batch : t * batch], noises[t - 1]
        theirs = tutorial.train_step(tf.constant(real.permute(0, 2, 3, 1).numpy()), tf.constant(noise.numpy()))
        sides = copies.step({k: float(v) for k, v in theirs.items()}, real, {"noise": [noise]}, t)
        copies.print_step(t, sides, (("g_loss", 9, 6), ("d_loss", 9, 6)))
    fresh = torch.randn(16, NOISE, dtype=dtype)
    for name, nets in copies.nets.items():
        print(
            f"{name}: moving variances {statistics_gap(generator, nets):.3g} apart (relative), images in "
            f"inference mode {inference_gap(generator, nets, fresh):.3g} apart"
        )
    copies.conclude(args.steps, "the tf-dcgan preset does not train as the tutorial does")


if __name__ == "__main__":
    main()
