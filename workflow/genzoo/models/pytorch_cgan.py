"""The conditional GAN of eriklindernoren/PyTorch-GAN (implementations/cgan/cgan.py), 32 pixels."""

import torch
from torch import nn

from .mlp_gan import MLPGenerator

N_CLASSES = 10


class Generator(nn.Module):
    """A 10-d label embedding before the noise, then gan.py's MLP (BatchNorm eps 0.8) out to 32 x 32."""

    def __init__(self, latent_dim: int = 100, image_size: int = 32):
        super().__init__()
        self.label_emb = nn.Embedding(N_CLASSES, N_CLASSES)
        self.mlp = MLPGenerator(latent_dim + N_CLASSES, (1, image_size, image_size))

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.mlp(torch.cat([self.label_emb(labels), z], dim=1))


class Discriminator(nn.Module):
    """[image, label embedding] -> 512 LReLU -> 512 Dropout 0.4 LReLU -> 512 Dropout 0.4 LReLU -> 1 score."""

    def __init__(self, image_size: int = 32):
        super().__init__()
        self.label_embedding = nn.Embedding(N_CLASSES, N_CLASSES)
        self.model = nn.Sequential(
            nn.Linear(N_CLASSES + image_size * image_size, 512),
            nn.LeakyReLU(0.2),
            nn.Linear(512, 512),
            nn.Dropout(0.4),
            nn.LeakyReLU(0.2),
            nn.Linear(512, 512),
            nn.Dropout(0.4),
            nn.LeakyReLU(0.2),
            nn.Linear(512, 1),
        )

    def forward(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.model(torch.cat([images.flatten(1), self.label_embedding(labels)], dim=1))


def build(latent_dim: int) -> dict[str, nn.Module]:
    return {"generator": Generator(latent_dim), "discriminator": Discriminator()}
