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


def copy_dense(linear: torch.nn.Linear, kernel: np.ndarray, bias: np.ndarray) -> None:
    """A dense layer's kernel (in, out) and bias into a Linear layer, whose weight is (out, in)."""
    with torch.no_grad():
        linear.weight.copy_(torch.from_numpy(np.ascontiguousarray(kernel.T)))
        linear.bias.copy_(torch.from_numpy(np.ascontiguousarray(bias)))


def keras_adam_step(optimizer: torch.optim.Adam, epsilon: float, t: int) -> None:
    """Sets torch's Adam to take Keras' step t (from 1). Keras adds epsilon to sqrt(v) before the bias correction,
    lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps), torch after it, lr / (1 - b1^t) * m / (sqrt(v / (1 -
    b2^t)) + eps'); the two are one update when eps' = eps / sqrt(1 - b2^t). And Keras raises the betas to the t-th
    power as float32 numbers (ops.cast of a Python float goes through a float32 tensor: 0.999 is 0.99900001287), while
    its moments decay by the Python floats: at step 1 its update is 6.4e-6 smaller than the formula's; torch's rate
    is scaled to match."""
    for group in optimizer.param_groups:
        base_lr = group.setdefault("keras_base_lr", group["lr"])
        beta1, beta2 = group["betas"]
        beta1_32, beta2_32 = (float(np.float32(beta)) for beta in group["betas"])
        bias2, bias2_32 = 1 - beta2**t, 1 - beta2_32**t
        group["eps"] = epsilon / bias2**0.5
        group["lr"] = base_lr * (bias2_32 / bias2) ** 0.5 * (1 - beta1**t) / (1 - beta1_32**t)


def tf1_adam_step(optimizer: torch.optim.Adam, epsilon: float, t: int) -> None:
    """Sets torch's Adam to take TensorFlow 1's AdamOptimizer step t (from 1): epsilon before the bias correction as
    in Keras, and every hyperparameter a float32 number (each becomes a tensor before it is cast to the variables'
    type): the rate, epsilon, and the betas, in the moments' decay as in the bias corrections."""
    for group in optimizer.param_groups:
        group["lr"] = float(np.float32(group["lr"]))
        group["betas"] = tuple(float(np.float32(beta)) for beta in group["betas"])
        group["eps"] = float(np.float32(epsilon)) / (1 - group["betas"][1] ** t) ** 0.5


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
    networks, made in dtype) and trained by the workflow's step for the run, with the step's random draws (draw:
    the module and the name the step calls) replaced by those Keras gets: one copy as the workflow trains it, one
    with Keras' Adam (keras_adam_step: its epsilon, the one departure the presets keep, and its float32 betas)."""

    NAMES = ("as trained", "Keras' Adam")
    # On loss_gap. In float32, rounding amplified over a few dozen steps of Adam stays below 1e-3 where no input of a
    # ReLU falls within rounding of its kink; in float64 (the losses are still taken in float32) far below 1e-5.
    TOLERANCE = {torch.float32: 1e-3, torch.float64: 1e-5}

    def __init__(
        self,
        run: dict,
        fill: Callable[[dict], None],
        draw: tuple[object, str],
        dtype: torch.dtype = torch.float32,
        adam_step: Callable[[torch.optim.Adam, float, int], None] = keras_adam_step,
    ):
        from genzoo import steps, training

        self.run, self.draw, self.dtype, self.adam_step = run, draw, dtype, adam_step
        self.step_function = steps.STEPS[run["update_order"]]
        self.nets, self.optimizers = {}, {}
        for name in self.NAMES:
            self.nets[name] = {key: net.to(dtype) for key, net in training.build_nets(run, torch.device("cpu")).items()}
            fill(self.nets[name])
            self.optimizers[name] = training.make_optimizers(run, self.nets[name])
        self.gaps = dict.fromkeys(self.NAMES, 0.0)

    def train(self, name: str, real: torch.Tensor, drawn: list[torch.Tensor]) -> dict[str, float]:
        """One step of a copy on the batch and draws (one per call the step makes, in order); its losses."""
        drawn = [d.to(self.dtype) for d in drawn]
        with mock.patch.object(*self.draw, side_effect=drawn) as draw:
            try:
                losses = self.step_function(
                    self.nets[name], self.optimizers[name], real.to(self.dtype), self.run, torch.device("cpu")
                )
            except StopIteration:  # the mock's draws ran out
                raise SystemExit(f"the preset's step draws more than the {len(drawn)} given") from None
        if draw.call_count != len(drawn):
            raise SystemExit(f"the preset's step drew {draw.call_count} times, not the {len(drawn)} given")
        return {key: float(value) for key, value in losses.items()}

    def step(self, theirs: dict[str, float], real: torch.Tensor, drawn: list[torch.Tensor], t: int) -> list[dict]:
        """Step t (from 1) of both copies on Keras' batch and draws; Keras' losses (theirs), then the copies'. A step
        that draws more or less often than Keras' side fails."""
        for optimizer in self.optimizers["Keras' Adam"].values():
            self.adam_step(optimizer, self.run["optimizer_eps"], t)
        sides = [theirs] + [self.train(name, real, drawn) for name in self.NAMES]
        for name, ours in zip(self.NAMES, sides[1:], strict=True):
            self.gaps[name] = max(self.gaps[name], loss_gap(theirs, ours))
        return sides

    def report(self, steps: int) -> bool:
        """Prints each copy's largest gap; whether the Keras-epsilon copy's is within the tolerance."""
        for name, gap in self.gaps.items():
            print(f"largest difference of a loss from Keras' over {steps} steps (loss_gap), {name}: {gap:.3g}")
        return self.gaps["Keras' Adam"] <= self.TOLERANCE[self.dtype]

    def conclude(self, steps: int, failure: str) -> None:
        """report, then an exit with the failure's message where the gap is over the tolerance."""
        if not self.report(steps):
            raise SystemExit(failure)
