"""The preset registry: each classic implementation's hyperparameters, in one visible place.

Written one way: a family holds what one source's implementations share (PyTorch-GAN's defaults,
the CS231n assignment's loop, Keras' optimizer defaults, ...), and each preset is its family plus
what its own reference does differently.

Pure Python on purpose: the Snakefile reads it to plan jobs, and importing torch there would cost
seconds on every Snakemake invocation, dry runs included.
"""

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Preset:
    name: str
    reference: str
    kind: str  # "gan" or "vae"
    architecture: str  # key into genzoo.models.ARCHITECTURES
    pixel_range: str  # "tanh": images in [-1, 1]; "sigmoid": images in [0, 1]
    latent_dim: int
    noise: str  # "normal" or "uniform" (on [-1, 1])
    batch_size: int
    epochs: int
    lr_g: float
    lr_d: float | None
    betas: tuple[float, float]  # Adam's
    optimizer_eps: float  # Adam's or RMSprop's epsilon
    update_order: str  # a key of steps.STEPS: g_then_d, d_then_g, d_then_g_same_fake, simultaneous, critic,
    # keras_stacked, vae
    d_loss_scale: float  # 0.5 averages the real and fake terms (PyTorch-GAN), 1.0 sums them (TF)
    n_fixed: int  # size of the fixed-noise batch rendered every epoch
    drop_last: bool = False  # skip the incomplete last batch of an epoch
    full_fake_batch: bool = False  # batch_size fakes even beside the short last batch (TF's fixed noise shape)
    shuffle: bool = True  # a fresh order every pass over the data; False: the data's own order, every pass
    # An epoch of this many optimizer steps, the data going on where the last one stopped (Keras' steps_per_epoch),
    # for references counted in iterations; None: an epoch is one pass over the data.
    steps_per_epoch: int | None = None
    loss: str = "bce"  # GANs: "bce" (non-saturating), "least_squares" or "wasserstein_gp" (update_order "critic")
    n_critic: int = 1  # "critic" order: the generator is updated on every n_critic-th batch
    gp_weight: float = 0.0  # "critic" order: weight of the gradient penalty
    g_loss_scale: float = 1.0  # factor on the generator's loss (CS231n's least squares: 0.5)
    image_size: int = 28  # side of the images the networks make and see; the data are resized to it
    conditional: bool = False  # the networks also take the class label (one sample-grid row per label)
    optimizer: str = "adam"  # or "rmsprop": Keras' (rho 0.9)
    # Adam's implementation: "fused" (one pass over each parameter's tensors, the fastest) or "default" (what
    # torch.optim.Adam picks when a script names none, as the PyTorch references do: in eager steps their arithmetic,
    # bit for bit); None for the RMSprop presets.
    adam: str | None = "fused"
    clip_value: float | None = None  # Keras' clipvalue: each gradient element clipped to [-c, c] before the update
    lr_decay: float = 0.0  # Keras' decay: the learning rate at update t (from 0) is lr / (1 + decay * t)
    vae_loss: str = "elbo"  # "elbo": the negative ELBO; "dlwp2", "dlwp1": each edition's of DLwP (losses.py)
    vae_epsilon_scale: str = "std"  # z = mean + exp(log_var / 2) * eps; "variance": exp(log_var) (DLwP 1st ed.)
    ema: float | None = None  # GANs: decay of a moving average of G's weights, kept and scored beside G (run: +ema)
    # Train with subnormal floats flushed to zero on the CPU, as TensorFlow's CPU kernels and threads do (PyTorch keeps
    # them). The Adam moments of weights whose gradient vanishes (a generator's outputs saturated at black border
    # pixels, the discriminator's weights from those pixels, dead ReLU units) decay into subnormals and stay there; on
    # x86 each operation on one costs about a hundred cycles (docs/measurements.md).
    flush_denormal: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self):
        if self.full_fake_batch and self.update_order in ("critic", "vae"):
            raise ValueError(f"preset {self.name}: update order {self.update_order!r} cannot make a full fake batch")

    def as_dict(self) -> dict:
        return asdict(self)


PYTORCH_GAN = {  # eriklindernoren/PyTorch-GAN's shared argparse defaults and training loop
    "kind": "gan",
    "pixel_range": "tanh",
    "latent_dim": 100,
    "noise": "normal",
    "batch_size": 64,
    "epochs": 200,
    "lr_g": 2e-4,
    "lr_d": 2e-4,
    "betas": (0.5, 0.999),
    "optimizer_eps": 1e-8,
    "update_order": "g_then_d",
    "d_loss_scale": 0.5,  # (real + fake) / 2
    "n_fixed": 25,
}
CS231N = {  # Stanford CS231n assignment 3: one noise, optimizer and loop for its 3 GANs, in both editions
    "kind": "gan",
    "pixel_range": "tanh",  # the assignment's D sees 2 * x - 1
    "latent_dim": 96,
    "noise": "uniform",
    "batch_size": 128,
    "lr_g": 1e-3,
    "lr_d": 1e-3,
    "betas": (0.5, 0.999),
    "update_order": "d_then_g",
    "d_loss_scale": 1.0,
    "n_fixed": 16,
}
CS231N = CS231N | {"shuffle": False}  # both editions visit the digits in file order, every epoch (see below)
CS231N_TF = CS231N | {  # Generative_Adversarial_Networks_TF.ipynb (2019-2020) and its cs231n/gan_tf.py
    "optimizer_eps": 1e-7,  # tf.keras.optimizers.Adam's default
    "flush_denormal": True,  # TensorFlow's CPU arithmetic
    "full_fake_batch": True,  # sample_noise(batch_size, noise_size): 128 fakes beside the last 96 digits
    # (Its MNIST class shuffles an index array it never uses: every epoch is the 60,000 digits in file order.)
}
CS231N_TF_NOTE = (
    "all 60,000 training digits in file order every epoch (its MNIST class never applies its shuffle), "
    "the last batch of 96 kept; Keras defaults (Glorot-uniform kernels, zero biases, Adam eps 1e-7)"
)
CS231N_TORCH = CS231N | {  # GANs-PyTorch.ipynb
    "optimizer_eps": 1e-8,
    # Its loop skips the short last batch (`if len(x) != batch_size: continue`); its ChunkSampler walks the
    # digits in order.
    "drop_last": True,
}
CS231N_TORCH_NOTE = "the PyTorch edition trains on the first 50,000 MNIST training images (datasets: train_subset)"
KERAS = {  # TensorFlow 2 / Keras: Adam's defaults (beta_1 0.9, epsilon 1e-7)
    "latent_dim": 100,
    "noise": "normal",
    "betas": (0.9, 0.999),
    "optimizer_eps": 1e-7,
    "d_loss_scale": 1.0,  # real + fake
    "n_fixed": 16,
    "flush_denormal": True,  # TensorFlow's CPU arithmetic
}
TF1 = {  # TensorFlow 1's AdamOptimizer defaults (epsilon 1e-8)
    "latent_dim": 100,
    "betas": (0.9, 0.999),
    "optimizer_eps": 1e-8,
    "d_loss_scale": 1.0,
    "flush_denormal": True,  # TensorFlow's CPU arithmetic
}
PYTORCH_EXAMPLES = {  # pytorch/examples' dcgan/main.py defaults
    "kind": "gan",
    "pixel_range": "tanh",
    "latent_dim": 100,
    "noise": "normal",
    "batch_size": 64,
    "lr_g": 2e-4,
    "lr_d": 2e-4,
    "betas": (0.5, 0.999),
    "optimizer_eps": 1e-8,
    "d_loss_scale": 1.0,  # errD_real + errD_fake
    "n_fixed": 64,
}
DLWP1 = {  # Deep Learning with Python, 1st edition (Keras 2.0.8): RMSprop with Keras 2.0.8's defaults
    "optimizer": "rmsprop",
    "adam": None,
    "optimizer_eps": 1e-8,  # Keras 2.0.8's RMSprop epsilon (1e-7 from Keras 2.1.3 on)
    "betas": (0.9, 0.999),  # unused by RMSprop
    "d_loss_scale": 1.0,
    "n_fixed": 16,
    "flush_denormal": True,  # TensorFlow's CPU arithmetic
}
RESIZED_32 = "MNIST resized to 32 pixels; scores see the samples resized back to 28"
REFERENCE_ARITHMETIC = "loss: Sigmoid then BCELoss, and torch's default Adam, as the reference computes them"


def preset(family: dict, name: str, reference: str, **differences) -> Preset:
    """A preset: its family's settings, then what its own reference does differently."""
    return Preset(**({"name": name, "reference": reference, "architecture": name} | family | differences))


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in [
        preset(
            PYTORCH_GAN,
            "pytorch-gan",
            "eriklindernoren/PyTorch-GAN implementations/gan/gan.py",
            architecture="mlp-gan",
            # gan.py's nn.Sigmoid + nn.BCELoss and torch.optim.Adam's own pick: its eager step, bit for bit. The
            # logits loss (bce) differs where float32 sigmoid saturates, and with it no run in 9 played gan.py's game
            # (docs/reproductions.md).
            loss="bce_sigmoid",
            adam="default",
            notes=(
                "BatchNorm1d(n, 0.8) sets eps=0.8, kept as in the reference",
                REFERENCE_ARITHMETIC,
            ),
        ),
        preset(
            KERAS,
            "tf-dcgan",
            "TensorFlow tutorial 'Deep Convolutional Generative Adversarial Network'",
            kind="gan",
            pixel_range="tanh",
            batch_size=256,
            epochs=50,
            lr_g=1e-4,
            lr_d=1e-4,
            update_order="simultaneous",
            full_fake_batch=True,  # tf.random.normal([BATCH_SIZE, noise_dim]): 256 fakes beside the last 96 digits
            notes=("Keras defaults: LeakyReLU 0.3, BatchNorm momentum 0.99 / eps 1e-3, glorot-uniform init",),
        ),
        preset(
            KERAS,
            "dlwp-vae",
            "Deep Learning with Python, 2nd ed., chapter 12 (Keras VAE)",
            kind="vae",
            architecture="keras-vae",
            pixel_range="sigmoid",
            latent_dim=2,
            batch_size=128,
            epochs=30,
            lr_g=1e-3,
            lr_d=None,
            update_order="vae",
            vae_loss="dlwp2",
            notes=("loss: per-image summed pixel BCE + the KL's terms averaged (tf.reduce_mean), as the book has it",),
        ),
        preset(
            DLWP1,
            "dlwp1-vae",
            "Deep Learning with Python, 1st ed., section 8.4 (8.4-generating-images-with-vaes.ipynb)",
            kind="vae",
            pixel_range="sigmoid",
            latent_dim=2,
            noise="normal",
            batch_size=16,
            epochs=10,
            lr_g=1e-3,  # optimizer='rmsprop': Keras' default rate
            lr_d=None,
            update_order="vae",
            vae_loss="dlwp1",
            vae_epsilon_scale="variance",  # z = z_mean + K.exp(z_log_var) * epsilon, kept as the book writes it
            notes=(
                "loss: mean pixel BCE - 5e-4 * mean(1 + log_var - mean^2 - exp(log_var))",
                "z = mean + exp(log_var) * eps",
            ),
        ),
        preset(
            DLWP1,
            "dlwp1-gan",
            "Deep Learning with Python, 1st ed., section 8.5 (8.5-introduction-to-gans.ipynb)",
            kind="gan",
            # The book scales its real images to [0, 1] (x / 255) while its generator ends in tanh: kept.
            pixel_range="sigmoid",
            latent_dim=32,
            noise="normal",
            batch_size=20,
            epochs=100,  # 10,000 iterations: 100 epochs of 100 steps, an image saved every 100 as in the book
            steps_per_epoch=100,
            lr_g=4e-4,  # the stacked gan model's RMSprop
            lr_d=8e-4,
            clip_value=1.0,
            lr_decay=1e-8,
            update_order="keras_stacked",
            shuffle=False,  # x_train[start: stop], start wrapping to 0: the data in order
            drop_last=True,  # start resets once fewer than batch_size images are left
            image_size=32,
            notes=("the book trains on CIFAR-10 frogs; here on the configured dataset, resized to 32 pixels",),
        ),
        preset(
            PYTORCH_GAN,
            "pytorch-dcgan",
            "eriklindernoren/PyTorch-GAN implementations/dcgan/dcgan.py",
            image_size=32,
            loss="bce_sigmoid",  # dcgan.py's nn.Sigmoid + nn.BCELoss, as pytorch-gan
            adam="default",
            notes=(RESIZED_32, REFERENCE_ARITHMETIC),
        ),
        preset(
            PYTORCH_GAN,
            "pytorch-lsgan",
            "eriklindernoren/PyTorch-GAN implementations/lsgan/lsgan.py",
            loss="least_squares",  # MSE to 1 / 0; D loss halved like the others
            adam="default",
            image_size=32,
            notes=(RESIZED_32, "torch's default Adam, as the reference calls it"),
        ),
        preset(
            PYTORCH_GAN,
            "pytorch-cgan",
            "eriklindernoren/PyTorch-GAN implementations/cgan/cgan.py",
            n_fixed=100,  # cgan.py's sample_image: a 10 x 10 grid, row = label
            loss="least_squares",  # its adversarial_loss is MSELoss
            image_size=32,
            conditional=True,
            notes=("fakes get uniformly drawn labels; MNIST resized to 32 pixels",),
        ),
        preset(
            PYTORCH_EXAMPLES,
            "examples-dcgan",
            "pytorch/examples dcgan/main.py (nc=1, ngf=ndf=64)",
            epochs=25,
            update_order="d_then_g_same_fake",
            image_size=64,
            loss="bce_sigmoid",  # main.py's nn.Sigmoid + nn.BCELoss
            adam="default",
            notes=("MNIST resized to 64 pixels; scores see the samples resized back to 28", REFERENCE_ARITHMETIC),
        ),
        preset(
            PYTORCH_GAN,
            "pytorch-wgan-gp",
            "eriklindernoren/PyTorch-GAN implementations/wgan_gp/wgan_gp.py",
            architecture="mlp-gan",  # the MLP pair of gan.py; the critic outputs raw scores
            update_order="critic",
            d_loss_scale=1.0,
            loss="wasserstein_gp",
            n_critic=5,
            gp_weight=10.0,
            notes=("interpolation weight alpha ~ U(0, 1) per image",),
        ),
        preset(
            CS231N_TF,
            "cs231n-gan",
            "Stanford CS231n assignment 3, TensorFlow edition (Generative_Adversarial_Networks_TF.ipynb): vanilla GAN",
            architecture="cs231n-tf-mlp",
            epochs=10,
            notes=(CS231N_TF_NOTE,),
        ),
        preset(
            CS231N_TF,
            "cs231n-lsgan",
            "Stanford CS231n assignment 3, TensorFlow edition (Generative_Adversarial_Networks_TF.ipynb): LSGAN",
            architecture="cs231n-tf-mlp",
            epochs=10,
            loss="least_squares",
            d_loss_scale=0.5,  # ls_discriminator_loss: 0.5 * (E[(D(x) - 1)^2] + E[D(G(z))^2])
            g_loss_scale=0.5,  # ls_generator_loss: 0.5 * E[(D(G(z)) - 1)^2]
            notes=(CS231N_TF_NOTE,),
        ),
        preset(
            CS231N_TF,
            "cs231n-dcgan",
            "Stanford CS231n assignment 3, TensorFlow edition (Generative_Adversarial_Networks_TF.ipynb): DCGAN",
            architecture="cs231n-tf-dc",
            epochs=5,
            notes=(
                CS231N_TF_NOTE,
                "run_a_gan calls G(noise) without training=True: its BatchNorm layers use their moving statistics "
                "(mean 0, variance 1, never updated) in training too, kept as in the reference",
            ),
        ),
        preset(
            CS231N_TORCH,
            "cs231n-torch-gan",
            "Stanford CS231n assignment 3, PyTorch edition (GANs-PyTorch.ipynb): vanilla GAN",
            architecture="cs231n-mlp",
            epochs=10,
            notes=(CS231N_TORCH_NOTE,),
        ),
        preset(
            CS231N_TORCH,
            "cs231n-torch-lsgan",
            "Stanford CS231n assignment 3, PyTorch edition (GANs-PyTorch.ipynb): least squares GAN",
            architecture="cs231n-mlp",
            epochs=10,
            loss="least_squares",
            d_loss_scale=0.5,
            g_loss_scale=0.5,
            notes=(CS231N_TORCH_NOTE,),
        ),
        preset(
            CS231N_TORCH,
            "cs231n-torch-dcgan",
            "Stanford CS231n assignment 3, PyTorch edition (GANs-PyTorch.ipynb): deep convolutional GAN",
            architecture="cs231n-dc",
            epochs=5,
            notes=(CS231N_TORCH_NOTE, "Xavier-uniform Linear and ConvTranspose2d weights; BatchNorm after ReLU"),
        ),
        preset(
            TF1,
            "tf-basic-gan",
            "TensorFlow 1 basic GAN (tf.get_variable with xavier_initializer, mb_size 128, Z_dim 100), "
            "the variant of wiseodd/generative-models GAN/vanilla_gan/gan_tensorflow.py",
            kind="gan",
            pixel_range="sigmoid",
            noise="uniform",
            batch_size=128,
            # 1,000,000 iterations of 128 images over TF's 55,000-image MNIST train split.
            epochs=2327,
            lr_g=1e-3,
            lr_d=1e-3,
            update_order="d_then_g",
            n_fixed=16,
            notes=("Glorot-uniform weights (xavier_initializer), zero biases (constant_initializer(0)); TF1's Adam",),
        ),
    ]
}
