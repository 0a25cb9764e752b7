"""The GANs of Stanford CS231n's GAN assignment (GANs-PyTorch): the MLP pair and the DCGAN pair."""

import torch
from torch import nn


class MLPGenerator(nn.Module):
    """noise_dim -> 1024 ReLU -> 1024 ReLU -> 784 Tanh."""

    def __init__(self, noise_dim: int = 96):
        super().__init__()
        self.model = nn.Sequential(
            nn.Linear(noise_dim, 1024),
            nn.ReLU(),
            nn.Linear(1024, 1024),
            nn.ReLU(),
            nn.Linear(1024, 784),
            nn.Tanh(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.model(z).view(z.shape[0], 1, 28, 28)


class MLPDiscriminator(nn.Module):
    """784 -> 256 LeakyReLU(0.01) -> 256 LeakyReLU(0.01) -> 1 logit."""

    def __init__(self):
        super().__init__()
        self.model = nn.Sequential(
            nn.Flatten(),
            nn.Linear(784, 256),
            nn.LeakyReLU(0.01),
            nn.Linear(256, 256),
            nn.LeakyReLU(0.01),
            nn.Linear(256, 1),
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.model(images)


def xavier_uniform_weights(module: nn.Module) -> None:
    """The assignment's initialize_weights: Xavier-uniform for Linear and ConvTranspose2d weights only."""
    if isinstance(module, nn.Linear | nn.ConvTranspose2d):
        nn.init.xavier_uniform_(module.weight)


class DCGenerator(nn.Module):
    """FC 1024 ReLU BN -> FC 7*7*128 ReLU BN -> ConvT 64 (4, s2, p1) ReLU BN -> ConvT 1 (4, s2, p1) Tanh.

    BatchNorm after the ReLU, as in the assignment.
    """

    def __init__(self, noise_dim: int = 96):
        super().__init__()
        self.model = nn.Sequential(
            nn.Linear(noise_dim, 1024),
            nn.ReLU(),
            nn.BatchNorm1d(1024),
            nn.Linear(1024, 7 * 7 * 128),
            nn.ReLU(),
            nn.BatchNorm1d(7 * 7 * 128),
            nn.Unflatten(1, (128, 7, 7)),
            nn.ConvTranspose2d(128, 64, 4, stride=2, padding=1),
            nn.ReLU(),
            nn.BatchNorm2d(64),
            nn.ConvTranspose2d(64, 1, 4, stride=2, padding=1),
            nn.Tanh(),
        )
        self.apply(xavier_uniform_weights)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.model(z)


class DCDiscriminator(nn.Module):
    """Conv 32 (5x5) LReLU MaxPool -> Conv 64 (5x5) LReLU MaxPool -> FC 1024 LReLU -> FC 1 (LeakyReLU 0.01)."""

    def __init__(self):
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
        self.apply(xavier_uniform_weights)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.model(images)


def build_mlp(latent_dim: int) -> dict[str, nn.Module]:
    return {"generator": MLPGenerator(latent_dim), "discriminator": MLPDiscriminator()}


def build_dc(latent_dim: int) -> dict[str, nn.Module]:
    return {"generator": DCGenerator(latent_dim), "discriminator": DCDiscriminator()}
