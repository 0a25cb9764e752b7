"""What the checks against TensorFlow share: TensorFlow imported safely beside torch, Keras' weight layouts turned
into PyTorch's, torch's Adam set to take Keras' or TensorFlow 1's steps, and the copies of a preset trained beside the
reference. Importable without TensorFlow (the tests use it so)."""

import argparse
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


def linears(net: torch.nn.Module) -> list[torch.nn.Linear]:
    """A network's Linear layers, in the order they were made."""
    return [module for module in net.modules() if isinstance(module, torch.nn.Linear)]


def check_arguments(description: str, precision: bool = True) -> argparse.ArgumentParser:
    """The options every check takes: the training split, the steps, the seed and (precision) --float32."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", type=Path, default=REPO / "results" / "data" / "mnist" / "train.pt")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    if precision:
        parser.add_argument(
            "--float32",
            action="store_true",
            help="both sides in float32, as they train (float64 by default: there two runs part by what the code "
            "does, not by rounding)",
        )
    return parser


def chosen_dtype(args) -> torch.dtype:
    return torch.float32 if args.float32 else torch.float64


def take_tensorflow_adam_step(group: dict, lr: float, epsilon: float, powers: tuple[float, float], t: int) -> None:
    """Sets a torch Adam parameter group so that its step t (from 1) is TensorFlow's Adam update, lr * sqrt(1 - p2) /
    (1 - p1) * m / (sqrt(v) + epsilon), with beta powers p1, p2 as TensorFlow has them. Torch divides by its own bias
    corrections b1 = 1 - beta1^t and b2 = 1 - beta2^t and adds its epsilon after the second: lr' / b1 * m / (sqrt(v) /
    sqrt(b2) + eps'), the same update when eps' = epsilon / sqrt(b2) and lr' = lr * sqrt((1 - p2) / b2) * b1 / (1 -
    p1)."""
    beta1, beta2 = group["betas"]
    b1, b2 = 1 - beta1**t, 1 - beta2**t
    group["eps"] = epsilon / b2**0.5
    group["lr"] = lr * ((1 - powers[1]) / b2) ** 0.5 * b1 / (1 - powers[0])


def match_keras_adam(optimizer: torch.optim.Adam, epsilon: float, t: int) -> None:
    """Sets torch's Adam to take Keras' step t (from 1), as Keras 3's Adam.update_step (and Keras 2's) writes it:
    epsilon added to sqrt(v) before the bias correction, and the betas raised to the t-th power as float32 numbers
    (ops.cast of a Python float goes through a float32 tensor: 0.999 is 0.99900001287) while the moments decay by the
    Python floats, which makes its first update 6.4e-6 (betas 0.5, 0.999) to 6.7e-6 (0.9, 0.999) smaller."""
    for group in optimizer.param_groups:
        lr = group.setdefault("reference_lr", group["lr"])
        powers = tuple(float(np.float32(beta)) ** t for beta in group["betas"])
        take_tensorflow_adam_step(group, lr, epsilon, powers, t)


def float32_power(beta: float, t: int) -> float:
    """beta^t as TensorFlow 1 keeps it: a float32 variable, multiplied by float32 beta once a step."""
    power = np.float32(beta)
    for _ in range(t - 1):
        power = np.float32(power * np.float32(beta))
    return float(power)


def match_tf1_adam(optimizer: torch.optim.Adam, epsilon: float, t: int) -> None:
    """Sets torch's Adam to take TensorFlow 1's AdamOptimizer step t (from 1): epsilon before the bias correction as
    in Keras, every hyperparameter a float32 number (each becomes a tensor before it is cast to the variables' type),
    the moments decayed by the float32 betas, and the beta powers float32 variables, multiplied once a step."""
    for group in optimizer.param_groups:
        lr = float(np.float32(group.setdefault("reference_lr", group["lr"])))
        group["betas"] = tuple(float(np.float32(beta)) for beta in group["betas"])
        powers = tuple(float32_power(beta, t) for beta in group["betas"])
        take_tensorflow_adam_step(group, lr, float(np.float32(epsilon)), powers, t)


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


class HandedDraws:
    """Stands in for the step's random draw: hands it the reference's draws in turn, each checked against the size
    the step asks for (a count, or a tensor to draw like), and counts them."""

    def __init__(self, drawn: list[torch.Tensor]):
        self.drawn, self.handed = drawn, 0

    def __call__(self, size, *args, **kwargs) -> torch.Tensor:
        if self.handed == len(self.drawn):
            raise SystemExit(f"the preset's step draws more than the {len(self.drawn)} given")
        draw = self.drawn[self.handed]
        wanted = tuple(size.shape) if isinstance(size, torch.Tensor) else (size,)
        if tuple(draw.shape[: len(wanted)]) != wanted:
            raise SystemExit(f"the preset's step asks for a draw of {wanted}, the reference drew {tuple(draw.shape)}")
        self.handed += 1
        return draw


class PresetCopies:
    """Two copies of a preset beside the reference (Keras, or TensorFlow 1: reference names it), each from the
    reference's initial weights (fill copies them into the preset's networks, made in dtype) and trained by the
    workflow's step for the run, with the step's random draws (draw: the module and the name the step calls) replaced
    by those the reference gets: one copy as the workflow trains it, one whose Adam takes the reference's steps
    (match_adam: its epsilon, the one departure the presets keep, and its float32 hyperparameters)."""

    # On loss_gap. In float32, rounding amplified over a few dozen steps of Adam stays below 1e-3 where no input of a
    # ReLU falls within rounding of its kink; in float64 (the losses are still taken in float32) far below 1e-5.
    TOLERANCE = {torch.float32: 1e-3, torch.float64: 1e-5}

    def __init__(
        self,
        run: dict,
        fill: Callable[[dict], None],
        draw: tuple[object, str],
        dtype: torch.dtype = torch.float32,
        match_adam: Callable[[torch.optim.Adam, float, int], None] = match_keras_adam,
        reference: str = "Keras'",
    ):
        from genzoo import steps, training

        self.run, self.draw, self.dtype, self.match_adam, self.reference = run, draw, dtype, match_adam, reference
        self.step_function = steps.STEPS[run["update_order"]]
        self.matched = f"{reference} Adam"
        self.names = ("as trained", self.matched)
        self.nets, self.optimizers = {}, {}
        for name in self.names:
            self.nets[name] = {key: net.to(dtype) for key, net in training.build_nets(run, torch.device("cpu")).items()}
            fill(self.nets[name])
            self.optimizers[name] = training.make_optimizers(run, self.nets[name])
        self.gaps = dict.fromkeys(self.names, 0.0)

    def train(self, name: str, real: torch.Tensor, drawn: list[torch.Tensor]) -> dict[str, float]:
        """One step of a copy on the batch and draws (one per call the step makes, in order); its losses."""
        handed = HandedDraws([d.to(self.dtype) for d in drawn])
        with mock.patch.object(*self.draw, side_effect=handed):
            losses = self.step_function(
                self.nets[name], self.optimizers[name], real.to(self.dtype), self.run, torch.device("cpu")
            )
        if handed.handed != len(drawn):
            raise SystemExit(f"the preset's step drew {handed.handed} times, not the {len(drawn)} given")
        return {key: float(value) for key, value in losses.items()}

    def step(self, theirs: dict[str, float], real: torch.Tensor, drawn: list[torch.Tensor], t: int) -> list[dict]:
        """Step t (from 1) of both copies on the reference's batch and draws; its losses (theirs), then the copies'.
        A step that draws more or less often than the reference, or draws of other sizes, fails."""
        for optimizer in self.optimizers[self.matched].values():
            self.match_adam(optimizer, self.run["optimizer_eps"], t)
        sides = [theirs] + [self.train(name, real, drawn) for name in self.names]
        for name, ours in zip(self.names, sides[1:], strict=True):
            self.gaps[name] = max(self.gaps[name], loss_gap(theirs, ours))
        return sides

    def print_step(self, t: int, sides: list[dict], columns: tuple[tuple[str, int, int], ...]) -> None:
        """One line of a step's losses, the reference's and the copies' side by side per loss: columns name each
        loss with its field width and decimals."""
        cells = (" ".join(f"{side[key]:>{width}.{decimals}f}" for side in sides) for key, width, decimals in columns)
        print(f"{t:>4}  " + "  ".join(cells))

    def report(self, steps: int) -> bool:
        """Prints each copy's largest gap; whether the matched copy's is within the tolerance for the dtype."""
        for name, gap in self.gaps.items():
            print(
                f"largest difference of a loss from {self.reference} over {steps} steps (loss_gap), {name}: {gap:.3g}"
            )
        return self.gaps[self.matched] <= self.TOLERANCE[self.dtype]

    def conclude(self, steps: int, failure: str) -> None:
        """report, then an exit with the failure's message where the gap is over the tolerance."""
        if not self.report(steps):
            raise SystemExit(failure)
