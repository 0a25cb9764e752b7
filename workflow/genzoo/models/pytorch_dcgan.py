"""The 32-pixel DCGAN of eriklindernoren/PyTorch-GAN (implementations/dcgan/dcgan.py) and its LSGAN twin
(implementations/lsgan/lsgan.py), which drops the generator's first BatchNorm."""

import torch
from torch import nn


def reference_init(module: nn.Module) -> None:
    """weights_init_normal: convolutions N(0, 0.02); BatchNorm2d weights N(1, 0.02), biases 0."""
    if isinstance(module, nn.Conv2d):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class Generator(nn.Module):
    """Linear to 128 x 8 x 8, then twice nearest-upsample + 3x3 conv, BatchNorm (eps 0.8), LeakyReLU 0.2."""

    def __init__(self, latent_dim: int = 100, image_size: int = 32, first_batchnorm: bool = True):
        super().__init__()
        self.init_size = image_size // 4
        self.l1 = nn.Linear(latent_dim, 128 * self.init_size**2)
        self.conv_blocks = nn.Sequential(
            *([nn.BatchNorm2d(128)] if first_batchnorm else []),
            nn.Upsample(scale_factor=2),
            nn.Conv2d(128, 128, 3, stride=1, padding=1),
            nn.BatchNorm2d(128, 0.8),  # 0.8 is eps, as in gan.py
            nn.LeakyReLU(0.2),
            nn.Upsample(scale_factor=2),
            nn.Conv2d(128, 64, 3, stride=1, padding=1),
            nn.BatchNorm2d(64, 0.8),
            nn.LeakyReLU(0.2),
            nn.Conv2d(64, 1, 3, stride=1, padding=1),
            nn.Tanh(),
        )
        self.apply(reference_init)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.conv_blocks(self.l1(z).view(z.shape[0], 128, self.init_size, self.init_size))


class Discriminator(nn.Module):
    """Four 3x3 stride-2 blocks (LeakyReLU 0.2, Dropout2d 0.25, BatchNorm eps 0.8 but in the first), then a logit."""

    def __init__(self, image_size: int = 32):
        super().__init__()

        def block(in_channels: int, out_channels: int, batchnorm: bool = True) -> list[nn.Module]:
            layers = [nn.Conv2d(in_channels, out_channels, 3, 2, 1), nn.LeakyReLU(0.2), nn.Dropout2d(0.25)]
            return layers + ([nn.BatchNorm2d(out_channels, 0.8)] if batchnorm else [])

        self.model = nn.Sequential(
            *block(1, 16, batchnorm=False), *block(16, 32), *block(32, 64), *block(64, 128), nn.Flatten()
        )
        self.adv_layer = nn.Linear(128 * (image_size // 2**4) ** 2, 1)  # the reference's Sigmoid is in the loss
        self.apply(reference_init)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.adv_layer(self.model(images))


def build_dcgan(latent_dim: int) -> dict[str, nn.Module]:
    return {"generator": Generator(latent_dim), "discriminator": Discriminator()}


def build_lsgan(latent_dim: int) -> dict[str, nn.Module]:
    """lsgan.py's generator: the DCGAN one without the BatchNorm after the first linear layer."""
    return {"generator": Generator(latent_dim, first_batchnorm=False), "discriminator": Discriminator()}
