"""Deep Learning with Python's first-edition VAE (section 8.4) trained step for step by Keras 2.0.8, the Keras the
book ran, and by the `dlwp1-vae` preset, from the same weights, on the same batches and the same draws of epsilon.
Neither TensorFlow nor Keras 2.0.8 is a dependency of the workflow: run this where tensorflow (2.x: Keras 2.0.8 runs
on its tf.compat.v1 graph mode, keras_check.import_keras_2_0_8 says how) and the workflow's requirements are
installed, with Keras 2.0.8's wheel beside it:

    pip download keras==2.0.8 --no-deps -d wheels
    python benchmarks/dlwp1_vae_keras.py --keras wheels/Keras-2.0.8-py2.py3-none-any.whl \
        [--train results/data/mnist/train.pt] [--steps 20] [--seed 0] [--float32]

The Keras side is the book's notebook (8.4-generating-images-with-vaes.ipynb): its encoder, sampling Lambda,
decoder, CustomVariationalLayer and vae.compile(optimizer='rmsprop', loss=None) as written, trained batch by batch
as fit trains it, but for one change: sampling takes each step's epsilon from a variable set to the preset's random
numbers instead of drawing K.random_normal itself, so that both sides see the same draws. Each step's loss, mean
pixel cross-entropy and KL term (the layer's two parts, read in a forward pass before the step) are printed side by
side, Keras' beside the preset's as the workflow trains it. Both sides run in float64 unless --float32 (in float32
Keras 2.0.8's rho is a float32 variable, so its average takes in 1 - float32(0.9) = 0.100000024 of each squared
gradient where torch's takes 0.1: a difference below float32's rounding over these steps, which the preset does not
copy). It exits non-zero when the losses differ from Keras' by more than 1e-5 in float64 (1e-3 in float32; relative,
or absolute below 1).
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
    start_keras_2_0_8,
    training_images,
)

import_tensorflow()  # at once, to say what to install where it is missing

from genzoo import config  # noqa: E402  (keras_check puts it on sys.path)

LATENT = 2
LOSS_COLUMNS = (("loss", 9, 6), ("reconstruction", 9, 6), ("kl", 10, 7))  # name, width, decimals


def book_vae(keras, epsilon) -> tuple[dict, object, tuple]:
    """The notebook's model, its sampling reading epsilon (a Keras variable) instead of drawing it. Returns the layers
    with weights by name, the compiled vae, and the loss layer's two parts (tensors of the vae's input)."""
    from keras import backend as K
    from keras import layers
    from keras.models import Model

    img_shape = (28, 28, 1)
    latent_dim = LATENT
    named = {}
    input_img = keras.Input(shape=img_shape)
    named["conv1"] = layers.Conv2D(32, 3, padding="same", activation="relu")
    named["conv2"] = layers.Conv2D(64, 3, padding="same", activation="relu", strides=(2, 2))
    named["conv3"] = layers.Conv2D(64, 3, padding="same", activation="relu")
    named["conv4"] = layers.Conv2D(64, 3, padding="same", activation="relu")
    x = named["conv4"](named["conv3"](named["conv2"](named["conv1"](input_img))))
    shape_before_flattening = K.int_shape(x)
    x = layers.Flatten()(x)
    named["dense"] = layers.Dense(32, activation="relu")
    x = named["dense"](x)
    named["z_mean"], named["z_log_var"] = layers.Dense(latent_dim), layers.Dense(latent_dim)
    z_mean, z_log_var = named["z_mean"](x), named["z_log_var"](x)

    def sampling(args):
        z_mean, z_log_var = args
        return z_mean + K.exp(z_log_var) * epsilon  # the book: K.random_normal(shape=(K.shape(z_mean)[0], latent_dim))

    z = layers.Lambda(sampling)([z_mean, z_log_var])

    decoder_input = layers.Input(K.int_shape(z)[1:])
    named["project"] = layers.Dense(int(np.prod(shape_before_flattening[1:])), activation="relu")
    x = layers.Reshape(shape_before_flattening[1:])(named["project"](decoder_input))
    named["upsample"] = layers.Conv2DTranspose(32, 3, padding="same", activation="relu", strides=(2, 2))
    named["output"] = layers.Conv2D(1, 3, padding="same", activation="sigmoid")
    decoder = Model(decoder_input, named["output"](named["upsample"](x)))
    z_decoded = decoder(z)

    class CustomVariationalLayer(keras.layers.Layer):
        def vae_loss(self, x, z_decoded):
            x = K.flatten(x)
            z_decoded = K.flatten(z_decoded)
            xent_loss = keras.metrics.binary_crossentropy(x, z_decoded)
            kl_loss = -5e-4 * K.mean(1 + z_log_var - K.square(z_mean) - K.exp(z_log_var), axis=-1)
            self.parts = (xent_loss, K.mean(kl_loss))  # kept to print, as the preset's step returns them
            return K.mean(xent_loss + kl_loss)

        def call(self, inputs):
            x = inputs[0]
            z_decoded = inputs[1]
            loss = self.vae_loss(x, z_decoded)
            self.add_loss(loss, inputs=inputs)
            return x

    loss_layer = CustomVariationalLayer()
    y = loss_layer([input_img, z_decoded])
    vae = Model(input_img, y)
    vae.compile(optimizer="rmsprop", loss=None)
    return named, vae, K.function([input_img], list(loss_layer.parts))


def copy_weights(named: dict, nets: dict[str, torch.nn.Module]) -> None:
    """Keras' weights into the preset's layers: convolution kernels by torch_kernel, dense kernels transposed, and
    the 14*14*64 features on either side of Flatten/Reshape reordered from channels-last to channels-first."""
    order = channels_last_index(64, 14)
    encoder, decoder = nets["encoder"], nets["generator"]
    for name, ours in zip(("conv1", "conv2", "conv3", "conv4"), encoder.features[0:8:2], strict=True):
        copy_convolution(ours, *named[name].get_weights())
    kernel, bias = named["dense"].get_weights()
    copy_dense(encoder.features[9], kernel[order], bias)
    for name in ("z_mean", "z_log_var"):
        copy_dense(getattr(encoder, name), *named[name].get_weights())
    kernel, bias = named["project"].get_weights()
    copy_dense(decoder.project[0], kernel[:, order], bias[order])
    for name, ours in zip(("upsample", "output"), decoder.upsample[0:4:2], strict=True):
        copy_convolution(ours, *named[name].get_weights())


def main() -> None:
    parser = check_arguments(__doc__, keras_wheel=True)
    args = parser.parse_args()
    keras, dtype = start_keras_2_0_8(args)
    from keras import backend as K

    run = config.standalone_run("dlwp1-vae", "keras-check", device="cpu")
    batch = run["batch_size"]
    images = training_images(args.train, "sigmoid", batch, args.steps).to(dtype)
    epsilons = [torch.randn(batch, LATENT, dtype=dtype) for _ in range(args.steps)]

    epsilon = K.variable(np.zeros((batch, LATENT)))
    named, vae, parts = book_vae(keras, epsilon)
    # step_vae draws its epsilon with torch.randn_like(z_mean).
    sites = {"epsilon": DrawSite(torch, "randn_like")}
    fill = lambda nets: copy_weights(named, nets)  # noqa: E731
    copies = PresetCopies(run, fill, sites, dtype, reference="Keras 2.0.8's")
    print(f"in {dtype}")

    print("per step: Keras 2.0.8 / " + " / ".join(f"the preset {name}" for name in copies.names))
    print(f"{'step':>4}  {'total loss':^19}  {'pixel cross-entropy':^19}  {'KL term':^21}")
    for t in range(1, args.steps + 1):
        real = images[(t - 1) * batch : t * batch]
        K.set_value(epsilon, epsilons[t - 1].numpy())
        x = real.permute(0, 2, 3, 1).numpy()  # (N, 28, 28, 1), as the notebook reshapes x_train
        reconstruction, kl = parts([x])
        loss = vae.train_on_batch(x, None)
        theirs = {"loss": float(loss), "reconstruction": float(reconstruction), "kl": float(kl)}
        sides = copies.step(theirs, real, {"epsilon": [epsilons[t - 1]]}, t)
        copies.print_step(t, sides, LOSS_COLUMNS)
    copies.conclude(args.steps, "the preset does not train as the book's first-edition VAE does")


if __name__ == "__main__":
    main()
