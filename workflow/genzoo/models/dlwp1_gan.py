"""The DCGAN of Deep Learning with Python, first edition (section 8.5, 8.5-introduction-to-gans.ipynb): 32 x 32
images, of as many channels as the data have (the book's CIFAR-10 frogs: 3; MNIST: 1)."""

import torch
from torch import nn

from .keras_layers import KERAS_LEAKY_SLOPE, SameConv2d, SameConvTranspose2d, keras_init_


class Generator(nn.Module):
    """Dense 128*16*16 -> Conv 256 (5x5) -> ConvT 256 (4x4, stride 2) -> 2 x Conv 256 (5x5) -> Conv channels (7x7)
    tanh; LeakyReLU (Keras' 0.3) after all but the last, 'same' padding."""

    def __init__(self, latent_dim: int = 32, channels: int = 1):
        super().__init__()
        self.project = nn.Sequential(nn.Linear(latent_dim, 128 * 16 * 16), nn.LeakyReLU(KERAS_LEAKY_SLOPE))
        self.model = nn.Sequential(
            SameConv2d(128, 256, 5),
            nn.LeakyReLU(KERAS_LEAKY_SLOPE),
            SameConvTranspose2d(256, 256, 4, stride=2),
            nn.LeakyReLU(KERAS_LEAKY_SLOPE),
            SameConv2d(256, 256, 5),
            nn.LeakyReLU(KERAS_LEAKY_SLOPE),
            SameConv2d(256, 256, 5),
            nn.LeakyReLU(KERAS_LEAKY_SLOPE),
            SameConv2d(256, channels, 7),
            nn.Tanh(),
        )
        keras_init_(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.model(self.project(z).view(-1, 128, 16, 16))


class Discriminator(nn.Module):
    """Conv 128 (3x3) -> 3 x Conv 128 (4x4, stride 2), 'valid', LeakyReLU 0.3 -> Dropout 0.4 -> Dense 1: the logit of
    'this image is generated' (the book's labels: 1 generated, 0 real; its sigmoid is in the loss here)."""

    def __init__(self, channels: int = 1):
        super().__init__()
        self.model = nn.Sequential(
            nn.Conv2d(channels, 128, 3),
            nn.LeakyReLU(KERAS_LEAKY_SLOPE),
            nn.Conv2d(128, 128, 4, stride=2),
            nn.LeakyReLU(KERAS_LEAKY_SLOPE),
            nn.Conv2d(128, 128, 4, stride=2),
            nn.LeakyReLU(KERAS_LEAKY_SLOPE),
            nn.Conv2d(128, 128, 4, stride=2),
            nn.LeakyReLU(KERAS_LEAKY_SLOPE),
            nn.Flatten(),
            nn.Dropout(0.4),
            nn.Linear(2 * 2 * 128, 1),
        )
        keras_init_(self)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.model(images)


def build(latent_dim: int, channels: int = 1) -> dict[str, nn.Module]:
    return {"generator": Generator(latent_dim, channels), "discriminator": Discriminator(channels)}
