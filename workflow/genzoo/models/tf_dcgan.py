"""The DCGAN of the TensorFlow tutorial (tensorflow/docs site/en/tutorials/generative/dcgan.ipynb)."""

import torch
from torch import nn

from .keras_layers import KERAS_LEAKY_SLOPE, SameConv2d, SameConvTranspose2d, keras_batch_norm, keras_init_


class DCGANGenerator(nn.Module):
    def __init__(self, latent_dim: int = 100):
        super().__init__()
        self.project = nn.Sequential(
            nn.Linear(latent_dim, 7 * 7 * 256, bias=False),
            keras_batch_norm(7 * 7 * 256, dims=1),
            nn.LeakyReLU(KERAS_LEAKY_SLOPE),
        )
        self.upsample = nn.Sequential(
            SameConvTranspose2d(256, 128, 5, stride=1, bias=False),
            keras_batch_norm(128),
            nn.LeakyReLU(KERAS_LEAKY_SLOPE),
            SameConvTranspose2d(128, 64, 5, stride=2, bias=False),
            keras_batch_norm(64),
            nn.LeakyReLU(KERAS_LEAKY_SLOPE),
            SameConvTranspose2d(64, 1, 5, stride=2, bias=False),
            nn.Tanh(),
        )
        keras_init_(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.upsample(self.project(z).view(-1, 256, 7, 7))


class DCGANDiscriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.model = nn.Sequential(
            SameConv2d(1, 64, 5, stride=2),
            nn.LeakyReLU(KERAS_LEAKY_SLOPE),
            nn.Dropout(0.3),
            SameConv2d(64, 128, 5, stride=2),
            nn.LeakyReLU(KERAS_LEAKY_SLOPE),
            nn.Dropout(0.3),
            nn.Flatten(),
            nn.Linear(7 * 7 * 128, 1),
        )
        keras_init_(self)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.model(images)


def build(latent_dim: int) -> dict[str, nn.Module]:
    return {"generator": DCGANGenerator(latent_dim), "discriminator": DCGANDiscriminator()}
