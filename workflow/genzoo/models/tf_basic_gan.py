"""The basic TensorFlow 1 GAN: two one-hidden-layer MLPs whose variables are made with tf.get_variable(...,
initializer=tf.contrib.layers.xavier_initializer()) and biases with tf.constant_initializer(0)."""

import torch
from torch import nn

from .keras_layers import keras_init_


class BasicGenerator(nn.Module):
    """z -> 128 ReLU -> 784 Sigmoid: images in [0, 1]."""

    def __init__(self, latent_dim: int = 100):
        super().__init__()
        self.model = nn.Sequential(nn.Linear(latent_dim, 128), nn.ReLU(), nn.Linear(128, 784), nn.Sigmoid())
        # xavier_initializer() is uniform by default, on +-sqrt(6 / (fan_in + fan_out)): Keras' glorot_uniform.
        keras_init_(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.model(z).view(z.shape[0], 1, 28, 28)


class BasicDiscriminator(nn.Module):
    """784 -> 128 ReLU -> 1 logit."""

    def __init__(self):
        super().__init__()
        self.model = nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 1))
        keras_init_(self)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.model(images)


def build(latent_dim: int) -> dict[str, nn.Module]:
    return {"generator": BasicGenerator(latent_dim), "discriminator": BasicDiscriminator()}
