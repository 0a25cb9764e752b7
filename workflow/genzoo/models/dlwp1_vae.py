"""The convolutional VAE of Deep Learning with Python, first edition (section 8.4,
8.4-generating-images-with-vaes.ipynb), 2-D latent space. Its sampling and loss are the preset's
(vae_epsilon_scale "variance", vae_loss "dlwp1")."""

import torch
from torch import nn

from .keras_layers import SameConv2d, SameConvTranspose2d, keras_init_


class VAEEncoder(nn.Module):
    """Conv 32 -> Conv 64 stride 2 -> Conv 64 -> Conv 64 (3x3, 'same', ReLU) -> Dense 32 ReLU -> z_mean, z_log_var."""

    def __init__(self, latent_dim: int = 2):
        super().__init__()
        self.features = nn.Sequential(
            SameConv2d(1, 32, 3),
            nn.ReLU(),
            SameConv2d(32, 64, 3, stride=2),
            nn.ReLU(),
            SameConv2d(64, 64, 3),
            nn.ReLU(),
            SameConv2d(64, 64, 3),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(14 * 14 * 64, 32),
            nn.ReLU(),
        )
        self.z_mean = nn.Linear(32, latent_dim)
        self.z_log_var = nn.Linear(32, latent_dim)
        keras_init_(self)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.features(images)
        return self.z_mean(h), self.z_log_var(h)


class VAEDecoder(nn.Module):
    """Dense 14*14*64 ReLU -> ConvT 32 (3x3, stride 2, 'same', ReLU) -> Conv 1 (3x3, 'same', sigmoid)."""

    def __init__(self, latent_dim: int = 2):
        super().__init__()
        self.project = nn.Sequential(nn.Linear(latent_dim, 14 * 14 * 64), nn.ReLU())
        self.upsample = nn.Sequential(
            SameConvTranspose2d(64, 32, 3, stride=2),
            nn.ReLU(),
            SameConv2d(32, 1, 3),
            nn.Sigmoid(),
        )
        keras_init_(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.upsample(self.project(z).view(-1, 64, 14, 14))


def build(latent_dim: int) -> dict[str, nn.Module]:
    return {"encoder": VAEEncoder(latent_dim), "generator": VAEDecoder(latent_dim)}
