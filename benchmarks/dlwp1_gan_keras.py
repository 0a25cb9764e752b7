"""Deep Learning with Python's first-edition GAN (section 8.5) trained step for step by Keras 2.0.8, the Keras the
book ran, and by the `dlwp1-gan` preset, from the same weights, on the same batches (MNIST resized to 32 pixels, one
channel: the preset's data, where the book trains on CIFAR-10's frogs) and the same random numbers. Neither
TensorFlow nor Keras 2.0.8 is a dependency of the workflow: run this where tensorflow (2.x) and the workflow's
requirements are installed, with Keras 2.0.8's wheel beside it (keras_check.import_keras_2_0_8 says how it runs):

    pip download keras==2.0.8 --no-deps -d wheels
    python benchmarks/dlwp1_gan_keras.py --keras wheels/Keras-2.0.8-py2.py3-none-any.whl \
        [--train results/data/mnist/train.pt] [--steps 10] [--seed 0] [--float32]

The Keras side is the book's notebook (8.5-introduction-to-gans.ipynb): its generator, discriminator and stacked
gan, compiled with its two RMSprop optimizers (clipvalue 1, decay 1e-8), and its loop body as written (generator
.predict, discriminator.train_on_batch on [generated, real] with 1 / 0 labels plus 0.05 * U(0, 1), gan.train_on_batch
toward 0), the real images taken in order as its `start` does. The random numbers are the preset's, handed to both:
the two latent draws, the label noise, and the keep masks of the discriminator's Dropout(0.4) (one for the
discriminator's step, one for the gan's: its dropout is on there too), which the Keras side reads from a variable
instead of drawing them. One departure from the book's initial weights: the biases start at U(-1e-3, 1e-3), not
0 (--zero-biases keeps 0). Keras 2.0.8's LeakyReLU is relu(x) - 0.3 * relu(-x), whose gradient at exactly 0 is 0
where PyTorch's (and TensorFlow 2's) is 0.3; with zero biases the background of the real digits (pixels of exactly 0)
puts the discriminator's first three layers there, and their bias gradients differ at step 1 by up to 1e-2 (kernel
gradients agree to 1e-18: a zero patch adds nothing to them). After step 1 no bias is 0 and the kink is out of reach
of either side, so this moves nothing in the preset's training but its first step's few biases; the check starts
where both sides agree on every gradient. Printed: each step's two losses, Keras' beside the preset's as the
workflow trains it. Both sides run in float64 unless --float32 (float32 GAN runs part by rounding alone;
cs231n_tf_keras.py says why). It exits non-zero when the losses differ from Keras' by more than 1e-5 in float64
(1e-3 in float32; relative, or absolute below 1).
"""

import numpy as np
import torch
from keras_check import (
    DROPOUT,
    DrawSite,
    PresetCopies,
    channels_last_index,
    check_arguments,
    copy_convolution,
    copy_dense,
    import_tensorflow,
    start_keras_2_0_8,
    training_images,
)

import_tensorflow()  # at once, to say what to install where it is missing

from genzoo import config, data, sampling  # noqa: E402  (keras_check puts it on sys.path)

LATENT, SIZE, CHANNELS = 32, 32, 1
FEATURES = 2 * 2 * 128  # what the discriminator's Dropout sees


def book_models(keras, masks) -> tuple[dict, object, object, object]:
    """The notebook's generator, discriminator and gan (compiled as it compiles them), its Dropout reading keep
    masks from a variable (rows as many as the batch). Returns the layers with weights by name and the models."""
    from keras import backend as K
    from keras import layers

    latent_dim, height, width, channels = LATENT, SIZE, SIZE, CHANNELS
    named = {}

    class GivenMaskDropout(layers.Dropout):
        """Dropout(rate) keeping what the mask variable's first rows keep, scaled by 1 / (1 - rate) (TensorFlow's own
        dropout divides by the keep rate: the same to a rounding)."""

        def call(self, inputs, training=None):
            kept = masks[: K.shape(inputs)[0]]
            return K.in_train_phase(lambda: inputs * (1 / (1 - self.rate)) * kept, inputs, training=training)

    generator_input = keras.Input(shape=(latent_dim,))
    named["project"] = layers.Dense(128 * 16 * 16)
    x = named["project"](generator_input)
    x = layers.LeakyReLU()(x)
    x = layers.Reshape((16, 16, 128))(x)
    named["g1"] = layers.Conv2D(256, 5, padding="same")
    x = layers.LeakyReLU()(named["g1"](x))
    named["g2"] = layers.Conv2DTranspose(256, 4, strides=2, padding="same")
    x = layers.LeakyReLU()(named["g2"](x))
    named["g3"] = layers.Conv2D(256, 5, padding="same")
    x = layers.LeakyReLU()(named["g3"](x))
    named["g4"] = layers.Conv2D(256, 5, padding="same")
    x = layers.LeakyReLU()(named["g4"](x))
    named["g5"] = layers.Conv2D(channels, 7, activation="tanh", padding="same")
    x = named["g5"](x)
    generator = keras.models.Model(generator_input, x)

    discriminator_input = layers.Input(shape=(height, width, channels))
    named["d1"] = layers.Conv2D(128, 3)
    x = layers.LeakyReLU()(named["d1"](discriminator_input))
    named["d2"] = layers.Conv2D(128, 4, strides=2)
    x = layers.LeakyReLU()(named["d2"](x))
    named["d3"] = layers.Conv2D(128, 4, strides=2)
    x = layers.LeakyReLU()(named["d3"](x))
    named["d4"] = layers.Conv2D(128, 4, strides=2)
    x = layers.LeakyReLU()(named["d4"](x))
    x = layers.Flatten()(x)
    x = GivenMaskDropout(0.4)(x)  # the book: layers.Dropout(0.4)
    named["logit"] = layers.Dense(1, activation="sigmoid")
    x = named["logit"](x)
    discriminator = keras.models.Model(discriminator_input, x)
    discriminator_optimizer = keras.optimizers.RMSprop(lr=0.0008, clipvalue=1.0, decay=1e-8)
    discriminator.compile(optimizer=discriminator_optimizer, loss="binary_crossentropy")

    discriminator.trainable = False
    gan_input = keras.Input(shape=(latent_dim,))
    gan_output = discriminator(generator(gan_input))
    gan = keras.models.Model(gan_input, gan_output)
    gan_optimizer = keras.optimizers.RMSprop(lr=0.0004, clipvalue=1.0, decay=1e-8)
    gan.compile(optimizer=gan_optimizer, loss="binary_crossentropy")
    return named, generator, discriminator, gan


def copy_weights(named: dict, nets: dict[str, torch.nn.Module]) -> None:
    """Keras' weights into the preset's layers: convolution kernels by torch_kernel, dense kernels transposed, the
    16*16*128 features after the generator's Dense and the 2*2*128 before the discriminator's reordered from
    channels-last to channels-first."""
    generator, discriminator = nets["generator"], nets["discriminator"]
    kernel, bias = named["project"].get_weights()
    order = channels_last_index(128, 16)
    copy_dense(generator.project[0], kernel[:, order], bias[order])
    convolutions = [(f"g{i}", layer) for i, layer in enumerate(generator.model[0:10:2], 1)]
    convolutions += [(f"d{i}", layer) for i, layer in enumerate(discriminator.model[0:8:2], 1)]
    for name, ours in convolutions:
        copy_convolution(ours, *named[name].get_weights())
    kernel, bias = named["logit"].get_weights()
    copy_dense(discriminator.model[10], kernel[channels_last_index(128, 2)], bias)


def main() -> None:
    parser = check_arguments(__doc__, keras_wheel=True)
    parser.set_defaults(steps=10)  # a step is some 25 GFLOP a side: float64 on two cores takes seconds
    parser.add_argument(
        "--zero-biases", action="store_true", help="start from the book's zero biases (both sides part at step 1)"
    )
    args = parser.parse_args()
    keras, dtype = start_keras_2_0_8(args)
    from keras import backend as K

    run = config.standalone_run("dlwp1-gan", "keras-check", device="cpu")
    batch = run["batch_size"]
    images = data.resized(training_images(args.train, run["pixel_range"], batch, args.steps), SIZE).to(dtype)
    masks = K.variable(np.ones((2 * batch, FEATURES)))
    named, generator, discriminator, gan = book_models(keras, masks)
    # step_keras_stacked draws its two latent batches with sampling.sample_noise, the label noise with torch.rand,
    # and its discriminator's dropout masks in F.dropout.
    sites = {"noise": DrawSite(sampling, "sample_noise"), "label noise": DrawSite(torch, "rand"), "masks": DROPOUT}
    if not args.zero_biases:
        for layer in named.values():
            kernel, bias = layer.get_weights()
            layer.set_weights([kernel, np.random.uniform(-1e-3, 1e-3, bias.shape)])
    fill = lambda nets: copy_weights(named, nets)  # noqa: E731
    copies = PresetCopies(run, fill, sites, dtype, reference="Keras 2.0.8's")
    to_keras = torch.from_numpy(channels_last_index(128, 2)).argsort()  # Keras' feature j is the preset's to_keras[j]

    print(f"in {dtype}")
    print("per step: Keras 2.0.8 / " + " / ".join(f"the preset {name}" for name in copies.names))
    print(f"{'step':>4}  {'discriminator loss':^{10 * len(copies.names) + 9}}  {'gan (generator) loss':^20}")
    for t in range(1, args.steps + 1):
        real = images[(t - 1) * batch : t * batch]  # x_train[start: stop], in order
        noises = [torch.randn(batch, LATENT, dtype=dtype) for _ in range(2)]
        label_noise = torch.rand(2 * batch, 1, dtype=dtype)
        kept = [(torch.rand(n, FEATURES) >= 0.4).to(dtype) for n in (2 * batch, batch)]  # the preset's layout

        generated_images = generator.predict(noises[0].numpy())
        combined_images = np.concatenate([generated_images, real.permute(0, 2, 3, 1).numpy()])
        labels = np.concatenate([np.ones((batch, 1)), np.zeros((batch, 1))])
        labels += 0.05 * label_noise.numpy()
        K.set_value(masks, kept[0][:, to_keras].numpy())
        d_loss = discriminator.train_on_batch(combined_images, labels)
        K.set_value(masks, torch.cat([kept[1], kept[1]])[:, to_keras].numpy())
        a_loss = gan.train_on_batch(noises[1].numpy(), np.zeros((batch, 1)))

        theirs = {"d_loss": float(d_loss), "g_loss": float(a_loss)}
        drawn = {"noise": noises, "label noise": [label_noise], "masks": kept}
        sides = copies.step(theirs, real, drawn, t)
        copies.print_step(t, sides, (("d_loss", 9, 6), ("g_loss", 9, 6)))
    copies.conclude(args.steps, "the preset does not train as the book's first-edition GAN does")


if __name__ == "__main__":
    main()
