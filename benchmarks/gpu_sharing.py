"""How many training jobs one GPU should run at once: k copies of a preset's training loop in k processes, as k
Snakemake jobs would be, started together, for each k asked for.

    python benchmarks/gpu_sharing.py [--presets tf-dcgan,pytorch-gan] [--jobs 1 2 4 8] [--device cuda]
        [--variant fp32+graph] [--images 60000] [--epochs 2] [--train results/data/mnist/train.pt] [--mps]

Each process builds the run the workflow would (the split on the device, the step of `--variant`, as in
benchmarks/throughput.py), warms up, waits until all k are ready, then trains `--epochs` epochs of `--images`
images. The table gives, per k, the images per second of all k together (images trained / time until the last
finished) and each job's own epoch time: the default profile's `gpu` resource (CUDA jobs at once per GPU) should be
the k past which the total stops growing. `--device cpu` runs the same measurement on CPU cores. `--mps` runs the
jobs under an MPS daemon of the benchmark's own (benchmarks/mps.py), so that their kernels can run at once instead of
taking turns.
"""

import argparse
import contextlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
sys.path.insert(0, str(REPO / "workflow"))
POLL_S = 0.05

from mps import mps_server  # noqa: E402


def worker(args) -> None:
    """One job: build, warm up, say ready, wait for the start, train, report."""
    import torch
    from genzoo import data, runtime
    from throughput import WARMUP_STEPS, parse_variant, resolve, sync, tiled, workflow_epoch

    device = runtime.resolve_device(args.device)
    runtime.configure_torch(device, 1)
    variant = parse_variant(args.variant)
    torch.backends.cudnn.benchmark = variant.autotune
    run = resolve(args.preset, device=args.device, **variant.options)
    images, labels = tiled(*data.load_split(args.train), args.images)
    images = data.resized(data.from_unit_range(images, run["pixel_range"]), run["image_size"]).to(device)
    epoch = workflow_epoch(
        run, images, labels.to(device) if run["conditional"] else None, device, variant.channels_last
    )
    epoch(WARMUP_STEPS)
    sync(device)
    Path(args.ready).touch()
    while not Path(args.go).exists():
        time.sleep(POLL_S)
    started = time.monotonic()  # one clock for every process of the machine
    seen = sum(epoch(None) for _ in range(args.epochs))
    sync(device)
    ended = time.monotonic()
    memory = torch.cuda.max_memory_allocated() / 2**20 if device.type == "cuda" else 0.0
    print(json.dumps({"images": seen, "started": started, "ended": ended, "memory_mib": memory}), flush=True)


def measure(args, preset: str, k: int, folder: Path) -> dict:
    """k workers started together: their images per second together (from the first start to the last end), their
    slowest epoch and their largest GPU memory."""
    go = folder / f"{preset}-{k}.go"
    jobs = []
    for index in range(k):
        command = [
            sys.executable,
            __file__,
            "--worker",
            "--preset",
            preset,
            "--ready",
            str(folder / f"{preset}-{k}-{index}"),
        ]
        command += ["--go", str(go), "--device", args.device, "--variant", args.variant, "--images", str(args.images)]
        command += ["--epochs", str(args.epochs), "--train", str(args.train)]
        jobs.append(subprocess.Popen(command, stdout=subprocess.PIPE, text=True))
    while not all((folder / f"{preset}-{k}-{index}").exists() for index in range(k)):
        if any(job.poll() not in (None, 0) for job in jobs):
            for job in jobs:
                job.kill()
            sys.exit(f"a {preset} worker failed (k = {k}); its error is above")
        time.sleep(POLL_S)
    go.touch()
    reports = []
    for job in jobs:
        output, _ = job.communicate()
        if job.returncode:
            sys.exit(f"a {preset} worker failed (k = {k}); its error is above")
        reports.append(json.loads(output.strip().splitlines()[-1]))
    wall = max(report["ended"] for report in reports) - min(report["started"] for report in reports)
    images = sum(report["images"] for report in reports)
    epoch_s = max(report["ended"] - report["started"] for report in reports) / args.epochs
    memory = max(report["memory_mib"] for report in reports)
    return {"k": k, "images_per_s": images / wall, "epoch_s": epoch_s, "memory_mib": memory}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", default="tf-dcgan", help="comma-separated preset names")
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2, 4, 8], help="jobs at once (k) to measure")
    parser.add_argument("--device", default="cuda", choices=["cpu", "cuda"])
    parser.add_argument("--variant", default="fp32+graph", help="as benchmarks/throughput.py: fp32, fp32+graph, ...")
    parser.add_argument("--images", type=int, default=60000, help="images per epoch (the split tiled or cut)")
    parser.add_argument("--epochs", type=int, default=2, help="timed epochs per job")
    parser.add_argument("--train", type=Path, default=REPO / "results" / "data" / "mnist" / "train.pt")
    parser.add_argument("--mps", action="store_true", help="run the jobs under an MPS daemon of their own")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--preset", help=argparse.SUPPRESS)
    parser.add_argument("--ready", help=argparse.SUPPRESS)
    parser.add_argument("--go", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args)
    if not args.train.exists():
        sys.exit(f"{args.train} not found: run `snakemake --cores 1 results/data/<dataset>/train.pt` first")

    import torch

    hardware = torch.cuda.get_device_name() if args.device == "cuda" else "CPU"
    sharing = ", MPS" if args.mps else ""
    print(f"{hardware}, torch {torch.__version__}, {args.variant}, {args.images} images per epoch{sharing}", flush=True)
    print(
        "| preset | jobs at once | images/s, all jobs | × the first k | s per epoch, slowest job | peak MiB per job |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    with (
        tempfile.TemporaryDirectory(prefix="genzoo-gpu-sharing-") as folder,
        mps_server() if args.mps else contextlib.nullcontext(),
    ):
        for preset in args.presets.split(","):
            alone = None
            for k in args.jobs:
                row = measure(args, preset, k, Path(folder))
                alone = alone or row["images_per_s"]
                print(
                    f"| {preset} | {k} | {row['images_per_s']:,.0f} | {row['images_per_s'] / alone:.2f} "
                    f"| {row['epoch_s']:.2f} | {row['memory_mib']:,.0f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
