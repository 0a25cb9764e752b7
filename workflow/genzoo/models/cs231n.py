"""The GANs of Stanford CS231n's GAN assignment: the MLP pair and the DCGAN pair, in its two editions.

The layers are the same in both. The TensorFlow edition (Generative_Adversarial_Networks_TF.ipynb, cs231n/gan_tf.py)
leaves every layer at Keras' defaults (Glorot-uniform kernels, zero biases, BatchNormalization with eps 1e-3), and
its run_a_gan calls the generator as G(noise), without training=True, so its BatchNorm layers run on their moving
statistics. The PyTorch edition (GANs-PyTorch.ipynb) uses PyTorch's defaults, Xavier-uniform for Linear and
ConvTranspose2d weights of the DCGAN, and BatchNorm on batch statistics.
"""

from typing import Literal

import torch
from torch import nn

from .keras_layers import keras_batch_norm, keras_init_

Edition = Literal["tf", "torch"]
EDITIONS = ("tf", "torch")


class MLPGenerator(nn.Module):
    """noise_dim -> 1024 ReLU -> 1024 ReLU -> 784 Tanh."""

    def __init__(self, noise_dim: int = 96, edition: Edition = "torch"):
        super().__init__()
        self.model = nn.Sequential(
            nn.Linear(noise_dim, 1024),
            nn.ReLU(),
            nn.Linear(1024, 1024),
            nn.ReLU(),
            nn.Linear(1024, 784),
            nn.Tanh(),
        )
        if edition == "tf":  # the PyTorch edition leaves the MLPs at PyTorch's defaults
            keras_init_(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.model(z).view(z.shape[0], 1, 28, 28)


class MLPDiscriminator(nn.Module):
    """784 -> 256 LeakyReLU(0.01) -> 256 LeakyReLU(0.01) -> 1 logit."""

    def __init__(self, edition: Edition = "torch"):
        super().__init__()
        self.model = nn.Sequential(
            nn.Flatten(),
            nn.Linear(784, 256),
            nn.LeakyReLU(0.01),
            nn.Linear(256, 256),
            nn.LeakyReLU(0.01),
            nn.Linear(256, 1),
        )
        if edition == "tf":  # the PyTorch edition leaves the MLPs at PyTorch's defaults
            keras_init_(self)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.model(images)


def xavier_uniform_weights(module: nn.Module) -> None:
    """The PyTorch edition's initialize_weights: Xavier-uniform for Linear and ConvTranspose2d weights only."""
    if isinstance(module, nn.Linear | nn.ConvTranspose2d):
        nn.init.xavier_uniform_(module.weight)


def initialize(module: nn.Module, edition: Edition) -> None:
    """The DCGAN pair's initialization: Keras' defaults (tf), or initialize_weights over PyTorch's (torch)."""
    assert edition in EDITIONS, edition
    if edition == "tf":
        keras_init_(module)
    else:
        module.apply(xavier_uniform_weights)


def batch_norm(num_features: int, dims: int, edition: Edition) -> nn.Module:
    """Keras' layer as run_a_gan runs it, on its moving statistics (tf), or PyTorch's on batch statistics (torch)."""
    assert edition in EDITIONS, edition
    if edition == "tf":
        return keras_batch_norm(num_features, dims, moving_statistics=True)
    return nn.BatchNorm1d(num_features) if dims == 1 else nn.BatchNorm2d(num_features)


class DCGenerator(nn.Module):
    """FC 1024 ReLU BN -> FC 7*7*128 ReLU BN -> ConvT 64 (4, s2, p1) ReLU BN -> ConvT 1 (4, s2, p1) Tanh.

    BatchNorm after the ReLU, as in the assignment. A 4x4 stride-2 transposed convolution with padding 1 is
    TensorFlow's 'same' one too (both keep pixels 1..14 of the full 16).
    """

    def __init__(self, noise_dim: int = 96, edition: Edition = "torch"):
        super().__init__()
        self.model = nn.Sequential(
            nn.Linear(noise_dim, 1024),
            nn.ReLU(),
            batch_norm(1024, 1, edition),
            nn.Linear(1024, 7 * 7 * 128),
            nn.ReLU(),
            batch_norm(7 * 7 * 128, 1, edition),
            nn.Unflatten(1, (128, 7, 7)),
            nn.ConvTranspose2d(128, 64, 4, stride=2, padding=1),
            nn.ReLU(),
            batch_norm(64, 2, edition),
            nn.ConvTranspose2d(64, 1, 4, stride=2, padding=1),
            nn.Tanh(),
        )
        initialize(self, edition)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.model(z)


class DCDiscriminator(nn.Module):
    """Conv 32 (5x5) LReLU MaxPool -> Conv 64 (5x5) LReLU MaxPool -> FC 1024 LReLU -> FC 1 (LeakyReLU 0.01)."""

    def __init__(self, edition: Edition = "torch"):
        super().__init__()
        self.model = nn.Sequential(
            nn.Conv2d(1, 32, 5),
            nn.LeakyReLU(0.01),
            nn.MaxPool2d(2, 2),
            nn.Conv2d(32, 64, 5),
            nn.LeakyReLU(0.01),
            nn.MaxPool2d(2, 2),
            nn.Flatten(),
            nn.Linear(4 * 4 * 64, 1024),
            nn.LeakyReLU(0.01),
            nn.Linear(1024, 1),
        )
        initialize(self, edition)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.model(images)


def build_mlp(latent_dim: int, edition: Edition = "torch") -> dict[str, nn.Module]:
    return {"generator": MLPGenerator(latent_dim, edition), "discriminator": MLPDiscriminator(edition)}


def build_dc(latent_dim: int, edition: Edition = "torch") -> dict[str, nn.Module]:
    return {"generator": DCGenerator(latent_dim, edition), "discriminator": DCDiscriminator(edition)}


def build_tf_mlp(latent_dim: int) -> dict[str, nn.Module]:
    return build_mlp(latent_dim, "tf")


def build_tf_dc(latent_dim: int) -> dict[str, nn.Module]:
    return build_dc(latent_dim, "tf")
