"""One epoch of a run, from its saved state, with subnormal floats kept (PyTorch's CPU arithmetic) and flushed to
zero (TensorFlow's, the run setting `flush_denormal`): the time of each, how many optimizer moments are subnormal
before and after, and whether the two give the same weights.

    python benchmarks/denormals.py --state results/runs/<run>/resume/state.pt \
        --train results/data/<dataset>/train.pt --preset tf-basic-gan [--set seed=3 ...] [--repeats 2]

The state is the one a run leaves after its last finished epoch (`resume/state.pt`); --preset and --set give the
run's settings as its config entry does (they must be those that trained it). One thread, on the CPU, as the
workflow's jobs train; each epoch starts from a fresh copy of the state. Long runs are where subnormals pile up
(tf-basic-gan after some hundred epochs): the Adam moments of weights whose gradient vanishes (the generator's
sigmoid outputs saturated at MNIST's black borders, the discriminator's weights from those pixels, dead ReLU units)
decay by beta2 every step until they stick below 1.2e-38.
"""

import argparse
import copy
import sys
import time
from pathlib import Path

import torch
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow"))

from genzoo import config, data, files, runtime, steps, training  # noqa: E402

SMALLEST_NORMAL = torch.finfo(torch.float32).tiny


def subnormal_count(tensors) -> tuple[int, int]:
    """How many of these float32 tensors' elements are subnormal, of how many."""
    subnormal = total = 0
    for tensor in tensors:
        if tensor.dtype == torch.float32:
            subnormal += int(((tensor != 0) & (tensor.abs() < SMALLEST_NORMAL)).sum())
            total += tensor.numel()
    return subnormal, total


def moments(parameter_states) -> list[torch.Tensor]:
    """The optimizer moments in these per-parameter states (Adam's two, RMSprop's one; not the step counts)."""
    return [value for state in parameter_states for key, value in state.items() if key != "step"]


def one_epoch(run: dict, state: dict, images: torch.Tensor, labels, flush: bool) -> dict:
    """One epoch from a copy of state, subnormals flushed or kept: seconds, subnormal moments, final weights."""
    state = copy.deepcopy(state)  # an optimizer takes the state's tensors as its own and updates them in place
    device = torch.device("cpu")
    # Counted with subnormals kept: flushing also reads them as zero (x != 0 is False for one).
    runtime.configure_torch(device, 1, False)
    before = subnormal_count(moments(s for opt in state["optimizers"].values() for s in opt["state"].values()))
    flushing = runtime.configure_torch(device, 1, flush)
    nets = training.build_nets(run, device)
    optimizers = training.make_optimizers(run, nets)
    training.add_moving_average(run, nets)
    for role, net in nets.items():
        net.load_state_dict(state["nets"][role])
    for name, optimizer in optimizers.items():
        optimizer.load_state_dict(state["optimizers"][name])
    torch.set_rng_state(state["torch_rng"])
    cursor = training.DataCursor(run, images.shape[0], device)
    cursor.load_state_dict(state["data_cursor"])
    start = time.perf_counter()
    training.run_epoch(steps.step_function(run, device), nets, optimizers, images, cursor, run, device, labels)
    seconds = time.perf_counter() - start
    runtime.configure_torch(device, 1, False)
    return {
        "flushing": flushing,
        "seconds": seconds,
        "before": before,
        "after": subnormal_count(moments(s for opt in optimizers.values() for s in opt.state.values())),
        "weights": {role: {k: v.clone() for k, v in net.state_dict().items()} for role, net in nets.items()},
    }


def weights_differ(a: dict, b: dict) -> float:
    """The largest absolute difference between two runs' weights (0.0: bit-identical)."""
    return max(float((a[role][key].double() - b[role][key].double()).abs().max()) for role in a for key in a[role])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--state", required=True, type=Path, help="a run's resume/state.pt")
    parser.add_argument("--train", required=True, type=Path, help="the training split it was trained on")
    parser.add_argument("--preset", required=True)
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="run settings, YAML values")
    parser.add_argument("--repeats", type=int, default=2, help="epochs timed each way, alternating")
    args = parser.parse_args()

    settings = {key: yaml.safe_load(value) for key, value in (item.split("=", 1) for item in args.set)}
    run = config.standalone_run(args.preset, **{"device": "cpu", **settings})
    state = files.load_torch(args.state)
    images, labels = data.load_split(args.train, torch.device("cpu"), run["pixel_range"])
    images = data.resized(images, run["image_size"])
    labels = labels if run["conditional"] else None
    print(f"{args.preset}, state after epoch {state['epoch']} (step {state['step']}), {images.shape[0]} images")
    print(f"CPU: {files.cpu_description()}, torch {torch.__version__}, 1 thread")
    results = {False: [], True: []}
    for _ in range(args.repeats):
        for flush in (False, True):
            results[flush].append(one_epoch(run, state, images, labels, flush))
    print("| subnormals | seconds an epoch | subnormal optimizer moments before → after |")
    print("|---|---|---|")
    for flush, epochs in results.items():
        if flush and not epochs[0]["flushing"]:
            print("| flushed to zero | (this CPU cannot flush them) | |")
            continue
        subnormal, total = epochs[0]["before"]
        after = epochs[0]["after"][0]
        times = ", ".join(f"{epoch['seconds']:.2f}" for epoch in epochs)
        print(f"| {'flushed to zero' if flush else 'kept'} | {times} | {subnormal:,} of {total:,} → {after:,} |")
    kept, flushed = results[False][0], results[True][0]
    best = min(e["seconds"] for e in results[False]) / min(e["seconds"] for e in results[True])
    difference = weights_differ(kept["weights"], flushed["weights"])
    print(f"flushed is {best:.2f}x as fast (best epochs); weights after the epoch: " + (
        "bit-identical" if difference == 0 else f"differ by up to {difference:.3g}"
    ))  # fmt: skip


if __name__ == "__main__":
    main()
