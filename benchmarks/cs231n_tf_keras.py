"""CS231n's TensorFlow-edition vanilla GAN and LSGAN trained step for step by Keras itself, as the notebook's
run_a_gan trains them, and by the `cs231n-gan` and `cs231n-lsgan` presets, from the same weights, on the same
batches and the same noise. TensorFlow is no dependency of the workflow: run this where both tensorflow (2.x, with
Keras 3, or Keras 2 through tf-keras and TF_USE_LEGACY_KERAS=1) and the workflow's requirements are installed:

    python benchmarks/cs231n_tf_keras.py [--train results/data/mnist/train.pt] [--steps 20] [--seed 0]
        [--preset cs231n-gan cs231n-lsgan] [--float32]

The Keras side is the notebook (Generative_Adversarial_Networks_TF.ipynb with cs231n/gan_tf.py, 2019-2020) where it
is given, and what it asks for where the student writes it: the discriminator Dense 256, LeakyReLU(0.01), Dense 256,
LeakyReLU(0.01), Dense 1; the generator Dense 1024 ReLU, Dense 1024 ReLU, Dense 784 tanh; Keras' default
initializers; the losses from logits (BinaryCrossentropy's mean) or on raw scores (the least-squares halves);
get_solvers' Adam(1e-3, beta_1=0.5) for each network; and run_a_gan's loop body as given: a discriminator step on
preprocess_img(x) = 2x - 1 and G(noise), then a generator step through the updated discriminator on fresh noise.
Both sides get the same two noises a step, uniform on [-1, 1] as sample_noise draws them, in the check's dtype. Two
copies of each preset train beside Keras (keras_check.PresetCopies): one as the workflow trains it
(steps.step_discriminator_first), one whose Adam takes Keras' steps (keras_check.match_keras_adam). Both sides run
in float64 unless --float32: in float32 two GAN runs at this rate part within ten steps whatever their code, as soon
as rounding moves the input of a LeakyReLU to the other side of its kink, so only float64 can tell the code's
departures from rounding. It exits non-zero when a matched copy's losses differ from Keras' by more than 1e-5 in
float64 (1e-3 in float32; relative, or absolute below 1).
"""

import torch
from keras_check import (
    DrawSite,
    PresetCopies,
    check_arguments,
    chosen_dtype,
    copy_dense,
    import_tensorflow,
    keras_version,
    linears,
    match_keras_adam,
    of_kind,
    training_images,
)

tf = import_tensorflow()

from genzoo import config, sampling  # noqa: E402  (keras_check puts it on sys.path)

keras, layers = tf.keras, tf.keras.layers
NOISE = 96
PRESETS = ("cs231n-gan", "cs231n-lsgan")


def discriminator() -> keras.Model:
    return keras.Sequential(
        [
            keras.Input(shape=(784,)),
            layers.Dense(256),
            layers.LeakyReLU(0.01),
            layers.Dense(256),
            layers.LeakyReLU(0.01),
            layers.Dense(1),
        ]
    )


def generator() -> keras.Model:
    return keras.Sequential(
        [
            keras.Input(shape=(NOISE,)),
            layers.Dense(1024, activation="relu"),
            layers.Dense(1024, activation="relu"),
            layers.Dense(784, activation="tanh"),
        ]
    )


def gan_losses():
    cross_entropy = keras.losses.BinaryCrossentropy(from_logits=True)

    def discriminator_loss(logits_real, logits_fake):
        real = cross_entropy(tf.ones_like(logits_real), logits_real)
        return real + cross_entropy(tf.zeros_like(logits_fake), logits_fake)

    def generator_loss(logits_fake):
        return cross_entropy(tf.ones_like(logits_fake), logits_fake)

    return discriminator_loss, generator_loss


def ls_losses():
    def ls_discriminator_loss(scores_real, scores_fake):
        return 0.5 * tf.reduce_mean(tf.square(scores_real - 1)) + 0.5 * tf.reduce_mean(tf.square(scores_fake))

    def ls_generator_loss(scores_fake):
        return 0.5 * tf.reduce_mean(tf.square(scores_fake - 1))

    return ls_discriminator_loss, ls_generator_loss


LOSSES = {"cs231n-gan": gan_losses, "cs231n-lsgan": ls_losses}


class Notebook:
    """run_a_gan's loop body, eagerly as the notebook runs it, its two noises given."""

    def __init__(self, preset: str, batch: int):
        self.D, self.G, self.batch = discriminator(), generator(), batch
        self.discriminator_loss, self.generator_loss = LOSSES[preset]()
        self.D_solver = keras.optimizers.Adam(1e-3, beta_1=0.5)
        self.G_solver = keras.optimizers.Adam(1e-3, beta_1=0.5)

    def train_step(self, x, d_noise, g_noise) -> dict[str, float]:
        D, G, batch = self.D, self.G, self.batch
        with tf.GradientTape() as tape:
            logits_real = D(2 * x - 1.0)
            fake_images = G(d_noise)
            logits_fake = D(tf.reshape(fake_images, [batch, 784]))
            d_total_error = self.discriminator_loss(logits_real, logits_fake)
            d_gradients = tape.gradient(d_total_error, D.trainable_variables)
            self.D_solver.apply_gradients(zip(d_gradients, D.trainable_variables, strict=True))
        with tf.GradientTape() as tape:
            fake_images = G(g_noise)
            gen_logits_fake = D(tf.reshape(fake_images, [batch, 784]))
            g_error = self.generator_loss(gen_logits_fake)
            g_gradients = tape.gradient(g_error, G.trainable_variables)
            self.G_solver.apply_gradients(zip(g_gradients, G.trainable_variables, strict=True))
        return {"g_loss": float(g_error), "d_loss": float(d_total_error)}

    def fill(self, nets: dict[str, torch.nn.Module]) -> None:
        """Keras' weights into the preset's Linear layers (the images are one channel: both flatten alike)."""
        for model, name in ((self.G, "generator"), (self.D, "discriminator")):
            for dense, linear in zip(of_kind(model, layers.Dense), linears(nets[name]), strict=True):
                copy_dense(linear, *(v.numpy() for v in dense.weights))


def check(preset: str, images: torch.Tensor, steps: int, dtype: torch.dtype) -> PresetCopies:
    run = config.standalone_run(preset, "keras-check", device="cpu")
    batch = run["batch_size"]
    notebook = Notebook(preset, batch)
    # step_discriminator_first draws its two noises with sampling.sample_noise.
    copies = PresetCopies(run, notebook.fill, {"noise": DrawSite(sampling, "sample_noise")}, dtype, match_keras_adam)
    print(f"{preset}, per step: Keras / the preset as the workflow trains it / with Keras' Adam")
    print(f"{'step':>4}  {'generator loss':^29}  {'discriminator loss':^29}")
    for t in range(1, steps + 1):
        real = images[(t - 1) * batch : t * batch]  # images in [-1, 1]: the notebook's x is (real + 1) / 2
        noises = [torch.rand(batch, NOISE, dtype=dtype) * 2 - 1 for _ in range(2)]  # sample_noise's uniform
        x = tf.constant(((real.reshape(batch, 784) + 1) / 2).numpy())
        theirs = notebook.train_step(x, *(tf.constant(noise.numpy()) for noise in noises))
        sides = copies.step(theirs, real, {"noise": noises}, t)
        copies.print_step(t, sides, (("g_loss", 9, 6), ("d_loss", 9, 6)))
    return copies


def main() -> None:
    parser = check_arguments(__doc__)
    parser.add_argument("--preset", nargs="+", choices=PRESETS, default=list(PRESETS))
    args = parser.parse_args()
    dtype = chosen_dtype(args)
    keras.backend.set_floatx(str(dtype).removeprefix("torch."))
    tf.keras.utils.set_random_seed(args.seed)
    torch.manual_seed(args.seed)
    print(f"tensorflow {tf.__version__}, Keras {keras_version(tf)}, torch {torch.__version__}")

    print(f"in {dtype}")
    batch = config.standalone_run(PRESETS[0], "keras-check", device="cpu")["batch_size"]  # both presets': 128
    images = training_images(args.train, "tanh", batch, args.steps).to(dtype)
    failed = [preset for preset in args.preset if not check(preset, images, args.steps, dtype).report(args.steps)]
    if failed:
        raise SystemExit(f"{', '.join(failed)}: does not train as the notebook's run_a_gan does")


if __name__ == "__main__":
    main()
