"""What the checks against Keras share: TensorFlow imported safely beside torch, Keras' weight layouts turned into
PyTorch's, and Adam's epsilon moved to where Keras adds it. Importable without TensorFlow (the tests use it so)."""

import sys
from collections.abc import Callable
from pathlib import Path
from unittest import mock

import numpy as np
import torch

# torch's lazily loaded parts before TensorFlow: Triton's libraries (torch._dynamo loads them when an optimizer is
# first made) crash the process once TensorFlow's are in.
import torch._dynamo  # noqa: F401

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow"))


def import_tensorflow():
    """TensorFlow, or an exit that says what to install (the workflow itself does not need it)."""
    try:
        import tensorflow as tf
    except ModuleNotFoundError:
        raise SystemExit(
            "this check needs TensorFlow, which the workflow does not: pip install tensorflow-cpu"
        ) from None
    return tf


def keras_version(tf) -> str:
    """The Keras that tf.keras is: Keras 3's own, or tf-keras (Keras 2) under TF_USE_LEGACY_KERAS=1."""
    if tf.keras.__name__.startswith("tf_keras"):
        from importlib.metadata import version

        return f"{version('tf-keras')} (tf-keras, Keras 2)"
    return tf.keras.__version__


def channels_last_index(channels: int, size: int) -> np.ndarray:
    """Keras' index of each of the size*size*channels features of an (H, W, C) map, in the order PyTorch's (C, H, W)
    flattening reads them: feature i of a channels-first layer is feature channels_last_index(...)[i] of Keras'."""
    c, h, w = np.meshgrid(np.arange(channels), np.arange(size), np.arange(size), indexing="ij")
    return ((h * size + w) * channels + c).reshape(-1)


def of_kind(model, kinds) -> list:
    """A Keras model's layers of the given kind(s), in the model's order."""
    return [layer for layer in model.layers if isinstance(layer, kinds)]


def in_keras_order(norm: torch.nn.Module) -> tuple:
    """A PyTorch BatchNorm's four tensors in the order of a Keras BatchNormalization's weights: gamma, beta, moving
    mean, moving variance."""
    return (norm.weight, norm.bias, norm.running_mean, norm.running_var)


def torch_kernel(kernel: np.ndarray) -> torch.Tensor:
    """A Keras convolution kernel (h, w, in, out) as Conv2d's weight (out, in, h, w), or a Conv2DTranspose kernel
    (h, w, out, in) as ConvTranspose2d's (in, out, h, w): the same transposition, no flip (both are correlations)."""
    return torch.from_numpy(np.ascontiguousarray(kernel.transpose(3, 2, 0, 1)))


def keras_adam_epsilon(optimizer: torch.optim.Adam, epsilon: float, t: int) -> None:
    """Sets torch's Adam to take Keras' step t (from 1): Keras adds epsilon to sqrt(v) before the bias correction,
    lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps), torch after it, lr / (1 - b1^t) * m / (sqrt(v / (1 -
    b2^t)) + eps'); the two are one update when eps' = eps / sqrt(1 - b2^t)."""
    for group in optimizer.param_groups:
        group["eps"] = epsilon / (1 - group["betas"][1] ** t) ** 0.5


def training_images(path: Path, pixel_range: str, batch: int, steps: int) -> torch.Tensor:
    """The first steps * batch images of a split the workflow wrote, in the preset's pixel range."""
    from genzoo import data

    if not path.exists():
        raise SystemExit(f"{path} not found: run `snakemake --cores 1 {path}` first")
    images, _ = data.load_split(path, pixel_range=pixel_range)
    if len(images) < batch * steps:
        raise SystemExit(f"{path} has {len(images)} images: fewer than --steps {steps} batches of {batch}")
    return images[: batch * steps].float()


def loss_gap(theirs: dict[str, float], ours: dict[str, float]) -> float:
    """The largest difference between same-named losses, relative to Keras' where it is over 1 (absolute below:
    a KL of 3e-4 would otherwise turn float32 rounding into a large relative gap)."""
    return max(abs(theirs[k] - ours[k]) / max(abs(theirs[k]), 1.0) for k in theirs)


class PresetCopies:
    """Two copies of a preset beside Keras, each from Keras' initial weights (fill copies them into the preset's
    networks) and trained by the workflow's step for the run, with the step's random draw (draw: the module and
    the name the step calls) replaced by the one Keras gets: one copy as the workflow trains it, one with Adam's
    epsilon where Keras adds it (keras_adam_epsilon), the one departure the presets keep."""

    NAMES = ("as trained", "Keras' epsilon")
    TOLERANCE = 1e-3  # on loss_gap: float32 rounding, amplified over a few dozen steps of Adam, stays well below

    def __init__(self, run: dict, fill: Callable[[dict], None], draw: tuple[object, str]):
        from genzoo import steps, training

        self.run, self.draw, self.step_function = run, draw, steps.STEPS[run["update_order"]]
        self.nets, self.optimizers = {}, {}
        for name in self.NAMES:
            self.nets[name] = training.build_nets(run, torch.device("cpu"))
            fill(self.nets[name])
            self.optimizers[name] = training.make_optimizers(run, self.nets[name])
        self.gaps = dict.fromkeys(self.NAMES, 0.0)

    def step(self, theirs: dict[str, float], real: torch.Tensor, drawn: torch.Tensor, t: int) -> list[dict]:
        """Step t (from 1) of both copies on Keras' batch and draw; their losses, after Keras' (theirs)."""
        sides = [theirs]
        for name in self.NAMES:
            if name == "Keras' epsilon":
                for optimizer in self.optimizers[name].values():
                    keras_adam_epsilon(optimizer, self.run["optimizer_eps"], t)
            with mock.patch.object(*self.draw, lambda *args, **kwargs: drawn):
                losses = self.step_function(self.nets[name], self.optimizers[name], real, self.run, torch.device("cpu"))
            sides.append({key: float(value) for key, value in losses.items()})
            self.gaps[name] = max(self.gaps[name], loss_gap(theirs, sides[-1]))
        return sides

    def conclude(self, steps: int, failure: str) -> None:
        """Prints each copy's largest gap; exits non-zero when the Keras-epsilon copy's is over the tolerance."""
        for name, gap in self.gaps.items():
            print(f"largest difference of a loss from Keras' over {steps} steps (loss_gap), {name}: {gap:.3g}")
        if self.gaps["Keras' epsilon"] > self.TOLERANCE:
            raise SystemExit(failure)
