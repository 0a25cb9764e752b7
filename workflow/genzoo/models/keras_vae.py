"""The convolutional VAE of Deep Learning with Python (2nd ed., chapter 12), 2-D latent space."""

import torch
from torch import nn

from .keras_layers import SameConv2d, SameConvTranspose2d, keras_init_


class VAEEncoder(nn.Module):
    def __init__(self, latent_dim: int = 2):
        super().__init__()
        self.features = nn.Sequential(
            SameConv2d(1, 32, 3, stride=2),
            nn.ReLU(),
            SameConv2d(32, 64, 3, stride=2),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(7 * 7 * 64, 16),
            nn.ReLU(),
        )
        self.z_mean = nn.Linear(16, latent_dim)
        self.z_log_var = nn.Linear(16, latent_dim)
        keras_init_(self)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.features(images)
        return self.z_mean(h), self.z_log_var(h)


class VAEDecoder(nn.Module):
    def __init__(self, latent_dim: int = 2):
        super().__init__()
        self.project = nn.Sequential(nn.Linear(latent_dim, 7 * 7 * 64), nn.ReLU())
        self.upsample = nn.Sequential(
            SameConvTranspose2d(64, 64, 3, stride=2),
            nn.ReLU(),
            SameConvTranspose2d(64, 32, 3, stride=2),
            nn.ReLU(),
            SameConv2d(32, 1, 3),
            nn.Sigmoid(),
        )
        keras_init_(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.upsample(self.project(z).view(-1, 64, 7, 7))


def build(latent_dim: int) -> dict[str, nn.Module]:
    return {"encoder": VAEEncoder(latent_dim), "generator": VAEDecoder(latent_dim)}
