"""The basic TensorFlow 1 GAN (wiseodd/generative-models, GAN/vanilla_gan/gan_tensorflow.py)."""

import math

import torch
from torch import nn


def reference_init(layer: nn.Linear) -> nn.Linear:
    """The reference's xavier_init: N(0, 1 / sqrt(fan_in / 2)) weights, zero biases."""
    nn.init.normal_(layer.weight, std=1.0 / math.sqrt(layer.in_features / 2.0))
    nn.init.zeros_(layer.bias)
    return layer


class BasicGenerator(nn.Module):
    """z -> 128 ReLU -> 784 Sigmoid: images in [0, 1]."""

    def __init__(self, latent_dim: int = 100):
        super().__init__()
        self.model = nn.Sequential(
            reference_init(nn.Linear(latent_dim, 128)),
            nn.ReLU(),
            reference_init(nn.Linear(128, 784)),
            nn.Sigmoid(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.model(z).view(z.shape[0], 1, 28, 28)


class BasicDiscriminator(nn.Module):
    """784 -> 128 ReLU -> 1 logit."""

    def __init__(self):
        super().__init__()
        self.model = nn.Sequential(
            nn.Flatten(),
            reference_init(nn.Linear(784, 128)),
            nn.ReLU(),
            reference_init(nn.Linear(128, 1)),
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.model(images)


def build(latent_dim: int) -> dict[str, nn.Module]:
    return {"generator": BasicGenerator(latent_dim), "discriminator": BasicDiscriminator()}
