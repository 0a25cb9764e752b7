"""Architectures by name, each built by a function of its own module.

A module is imported only when its architecture is built, and nothing here imports torch: the
Snakefile reads this map to make a run depend on its own architecture's file alone, so editing
one model file reruns only the runs that use it, and adding an architecture reruns nothing.
"""

import importlib

ARCHITECTURES = {  # name -> (module of this package, the function in it that builds the networks)
    "mlp-gan": ("mlp_gan", "build"),
    "tf-dcgan": ("tf_dcgan", "build"),
    "keras-vae": ("keras_vae", "build"),
    "cs231n-mlp": ("cs231n", "build_mlp"),
    "cs231n-dc": ("cs231n", "build_dc"),
    "cs231n-tf-mlp": ("cs231n", "build_tf_mlp"),
    "cs231n-tf-dc": ("cs231n", "build_tf_dc"),
    "tf-basic-gan": ("tf_basic_gan", "build"),
    "pytorch-dcgan": ("pytorch_dcgan", "build_dcgan"),
    "pytorch-lsgan": ("pytorch_dcgan", "build_lsgan"),
    "examples-dcgan": ("examples_dcgan", "build"),
    "pytorch-cgan": ("pytorch_cgan", "build"),
    "dlwp1-vae": ("dlwp1_vae", "build"),
    "dlwp1-gan": ("dlwp1_gan", "build"),
}


def module_of(architecture: str) -> str:
    """The architecture's module, dotted from the package root (e.g. 'models.cs231n'), as codedeps takes it."""
    return f"{__name__.rpartition('.')[2]}.{ARCHITECTURES[architecture][0]}"


def build(architecture: str, latent_dim: int) -> dict:
    """The networks of an architecture by role: 'generator' always, plus 'discriminator' or 'encoder'."""
    module, builder = ARCHITECTURES[architecture]
    return getattr(importlib.import_module(f".{module}", __name__), builder)(latent_dim)


def count_parameters(module) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
