"""A short pytorch-gan run outside the workflow that swaps one thing at a time against PyTorch-GAN's gan.py: which
Adam (torch's default, as the reference, or the fused one; a run's `adam`), which loss form (`loss`), which random
streams. For telling which of them decides the game a run settles into (docs/reproductions.md).

    python benchmarks/gan_regime_probe.py [--train results/data/mnist/train.pt] [--seed 1] [--epochs 25]
        [--adam default|fused] [--loss bce|bce_sigmoid] [--streams reference|workflow] [--save-every 20 --out DIR]

The preset's networks and step (with `--adam default --loss bce_sigmoid` it takes gan.py's steps bit for bit, as
tests/test_training.py checks). `--streams reference` draws the noise with NumPy (float64, then float32) and each
epoch's order with a fresh torch.randperm, as gan.py and its DataLoader(shuffle=True) do, after seeding both with
the seed; `workflow` draws them as the workflow does (torch.randn, DataCursor). Prints each epoch's mean
discriminator and generator loss in PyTorch-GAN's log format, so benchmarks/reference_losses.py reads it.
`--out DIR` saves the generator every `--save-every` epochs and at the last, as DIR/epoch_NNNN.pt in the workflow's
checkpoint layout, for benchmarks/score_checkpoints.py. The workflow trains the same networks and steps with
`adam` and `loss` set in its config; only the reference's streams need this script.
"""

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow"))

from genzoo import config, data, files, steps, training  # noqa: E402
from genzoo.schedule import checkpoint_file  # noqa: E402

CPU = torch.device("cpu")


def epoch_batches(streams: str, cursor: training.DataCursor, n: int, batch_size: int) -> list[torch.Tensor]:
    if streams == "reference":
        order = torch.randperm(n)
        return [order[start : start + batch_size] for start in range(0, n, batch_size)]
    return [cursor.next_batch()[0] for _ in range(cursor.batches_per_epoch)]


def noise(streams: str, n: int, latent_dim: int) -> torch.Tensor:
    if streams == "reference":
        return torch.tensor(np.random.normal(0, 1, (n, latent_dim)), dtype=torch.float32)
    return torch.randn(n, latent_dim)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", type=Path, default=REPO / "results" / "data" / "mnist" / "train.pt")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=25)
    parser.add_argument("--adam", choices=["default", "fused"], default="default")
    parser.add_argument("--loss", choices=["bce", "bce_sigmoid"], default="bce_sigmoid")
    parser.add_argument("--streams", choices=["reference", "workflow"], default="reference")
    parser.add_argument("--out", type=Path, help="save the generator here (the workflow's checkpoint layout)")
    parser.add_argument("--save-every", type=int, default=20, help="epochs between saved generators (with --out)")
    args = parser.parse_args()
    if not args.train.exists():
        sys.exit(f"{args.train} not found: run `snakemake --cores 1 results/data/mnist/train.pt` first")

    torch.set_num_threads(1)
    run = config.standalone_run("pytorch-gan", seed=args.seed, loss=args.loss, adam=args.adam)
    images, _ = data.load_split(args.train, CPU, run["pixel_range"])
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    nets = training.build_nets(run, CPU)
    optimizers = training.make_optimizers(run, nets)
    cursor = training.DataCursor(run, len(images), CPU)
    drawn: list[torch.Tensor] = []
    steps.sampling.sample_noise = lambda n, run, device, generator=None: drawn.pop(0)  # the chosen stream's noise
    print(f"# pytorch-gan probe: seed {args.seed}, {args.adam} Adam, loss {args.loss}, {args.streams} streams")
    for epoch in range(args.epochs):
        batches = epoch_batches(args.streams, cursor, len(images), run["batch_size"])
        d_losses, g_losses = [], []
        for chosen in batches:
            drawn.append(noise(args.streams, len(chosen), run["latent_dim"]))
            losses = steps.step_generator_first(nets, optimizers, images[chosen], run, CPU)
            d_losses.append(float(losses["d_loss"]))
            g_losses.append(float(losses["g_loss"]))
        print(
            f"[Epoch {epoch}/{args.epochs}] [Batch 0/{len(batches)}] "
            f"[D loss: {np.mean(d_losses):f}] [G loss: {np.mean(g_losses):f}]",
            flush=True,
        )
        if args.out and ((epoch + 1) % args.save_every == 0 or epoch + 1 == args.epochs):
            state = {"epoch": epoch + 1, "nets": {"generator": nets["generator"].state_dict()}}
            files.save_torch(args.out / checkpoint_file(epoch + 1), state)


if __name__ == "__main__":
    main()
