"""The MLP GAN of eriklindernoren/PyTorch-GAN (implementations/gan/gan.py)."""

import math

import torch
from torch import nn


class MLPGenerator(nn.Module):
    def __init__(self, latent_dim: int = 100, image_shape: tuple[int, int, int] = (1, 28, 28)):
        super().__init__()
        self.image_shape = image_shape

        def block(in_features: int, out_features: int, normalize: bool = True) -> list[nn.Module]:
            layers: list[nn.Module] = [nn.Linear(in_features, out_features)]
            if normalize:
                # Faithful quirk: the reference passes 0.8 positionally, which is BatchNorm's eps, not momentum.
                layers.append(nn.BatchNorm1d(out_features, 0.8))
            layers.append(nn.LeakyReLU(0.2))
            return layers

        self.model = nn.Sequential(
            *block(latent_dim, 128, normalize=False),
            *block(128, 256),
            *block(256, 512),
            *block(512, 1024),
            nn.Linear(1024, math.prod(image_shape)),
            nn.Tanh(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.model(z).view(z.shape[0], *self.image_shape)


class MLPDiscriminator(nn.Module):
    """Returns logits: the reference's Sigmoid + BCELoss, computed stably as BCE-with-logits."""

    def __init__(self, image_shape: tuple[int, int, int] = (1, 28, 28)):
        super().__init__()
        self.model = nn.Sequential(
            nn.Linear(math.prod(image_shape), 512),
            nn.LeakyReLU(0.2),
            nn.Linear(512, 256),
            nn.LeakyReLU(0.2),
            nn.Linear(256, 1),
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.model(images.flatten(1))


def build(latent_dim: int) -> dict[str, nn.Module]:
    return {"generator": MLPGenerator(latent_dim), "discriminator": MLPDiscriminator()}
