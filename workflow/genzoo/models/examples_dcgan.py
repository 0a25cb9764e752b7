"""The DCGAN of pytorch/examples (dcgan/main.py) for one-channel 64-pixel images (ngf = ndf = 64)."""

import torch
from torch import nn


def reference_init(module: nn.Module) -> None:
    """weights_init: convolutions N(0, 0.02); BatchNorm weights N(1, 0.02), biases 0."""
    if isinstance(module, nn.Conv2d | nn.ConvTranspose2d):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class Generator(nn.Module):
    """z as a 1x1 map -> ConvT 512 (4, 1, 0) -> 256 -> 128 -> 64 (4, 2, 1), each BatchNorm + ReLU -> 1, Tanh."""

    def __init__(self, latent_dim: int = 100, width: int = 64):
        super().__init__()
        layers: list[nn.Module] = [nn.ConvTranspose2d(latent_dim, width * 8, 4, 1, 0, bias=False)]
        channels = width * 8
        for _ in range(3):
            layers += [
                nn.BatchNorm2d(channels),
                nn.ReLU(True),
                nn.ConvTranspose2d(channels, channels // 2, 4, 2, 1, bias=False),
            ]
            channels //= 2
        layers += [
            nn.BatchNorm2d(channels),
            nn.ReLU(True),
            nn.ConvTranspose2d(channels, 1, 4, 2, 1, bias=False),
            nn.Tanh(),
        ]
        self.main = nn.Sequential(*layers)
        self.apply(reference_init)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.main(z.view(z.shape[0], -1, 1, 1))


class Discriminator(nn.Module):
    """Conv 64 (4, 2, 1) LeakyReLU 0.2 -> 128 -> 256 -> 512, each BatchNorm + LeakyReLU -> Conv 1 (4, 1, 0): a logit."""

    def __init__(self, width: int = 64):
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(1, width, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True)]
        channels = width
        for _ in range(3):
            layers += [
                nn.Conv2d(channels, channels * 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(channels * 2),
                nn.LeakyReLU(0.2, inplace=True),
            ]
            channels *= 2
        layers += [nn.Conv2d(channels, 1, 4, 1, 0, bias=False), nn.Flatten()]  # the reference's Sigmoid: in the loss
        self.main = nn.Sequential(*layers)
        self.apply(reference_init)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.main(images)


def build(latent_dim: int) -> dict[str, nn.Module]:
    return {"generator": Generator(latent_dim), "discriminator": Discriminator()}
