"""Training throughput of each preset: the workflow's loop next to the loop of the reference projects.

    python benchmarks/throughput.py [--presets pytorch-gan,tf-dcgan] [--device cpu|cuda] [--threads 1]
        [--images 4000] [--batch-size N] [--variants fp32 bf16 fp32+compile fp32+unfused fp32+graph+autotune]
        [--workers 0] [--repeats 2]

Workflow loop: what the train rule runs (genzoo.training): the split already on the device as one tensor,
batches gathered by index, the preset's Adam (fused, but torch's default for pytorch-gan, pytorch-dcgan, pytorch-lsgan
and examples-dcgan, whose references' arithmetic they take); a variant sets the run options `precision`, `compile`,
(on CUDA) `cuda_graph`, and `adam`. Subnormal floats are kept for every preset (`flush_denormal` aside): a fresh
model has none.
Reference loop: the same networks, step functions and seed, fed the way eriklindernoren/PyTorch-GAN and
pytorch/examples feed them: torchvision's MNIST dataset over IDX files, per-item PIL transforms
(Resize, ToTensor, Normalize), a shuffling DataLoader, each batch copied to the device, and
torch.optim.Adam with its default implementation, in fp32.

Both loops see the same images: the split from `--train` (written by the workflow's normalize rule),
repeated or cut to `--images`. After a few warm-up steps, each loop runs `--repeats` full epochs;
images/s is the best epoch. The last table says how many times faster the workflow loop is.
"""

import argparse
import math
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow"))

from genzoo import config, data, runtime, steps, training  # noqa: E402
from genzoo.presets import PRESETS  # noqa: E402

WARMUP_STEPS = 3


def resolve(preset: str, **options) -> dict:
    return config.standalone_run(preset, **options)


def tiled(images: torch.Tensor, labels: torch.Tensor, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The split repeated (or cut) to n images, so an epoch can have the size of full MNIST."""
    index = torch.arange(n) % images.shape[0]
    return images[index], labels[index]


def write_idx(path: Path, array: torch.Tensor) -> None:
    array = array.to(torch.uint8).contiguous()
    header = bytes([0, 0, 8, array.dim()]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    path.write_bytes(header + array.numpy().tobytes())


def reference_dataset(root: Path, images: torch.Tensor, labels: torch.Tensor, pixel_range: str, size: int = 28):
    """torchvision's MNIST class over IDX files of these images, with the references' per-item transforms."""
    from torchvision import datasets, transforms

    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    pixels = (images * 255).round().squeeze(1)
    for split, (image_file, label_file) in data.IDX_FILES.items():
        keep = slice(None) if split == "train" else slice(0, 10)
        write_idx(raw / image_file, pixels[keep])
        write_idx(raw / label_file, labels[keep])
    steps = [transforms.Resize(size), transforms.ToTensor()]
    if pixel_range == "tanh":
        steps.append(transforms.Normalize([0.5], [0.5]))
    return datasets.MNIST(str(root), train=True, transform=transforms.Compose(steps))


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def best_images_per_s(epoch, repeats: int, device: torch.device) -> tuple[float, float]:
    """(images/s, seconds) of the fastest of `repeats` epochs, after a few warm-up steps."""
    epoch(WARMUP_STEPS)
    sync(device)
    best = math.inf
    for _ in range(repeats):
        started = time.perf_counter()
        images = epoch(None)
        sync(device)
        best = min(best, time.perf_counter() - started)
    return images / best, best


def workflow_epoch(run: dict, images: torch.Tensor, labels, device: torch.device, channels_last: bool | None):
    torch.manual_seed(run["seed"])
    nets = training.build_nets(run, device, channels_last)
    optimizers = training.make_optimizers(run, nets)
    step_fn = steps.step_function(run, device)

    def epoch(max_steps: int | None) -> int:
        """A pass over the images as the workflow trains it (or its first max_steps batches); the images it saw."""
        cursor = training.DataCursor(run, images.shape[0], device)
        cursor.batches_per_epoch = (
            cursor.batches_per_pass if max_steps is None else min(cursor.batches_per_pass, max_steps)
        )
        return training.run_epoch(step_fn, nets, optimizers, images, cursor, run, device, labels)[1]

    return epoch


def reference_epoch(run: dict, dataset, device: torch.device, workers: int):
    torch.manual_seed(run["seed"])
    run = {**run, "cuda_graph": False, "adam": "default"}  # torch's default Adam, as a reference script gets it
    nets = training.build_nets(run, device, channels_last=False)
    optimizers = training.make_optimizers(run, nets)
    step_fn = steps.STEPS[run["update_order"]]
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=run["batch_size"], shuffle=True, drop_last=run["drop_last"], num_workers=workers
    )

    def epoch(max_steps: int | None) -> int:
        seen = 0
        for index, (batch, labels) in enumerate(loader):
            if max_steps is not None and index == max_steps:
                break
            labels = labels.to(device) if run["conditional"] else None
            step_fn(nets, optimizers, batch.to(device), run, device, index, labels=labels)
            seen += batch.shape[0]
        return seen

    return epoch


ADAM_FLAGS = {"fused": "fused", "unfused": "default"}  # variant flag -> the run's `adam`


class Variant(NamedTuple):
    options: dict  # run options: precision, compile, cuda_graph, and adam where the variant names one
    channels_last: bool | None  # None: the workflow's own choice (on CUDA)
    autotune: bool  # torch.backends.cudnn.benchmark while the loop trains


def parse_variant(variant: str) -> Variant:
    """'bf16+compile' -> run options {'precision': 'bf16', 'compile': True, ...}, the channels_last choice and
    whether cuDNN autotunes. '+nhwc' turns channels_last on (also on a CPU, where the workflow keeps NCHW). On CUDA,
    '+nchw' turns channels_last off, '+graph' replays each step as a CUDA graph and
    '+autotune' sets torch.backends.cudnn.benchmark (cuDNN times its convolution algorithms for each shape once and
    keeps the fastest; the workflow leaves it off); '+fused' and '+unfused' set the run's `adam` to fused or to
    torch's default (otherwise the preset's own)."""
    precision, *flags = variant.split("+")
    if precision not in ("fp32", "bf16") or set(flags) - {"compile", "nchw", "nhwc", "graph", "autotune", *ADAM_FLAGS}:
        raise SystemExit(
            f"--variants: {variant!r} is not fp32|bf16 followed by any of +compile, +nchw, +nhwc, +graph, +autotune, "
            "+fused, +unfused"
        )
    options = {"precision": precision, "compile": "compile" in flags, "cuda_graph": "graph" in flags}
    adams = {ADAM_FLAGS[flag] for flag in flags if flag in ADAM_FLAGS}
    if len(adams) > 1:
        raise SystemExit(f"--variants: {variant!r} names two Adams; give +fused or +unfused")
    if adams:
        options["adam"] = adams.pop()
    if {"nchw", "nhwc"} <= set(flags):
        raise SystemExit(f"--variants: {variant!r} names two layouts; give +nchw or +nhwc")
    channels_last = True if "nhwc" in flags else False if "nchw" in flags else None
    return Variant(options, channels_last, "autotune" in flags)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", default=",".join(PRESETS), help="comma-separated preset names")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (the workflow's default is 1)")
    parser.add_argument("--train", type=Path, default=REPO / "results" / "data" / "mnist-5k" / "train.pt")
    parser.add_argument("--images", type=int, help="images per epoch (default: the split's size)")
    parser.add_argument("--batch-size", type=int, help="default: each preset's own")
    parser.add_argument("--variants", nargs="+", default=["fp32"], help="workflow loop variants: fp32, bf16+compile…")
    parser.add_argument("--workers", type=int, nargs="+", default=[0], help="reference DataLoader num_workers")
    parser.add_argument("--repeats", type=int, default=2, help="timed epochs per loop")
    args = parser.parse_args()

    if not args.train.exists():
        sys.exit(f"{args.train} not found: run `snakemake --cores 1 results/data/<dataset>/train.pt` first")
    presets = args.presets.split(",")
    unknown = [name for name in presets if name not in PRESETS]
    if unknown:
        sys.exit(f"--presets: unknown {', '.join(unknown)}; known: {', '.join(PRESETS)}")
    batch = {"batch_size": args.batch_size} if args.batch_size else {}
    variants = {variant: parse_variant(variant) for variant in args.variants}
    runs = {}  # (preset, variant) -> the run measured; one the workflow refuses (+fused on RMSprop) fails here
    for preset in presets:
        for variant, parsed in variants.items():
            try:
                runs[preset, variant] = resolve(preset, **batch, **parsed.options)
            except config.ConfigError as error:
                sys.exit(f"--variants {variant} on {preset}: {error}")
    device = runtime.resolve_device(args.device)
    runtime.configure_torch(device, args.threads)
    images01, labels = data.load_split(args.train)
    images01, labels = tiled(images01, labels, args.images or images01.shape[0])
    hardware = torch.cuda.get_device_name() if device.type == "cuda" else f"{os.cpu_count()} CPUs"
    print(
        f"device {device} ({hardware}), "
        f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), {images01.shape[0]} images per epoch"
    )

    rows = []

    def record(preset: str, run: dict, loop: str, epoch) -> None:
        speed, seconds = best_images_per_s(epoch, args.repeats, device)
        rows.append((preset, run["batch_size"], loop, speed, seconds))
        print(f"  {preset:<14} {loop:<26} {speed:10.0f} img/s  {seconds:7.2f} s/epoch", flush=True)

    with tempfile.TemporaryDirectory(prefix="genzoo-throughput-") as root:
        for preset in presets:
            reference_run = resolve(preset, **batch)
            size = reference_run["image_size"]
            images = data.resized(data.from_unit_range(images01, reference_run["pixel_range"]), size).to(device)
            dataset = reference_dataset(Path(root) / preset, images01, labels, reference_run["pixel_range"], size)
            for workers in args.workers:
                epoch = reference_epoch(reference_run, dataset, device, workers)
                record(preset, reference_run, f"reference, {workers} workers", epoch)
            for variant, parsed in variants.items():
                run = runs[preset, variant]
                run_labels = labels.to(device) if run["conditional"] else None
                torch.backends.cudnn.benchmark = parsed.autotune  # read at each convolution: for this loop alone
                epoch = workflow_epoch(run, images, run_labels, device, parsed.channels_last)
                record(preset, run, f"workflow, {variant}", epoch)
            torch.backends.cudnn.benchmark = False

    n = images01.shape[0]
    print(f"\n| preset | batch | loop | images/s | s/epoch ({n} images) | × reference ({args.workers[0]} workers) |")
    print("|---|---:|---|---:|---:|---:|")
    for preset, batch, loop, speed, seconds in rows:
        reference = next(r[3] for r in rows if r[0] == preset and r[2].startswith("reference"))
        print(f"| {preset} | {batch} | {loop} | {speed:,.0f} | {seconds:.2f} | {speed / reference:.2f} |")


if __name__ == "__main__":
    main()
