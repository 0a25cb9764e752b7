"""What the checks against TensorFlow share: TensorFlow imported safely beside torch, Keras' weight layouts turned
into PyTorch's, torch's Adam set to take Keras' or TensorFlow 1's steps, and the copies of a preset trained beside the
reference. Importable without TensorFlow (the tests use it so)."""

import argparse
import contextlib
import itertools
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
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


def import_keras_2_0_8(wheel: Path, floatx: str = "float32"):
    """Keras 2.0.8, the Keras of Deep Learning with Python's first edition, from its wheel (`pip download
    keras==2.0.8 --no-deps`: pure Python, imported from the zip as it is), on TensorFlow 2's tf.compat.v1 graph
    mode: the TensorFlow 1 that Keras 2.0.8's backend was written for. Three shims let the 2017 code import: the
    collections ABCs (moved to collections.abc in Python 3.10), `import tensorflow` resolving to tf.compat.v1 with
    TensorFlow 2's behaviour off, and an empty tensorflow.contrib projector (only the TensorBoard callback uses it;
    contrib went with TensorFlow 2). The Keras 3 that TensorFlow loads is taken out of the way, and TensorFlow 2
    itself is unusable in the process afterwards. Its float type (floatx, Keras' float32 by default) is set here, for
    the models the check then makes."""
    import collections
    import collections.abc
    import types
    import warnings

    if not wheel.is_file():
        raise SystemExit(f"{wheel} not found: `pip download keras==2.0.8 --no-deps -d <folder>` fetches it")
    tf = import_tensorflow()
    for name in ("Iterable", "Mapping", "Sequence", "Callable"):
        setattr(collections, name, getattr(collections.abc, name))
    tf.compat.v1.disable_v2_behavior()
    sys.modules["tensorflow"] = tf.compat.v1
    projector = "tensorflow.contrib.tensorboard.plugins.projector"
    parts = projector.split(".")
    for depth in range(2, len(parts) + 1):
        sys.modules[".".join(parts[:depth])] = types.ModuleType(".".join(parts[:depth]))
    sys.modules["tensorflow.contrib.tensorboard.plugins"].projector = sys.modules[projector]
    for name in [name for name in sys.modules if name == "keras" or name.startswith("keras.")]:
        del sys.modules[name]
    sys.path.insert(0, str(wheel))
    os.environ["KERAS_BACKEND"] = "tensorflow"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its `x is 0` comparisons, and TensorFlow's deprecations
        import keras
    if keras.__version__ != "2.0.8":
        raise SystemExit(f"{wheel} holds Keras {keras.__version__}, not 2.0.8")
    keras.backend.set_floatx(floatx)
    # What ~/.keras/keras.json may have set otherwise: the cross-entropy's clip and the images' layout.
    keras.backend.set_epsilon(1e-7)
    keras.backend.set_image_data_format("channels_last")
    # Input(dtype=K.floatx()) took its default when Keras was imported: give it the floatx now set.
    from keras.engine import topology

    topology.Input.__defaults__ = tuple(floatx if d == "float32" else d for d in topology.Input.__defaults__)
    if floatx == "float64":
        keep_float64_convolutions(keras.backend.tensorflow_backend)
    update_after_every_gradient(keras.optimizers.Optimizer, tf.compat.v1)
    return keras


def update_after_every_gradient(optimizer_class, tf) -> None:
    """Makes every optimizer of Keras 2.0.8 take its gradients before it writes any weight. Its train function runs
    the gradients and the weights' assignments in one graph, ordered only by their data: TensorFlow 1's variables
    are read when an op runs, so an assignment that runs before the backpropagation through its layer has read the
    layer's weights hands the layers below gradients taken with the new weights. Which ones do depends on the
    scheduling of the moment (the first-edition VAE's first step differs run to run, by up to 2 * lr * sqrt(10) in
    its first two layers' weights). Here each gradient waits for all of them, so no weight is written before every
    gradient is taken. The step count's own increment still runs unordered beside the rate decay's read of it: at
    dlwp1-gan's decay of 1e-8 that moves a step's rate by 1e-8 of itself at most (an Adam check on Keras 2.0.8 would
    need it ordered too: its bias correction reads the count)."""
    get_gradients = optimizer_class.get_gradients

    def gradients_then_updates(self, loss, params):
        gradients = get_gradients(self, loss, params)
        with tf.control_dependencies(gradients):
            return [tf.identity(gradient) for gradient in gradients]

    optimizer_class.get_gradients = gradients_then_updates


def keep_float64_convolutions(backend) -> None:
    """Keras 2.0.8 casts a float64 input to float32 before each 2-D convolution (TensorFlow 1's CPU kernels were
    float32), but not the kernel, so its float64 models fail there; TensorFlow 2 convolves float64 as it is."""
    cast_and_transpose = backend._preprocess_conv2d_input

    def transpose_only(x, data_format):
        if backend.dtype(x) == "float64" and data_format == "channels_last":
            return x
        return cast_and_transpose(x, data_format)

    backend._preprocess_conv2d_input = transpose_only


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


def copy_convolution(conv: torch.nn.Module, kernel: np.ndarray, bias: np.ndarray | None = None) -> None:
    """A Keras convolution's kernel (either layout torch_kernel takes) and bias, if it has one, into a Conv2d or a
    ConvTranspose2d."""
    with torch.no_grad():
        conv.weight.copy_(torch_kernel(kernel))
        if bias is not None:
            conv.bias.copy_(torch.from_numpy(np.ascontiguousarray(bias)))


def linears(net: torch.nn.Module) -> list[torch.nn.Linear]:
    """A network's Linear layers, in the order they were made."""
    return [module for module in net.modules() if isinstance(module, torch.nn.Linear)]


def check_arguments(description: str, precision: bool = True, keras_wheel: bool = False) -> argparse.ArgumentParser:
    """The options every check takes: the training split, the steps, the seed, (precision) --float32 and
    (keras_wheel) the --keras 2.0.8 wheel the first edition's checks run."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", type=Path, default=REPO / "results" / "data" / "mnist" / "train.pt")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    if keras_wheel:
        parser.add_argument("--keras", type=Path, required=True, help="Keras 2.0.8's wheel")
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


def start_keras_2_0_8(args) -> tuple[object, torch.dtype]:
    """The first edition's checks' start: Keras 2.0.8 from args.keras in the chosen precision, TensorFlow, numpy and
    torch seeded with args.seed, the versions printed. Returns keras and the dtype."""
    dtype = chosen_dtype(args)
    keras = import_keras_2_0_8(args.keras, str(dtype).removeprefix("torch."))
    tf = sys.modules["tensorflow"]  # tf.compat.v1, as Keras 2.0.8 sees it
    tf.set_random_seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    print(f"Keras {keras.__version__} on tensorflow {tf.VERSION} (compat.v1), torch {torch.__version__}")
    return keras, dtype


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
    """Stands in for a random draw of the step: hands it the reference's draws in turn, each checked against the
    size the step asks for (a count, or a tensor to draw like), and counts them."""

    def __init__(self, what: str, drawn: list[torch.Tensor]):
        self.what, self.drawn, self.handed = what, drawn, 0

    def take(self, wanted: tuple[int, ...]) -> torch.Tensor:
        """The next draw, which must begin with the size wanted."""
        if self.handed == len(self.drawn):
            raise SystemExit(f"the preset's step draws {self.what} more often than the {len(self.drawn)} given")
        draw = self.drawn[self.handed]
        if tuple(draw.shape[: len(wanted)]) != wanted:
            raise SystemExit(
                f"the preset's step asks for {self.what} of {wanted}, the reference drew {tuple(draw.shape)}"
            )
        self.handed += 1
        return draw

    def __call__(self, size, *args, **kwargs) -> torch.Tensor:
        """size: a count (sample_noise(n, run, device)), a tensor to draw like (randn_like), or a shape, whole
        (rand((n, 1))) or as the leading integer arguments (rand(n, 1))."""
        if isinstance(size, torch.Tensor):
            return self.take(tuple(size.shape))
        if isinstance(size, (tuple, list)):
            return self.take(tuple(size))
        return self.take((size, *itertools.takewhile(lambda arg: isinstance(arg, int), args)))


class HandedMasks(HandedDraws):
    """Stands in for F.dropout: each call in training keeps the elements the reference's next mask (1 keep, 0 drop)
    keeps, and scales them as PyTorch's dropout does, input * (mask / (1 - p))."""

    def __call__(self, input: torch.Tensor, p: float = 0.5, training: bool = True, inplace: bool = False):
        if not training or p == 0:
            return input
        return input * self.take(tuple(input.shape)).div(1 - p)


@dataclass(frozen=True)
class DrawSite:
    """Where the preset's step draws random numbers: the module and the name it calls there, and what stands in for
    it in the check (HandedDraws for a draw of numbers, HandedMasks for dropout)."""

    module: object
    name: str
    handed: type[HandedDraws] = HandedDraws


DROPOUT = DrawSite(torch.nn.functional, "dropout", HandedMasks)  # nn.Dropout calls F.dropout
OPTIMIZER_NAMES = {"adam": "Adam", "rmsprop": "RMSprop"}


@contextlib.contextmanager
def float64_kept():
    """Tensor.float() leaves float64 tensors as they are, and new tensors are float64, while this lasts. The steps
    cast their networks' outputs with .float() (to take losses in float32 under autocast) and make some tensors in
    the default float32 (the GANs' labels), which in a float64 check would round them to float32: the VAE's decoder
    then refuses its float32 input, and the GANs' gradients pass through float32 there (1e-7 of the checks' gaps)."""
    cast = torch.Tensor.float

    def float_unless_float64(tensor: torch.Tensor, *args, **kwargs) -> torch.Tensor:
        return tensor if tensor.dtype == torch.float64 else cast(tensor, *args, **kwargs)

    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)  # and what the step makes (the GANs' labels) is float64 too
    try:
        with mock.patch.object(torch.Tensor, "float", float_unless_float64):
            yield
    finally:
        torch.set_default_dtype(default)


class PresetCopies:
    """Copies of a preset beside the reference (Keras, or TensorFlow 1: reference names it), each from the
    reference's initial weights (fill copies them into the preset's networks, made in dtype) and trained by the
    workflow's step for the run, with the step's random draws (sites: a DrawSite per kind of draw, by a name) replaced
    by those the reference gets: one copy as the workflow trains it and, where match is given, one whose optimizer
    takes the reference's steps (match(optimizer, epsilon, t): for Adam its epsilon, the one departure the presets
    keep, and its float32 hyperparameters)."""

    # On loss_gap. In float32, rounding amplified over a few dozen steps of Adam stays below 1e-3 where no input of a
    # ReLU falls within rounding of its kink; in float64 far below 1e-5.
    TOLERANCE = {torch.float32: 1e-3, torch.float64: 1e-5}

    def __init__(
        self,
        run: dict,
        fill: Callable[[dict], None],
        sites: dict[str, DrawSite],
        dtype: torch.dtype = torch.float32,
        match: Callable[[torch.optim.Optimizer, float, int], None] | None = None,
        reference: str = "Keras'",
    ):
        from genzoo import steps, training

        self.run, self.sites, self.dtype, self.match, self.reference = run, sites, dtype, match, reference
        self.step_function = steps.STEPS[run["update_order"]]
        self.names = ("as trained",) + ((f"{reference} {OPTIMIZER_NAMES[run['optimizer']]}",) if match else ())
        self.matched = self.names[-1]  # the copy held to the tolerance
        self.nets, self.optimizers = {}, {}
        for name in self.names:
            self.nets[name] = {key: net.to(dtype) for key, net in training.build_nets(run, torch.device("cpu")).items()}
            fill(self.nets[name])
            self.optimizers[name] = training.make_optimizers(run, self.nets[name])
        self.gaps = dict.fromkeys(self.names, 0.0)

    def train(self, name: str, real: torch.Tensor, drawn: dict[str, list[torch.Tensor]]) -> dict[str, float]:
        """One step of a copy on the batch and draws (per site, one per call the step makes there, in order); its
        losses."""
        if drawn.keys() != self.sites.keys():
            raise SystemExit(f"draws given for {sorted(drawn)}, the step draws at {sorted(self.sites)}")
        handed = {what: site.handed(what, [d.to(self.dtype) for d in drawn[what]]) for what, site in self.sites.items()}
        with contextlib.ExitStack() as patches:
            if self.dtype == torch.float64:
                patches.enter_context(float64_kept())
            for what, site in self.sites.items():
                patches.enter_context(mock.patch.object(site.module, site.name, side_effect=handed[what]))
            losses = self.step_function(
                self.nets[name], self.optimizers[name], real.to(self.dtype), self.run, torch.device("cpu")
            )
        for what, hand in handed.items():
            if hand.handed != len(drawn[what]):
                raise SystemExit(f"the preset's step drew {what} {hand.handed} times, not the {len(drawn[what])} given")
        return {key: float(value) for key, value in losses.items()}

    def step(
        self, theirs: dict[str, float], real: torch.Tensor, drawn: dict[str, list[torch.Tensor]], t: int
    ) -> list[dict]:
        """Step t (from 1) of the copies on the reference's batch and draws; its losses (theirs), then the copies'.
        A step that draws more or less often than the reference, or draws of other sizes, fails."""
        if self.match:
            for optimizer in self.optimizers[self.matched].values():
                self.match(optimizer, self.run["optimizer_eps"], t)
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
