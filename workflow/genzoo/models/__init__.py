"""Architectures by name: each entry builds the networks a preset trains."""

from torch import nn

from . import cs231n, examples_dcgan, pytorch_cgan, pytorch_dcgan
from .keras_vae import VAE
from .mlp_gan import MLPDiscriminator, MLPGenerator
from .tf_basic_gan import BasicDiscriminator, BasicGenerator
from .tf_dcgan import DCGANDiscriminator, DCGANGenerator


def _mlp_gan(latent_dim: int) -> dict[str, nn.Module]:
    return {"generator": MLPGenerator(latent_dim), "discriminator": MLPDiscriminator()}


def _tf_dcgan(latent_dim: int) -> dict[str, nn.Module]:
    return {"generator": DCGANGenerator(latent_dim), "discriminator": DCGANDiscriminator()}


def _keras_vae(latent_dim: int) -> dict[str, nn.Module]:
    vae = VAE(latent_dim)
    return {"encoder": vae.encoder, "generator": vae.decoder}


def _cs231n_mlp(latent_dim: int) -> dict[str, nn.Module]:
    return {"generator": cs231n.MLPGenerator(latent_dim), "discriminator": cs231n.MLPDiscriminator()}


def _cs231n_dc(latent_dim: int) -> dict[str, nn.Module]:
    return {"generator": cs231n.DCGenerator(latent_dim), "discriminator": cs231n.DCDiscriminator()}


def _tf_basic_gan(latent_dim: int) -> dict[str, nn.Module]:
    return {"generator": BasicGenerator(latent_dim), "discriminator": BasicDiscriminator()}


def _pytorch_dcgan(latent_dim: int) -> dict[str, nn.Module]:
    return {"generator": pytorch_dcgan.Generator(latent_dim), "discriminator": pytorch_dcgan.Discriminator()}


def _pytorch_lsgan(latent_dim: int) -> dict[str, nn.Module]:
    generator = pytorch_dcgan.Generator(latent_dim, first_batchnorm=False)
    return {"generator": generator, "discriminator": pytorch_dcgan.Discriminator()}


def _examples_dcgan(latent_dim: int) -> dict[str, nn.Module]:
    return {"generator": examples_dcgan.Generator(latent_dim), "discriminator": examples_dcgan.Discriminator()}


def _pytorch_cgan(latent_dim: int) -> dict[str, nn.Module]:
    return {"generator": pytorch_cgan.Generator(latent_dim), "discriminator": pytorch_cgan.Discriminator()}


ARCHITECTURES = {
    "mlp-gan": _mlp_gan,
    "tf-dcgan": _tf_dcgan,
    "keras-vae": _keras_vae,
    "cs231n-mlp": _cs231n_mlp,
    "cs231n-dc": _cs231n_dc,
    "tf-basic-gan": _tf_basic_gan,
    "pytorch-dcgan": _pytorch_dcgan,
    "pytorch-lsgan": _pytorch_lsgan,
    "examples-dcgan": _examples_dcgan,
    "pytorch-cgan": _pytorch_cgan,
}


def build(architecture: str, latent_dim: int) -> dict[str, nn.Module]:
    """The networks of an architecture by role: 'generator' always, plus 'discriminator' or 'encoder'."""
    return ARCHITECTURES[architecture](latent_dim)


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
