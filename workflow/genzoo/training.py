"""The one training loop every preset runs: data, networks, optimizers, epochs, and the files they leave."""

import copy
import logging
import math
import time
from pathlib import Path

import torch
from torch.optim import swa_utils

from . import data, files, models, resume, runtime, sampling, steps
from .schedule import checkpoint_epochs, checkpoint_file, has_latent_manifold, manifold_file, sample_file

log = logging.getLogger(__name__)


def build_nets(run: dict, device: torch.device, channels_last: bool | None = None) -> dict[str, torch.nn.Module]:
    """The run's networks on the device; channels_last on CUDA (cuDNN's fast layout), compiled if asked."""
    nets = {role: net.to(device) for role, net in models.build(run["architecture"], run["latent_dim"]).items()}
    if channels_last if channels_last is not None else device.type == "cuda":
        for net in nets.values():
            net.to(memory_format=torch.channels_last)
    if run["compile"]:
        # The TF step takes two gradients from one graph (retain_graph), which buffer donation forbids.
        torch._functorch.config.donated_buffer = False
        for net in nets.values():
            net.compile()  # in place: state_dict keys stay those of the plain module
    return nets


class KerasRMSprop(torch.optim.RMSprop):
    """RMSprop as Keras 2 runs it: rho 0.9, epsilon outside the square root (PyTorch's form too), every gradient
    element clipped to [-clip_value, clip_value] first (clipvalue), and the rate lr / (1 + decay * t) at the update
    that follows t others (decay). The update count is kept in the state, so a resumed run decays on."""

    def __init__(self, params, lr: float, eps: float, clip_value: float | None, decay: float):
        super().__init__(params, lr=lr, alpha=0.9, eps=eps)
        self.clip_value, self.decay = clip_value, decay
        for group in self.param_groups:
            group.setdefault("initial_lr", lr)
            group.setdefault("updates", 0)

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            if self.clip_value is not None:
                for param in group["params"]:
                    if param.grad is not None:
                        param.grad.clamp_(-self.clip_value, self.clip_value)
            group["lr"] = group["initial_lr"] / (1 + self.decay * group["updates"])
            group["updates"] += 1
        return super().step(closure)


def add_moving_average(run: dict, nets: dict[str, torch.nn.Module]) -> None:
    """With `ema`, an exponential moving average of the generator's weights (and BatchNorm statistics), as the role
    generator_ema: saved and restored with the others, updated after every step by update_moving_average."""
    if run["ema"] is not None:
        average = swa_utils.get_ema_multi_avg_fn(run["ema"])
        nets["generator_ema"] = swa_utils.AveragedModel(nets["generator"], multi_avg_fn=average, use_buffers=True)


def update_moving_average(nets: dict[str, torch.nn.Module]) -> None:
    if "generator_ema" in nets:
        nets["generator_ema"].update_parameters(nets["generator"])


def make_optimizers(run: dict, nets: dict[str, torch.nn.Module]) -> dict[str, torch.optim.Optimizer]:
    """The preset's optimizer per network: Adam, fused (one pass over each parameter's four tensors instead of
    several; the MLP presets spend a quarter of their CPU step in the unfused one) or torch's default as the run's
    `adam` says, or Keras' RMSprop."""

    device = next(nets["generator"].parameters()).device
    fused = True if run["adam"] == "fused" else None  # None: torch's own pick, as a script that names none gets
    capturable = steps.uses_cuda_graph(run, device)  # step counts on the GPU, updated inside the graph

    def optimizer(parameters, lr):
        if run["optimizer"] == "rmsprop":
            return KerasRMSprop(parameters, lr, run["optimizer_eps"], run["clip_value"], run["lr_decay"])
        betas, eps = tuple(run["betas"]), run["optimizer_eps"]
        return torch.optim.Adam(parameters, lr=lr, betas=betas, eps=eps, fused=fused, capturable=capturable)

    generator_params = [p for role in ("encoder", "generator") if role in nets for p in nets[role].parameters()]
    optimizers = {"generator": optimizer(generator_params, run["lr_g"])}
    if "discriminator" in nets:
        optimizers["discriminator"] = optimizer(nets["discriminator"].parameters(), run["lr_d"])
    return optimizers


def format_duration(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def epoch_order(run: dict, n: int, order_rng: torch.Generator) -> torch.Tensor:
    """The order a pass visits the n training images in: fresh from order_rng, or the data's own (shuffle off)."""
    return torch.randperm(n, generator=order_rng) if run["shuffle"] else torch.arange(n)


class DataCursor:
    """Where the next batch comes from: passes over the n training images, each in its own order, cut into batches
    of batch_size (a short last one kept unless drop_last). An epoch takes the next batches_per_epoch batches: a
    whole pass, or, with steps_per_epoch, as many as that asks, going on from where the last epoch stopped."""

    def __init__(self, run: dict, n: int, device: torch.device):
        self.run, self.n, self.device = run, n, device
        self.rng = torch.Generator().manual_seed(run["seed"] + 1)  # its own, so model code cannot shift the order
        self.batches_per_pass = n // run["batch_size"] if run["drop_last"] else math.ceil(n / run["batch_size"])
        self.batches_per_epoch = run["steps_per_epoch"] or self.batches_per_pass
        self.order, self.position = None, self.batches_per_pass  # no pass begun

    def next_batch(self) -> tuple[torch.Tensor, int]:
        """The indices of the next batch, and its index within its pass."""
        if self.position == self.batches_per_pass:
            self.order, self.position = epoch_order(self.run, self.n, self.rng).to(self.device), 0
        size = self.run["batch_size"]
        chosen = self.order[self.position * size : (self.position + 1) * size]
        self.position += 1
        return chosen, self.position - 1

    def state_dict(self) -> dict:
        finished = self.position == self.batches_per_pass  # the next batch begins a pass: no order to keep
        return {"rng": self.rng.get_state(), "order": None if finished else self.order.cpu(), "position": self.position}

    def load_state_dict(self, state: dict) -> None:
        self.rng.set_state(state["rng"])
        self.position = state["position"]
        self.order = None if state["order"] is None else state["order"].to(self.device)


def smallest_batch(run: dict, n: int) -> int:
    """The fewest images a batch of the run's passes over n images holds: the short last one, unless dropped."""
    short = n % run["batch_size"]
    return short if short and not run["drop_last"] else run["batch_size"]


def roles_needing_two_images(nets: dict[str, torch.nn.Module]) -> list[str]:
    """The networks that cannot train on a batch of one image: those with a BatchNorm1d layer that normalises by the
    batch's own statistics (PyTorch refuses one value per channel; a layer on moving statistics takes it)."""
    roles = []
    for role, net in nets.items():
        device = next(net.parameters()).device
        for layer in net.modules():
            if isinstance(layer, torch.nn.BatchNorm1d) and layer.training:
                try:  # a copy, so the trial leaves the layer's running statistics as they were
                    copy.deepcopy(layer)(torch.zeros(1, layer.num_features, device=device))
                except ValueError:
                    roles.append(role)
                    break
    return roles


def check_batches(run: dict, nets: dict[str, torch.nn.Module], n: int, train_path) -> None:
    """Refuses, before the first step, batches the run could not train on as asked."""
    batch_size = run["batch_size"]
    if batch_size > n:  # a smaller batch than asked for would train silently, and be recorded as asked
        raise ValueError(
            f"run {run['name']}: batch_size {batch_size} exceeds the {n} training images of {train_path}; "
            "lower the run's batch_size (or raise the dataset's train_subset)"
        )
    if smallest_batch(run, n) > 1:
        return
    # The generator of a full_fake_batch preset makes a whole batch of fakes even beside a real batch of one.
    seen_alone = {role: net for role, net in nets.items() if not (role == "generator" and run["full_fake_batch"])}
    if roles := roles_needing_two_images(seen_alone):
        batches = (
            "go in batches of one image"
            if batch_size == 1
            else f"in batches of {batch_size} leave a last batch of one image"
        )
        fix = "a batch_size of 2 or more" if batch_size == 1 else "a batch_size that leaves a last batch of two or more"
        raise ValueError(
            f"run {run['name']}: the {n} training images of {train_path} {batches}, and the BatchNorm of the "
            f"{' and '.join(roles)} cannot normalise one image by its own statistics; choose {fix} (or another "
            "train_subset)"
        )


def run_epoch(
    step_fn, nets, optimizers, images, cursor, run, device, labels=None
) -> tuple[dict[str, torch.Tensor], int]:
    """One epoch's batches from the cursor (with their labels, for a conditional preset): each step's losses, and
    how many images the epoch saw."""
    losses, seen = [], 0
    for _ in range(cursor.batches_per_epoch):
        chosen, index = cursor.next_batch()
        batch_labels = labels[chosen] if labels is not None else None
        losses.append(step_fn(nets, optimizers, images[chosen], run, device, index, labels=batch_labels))
        update_moving_average(nets)
        seen += len(chosen)
    return {key: torch.stack([row[key] for row in losses]).float().cpu() for key in losses[0]}, seen


def check_finite(run: dict, epoch: int, steps_before: int, losses_per_step: dict[str, torch.Tensor]) -> None:
    """Stops at a NaN or infinite loss, before the epoch's outputs overwrite anything good."""
    for key, values in losses_per_step.items():
        bad = (~torch.isfinite(values)).nonzero()
        if len(bad):
            step = steps_before + int(bad[0]) + 1
            raise FloatingPointError(
                f"run {run['name']}: {key} is {float(values[bad[0]])} at epoch {epoch}, step {step}; "
                f"training stopped (try a lower learning rate)"
            )


def loss_rows(epoch: int, steps_before: int, losses_per_step: dict[str, torch.Tensor]) -> list[dict]:
    count = len(next(iter(losses_per_step.values())))
    return [
        {"epoch": epoch, "step": steps_before + offset + 1, **{k: float(v[offset]) for k, v in losses_per_step.items()}}
        for offset in range(count)
    ]


def save_epoch_outputs(run, nets, fixed_noise, epoch, step, device, resume_dir, checkpoint: bool) -> dict[str, str]:
    """The epoch's samples (and checkpoint) in the resume folder; returns each file written (folder/name) with its
    SHA-256, for the state to vouch for."""
    written = {}
    samples = sampling.generate(nets["generator"], fixed_noise, sampling.fixed_labels(run, device))
    written[f"samples/{sample_file(epoch)}"] = sampling.to_uint8(samples, run["pixel_range"])
    if has_latent_manifold(run):
        decoded = sampling.generate(nets["generator"], sampling.manifold_latents().to(device))
        side = sampling.MANIFOLD_SIZE
        grid = sampling.to_uint8(decoded, run["pixel_range"]).reshape(side, side, *decoded.shape[-2:])
        written[f"samples/{manifold_file(epoch)}"] = grid
    for name, array in written.items():
        files.save_npy(resume_dir / name, array)
    hashes = {name: files.file_hash(resume_dir / name) for name in written}
    return hashes | (save_checkpoint(nets, epoch, step, resume_dir) if checkpoint else {})


def save_checkpoint(nets, epoch, step, resume_dir) -> dict[str, str]:
    """The epoch's weights in the resume folder; returns the file (folder/name) with its SHA-256."""
    name = f"checkpoints/{checkpoint_file(epoch)}"
    state = {role: net.state_dict() for role, net in nets.items()}
    files.save_torch(resume_dir / name, {"epoch": epoch, "step": step, "nets": state})
    return {name: files.file_hash(resume_dir / name)}


def train(
    run: dict,
    train_path: str,
    checkpoints_dir: str,
    samples_dir: str,
    step_losses_path: str,
    epoch_losses_path: str,
    info_path: str,
    resume_dir: str,
    threads: int = 1,
) -> dict:
    """Trains one run, going on from the state in resume_dir when one matches (see resume.py): after a killed
    run's last finished epoch, after a finished run's last epoch when its epochs were raised, or not at all
    when a longer run already made every file this one needs.

    Writes checkpoints, fixed-noise samples per epoch, loss tables and a provenance JSON. Only one process trains a
    run at a time: a second one fails at once, naming the first one's PID.
    """
    resume_dir = Path(resume_dir)
    with resume.exclusive(resume_dir, run["name"]):
        return train_alone(
            run,
            train_path,
            checkpoints_dir,
            samples_dir,
            step_losses_path,
            epoch_losses_path,
            info_path,
            resume_dir,
            threads,
        )


def train_alone(
    run, train_path, checkpoints_dir, samples_dir, step_losses_path, epoch_losses_path, info_path, resume_dir, threads
) -> dict:
    import pandas as pd

    device = runtime.resolve_device(run["device"])
    # Flushing sets the CPU's arithmetic; a GPU's kernels keep their subnormals either way.
    flushing = runtime.configure_torch(device, threads, run["flush_denormal"]) and device.type == "cpu"
    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else None
    cpu = files.cpu_description()
    hardware = gpu or cpu["model"] or "an unnamed CPU"  # each epoch's row names it: an attempt may run elsewhere
    # The data are checked before a state is judged by them: a damaged file must not cost the run its state.
    images, labels = data.load_split(train_path, device, run["pixel_range"])
    key = resume.resume_key(run, train_path)
    state = resume.start(resume_dir, key, run)
    with resume.recorded_log(resume_dir):
        torch.manual_seed(run["seed"])
        images = data.resized(images, run["image_size"])
        labels = labels.to(device) if run["conditional"] else None
        nets = build_nets(run, device)
        n, batch_size = images.shape[0], run["batch_size"]
        check_batches(run, nets, n, train_path)
        optimizers = make_optimizers(run, nets)
        add_moving_average(run, nets)
        step_fn = steps.step_function(run, device)
        # Its own generator, so the fixed noise does not shift when model code draws more numbers.
        fixed_noise = sampling.sample_noise(run["n_fixed"], run, device, torch.Generator().manual_seed(run["seed"]))
        cursor = DataCursor(run, n, device)
        saved = set(checkpoint_epochs(run))
        log.info(
            "run %s: preset %s on %s (%s%s), %d images, batch %d, %d epochs, %d threads, parameters %s",
            run["name"],
            run["preset"],
            device,
            run["precision"],
            (", compiled" if run["compile"] else "") + (", subnormals flushed to zero" if flushing else ""),
            n,
            batch_size,
            run["epochs"],
            torch.get_num_threads(),
            {role: models.count_parameters(net) for role, net in nets.items()},
        )

        done, step, epoch_rows, file_hashes = 0, 0, [], {}
        if state is not None:
            file_hashes = dict(state["files"])
            fixed_noise = resume.restore(state, nets, optimizers, cursor, resume_dir).to(device)
            done = min(state["epoch"], run["epochs"])  # a longer run's state: its first epochs are this run
            epoch_rows = [row for row in state["epoch_rows"] if row["epoch"] <= done]
            step = epoch_rows[-1]["step"]
            last = resume_dir / "checkpoints" / checkpoint_file(done)
            if state["epoch"] == run["epochs"] and not last.is_file():  # a longer run killed at this run's end
                # Its samples are the state's; the checkpoint it lacks is written, and the state vouches for it.
                file_hashes |= save_checkpoint(nets, done, step, resume_dir)
                resume.save_state(
                    resume_dir, key, run["epochs"], done, step, nets, optimizers, cursor, fixed_noise, epoch_rows,
                    file_hashes,
                )  # fmt: skip

        started = time.time()
        for epoch in range(done + 1, run["epochs"] + 1):
            epoch_start = time.perf_counter()
            losses_per_step, images_seen = run_epoch(step_fn, nets, optimizers, images, cursor, run, device, labels)
            check_finite(run, epoch, step, losses_per_step)
            resume.append_step_losses(resume_dir, loss_rows(epoch, step, losses_per_step))
            step += cursor.batches_per_epoch
            file_hashes |= save_epoch_outputs(run, nets, fixed_noise, epoch, step, device, resume_dir, epoch in saved)
            seconds = time.perf_counter() - epoch_start
            means = {key: float(values.mean()) for key, values in losses_per_step.items()}
            epoch_rows.append(
                {
                    "epoch": epoch,
                    "step": step,
                    **means,
                    "seconds": seconds,
                    "images_per_s": images_seen / seconds,
                    "hardware": hardware,
                }
            )
            resume.save_state(
                resume_dir,
                key,
                run["epochs"],
                epoch,
                step,
                nets,
                optimizers,
                cursor,
                fixed_noise,
                epoch_rows,
                file_hashes,
            )
            eta = (time.time() - started) / (epoch - done) * (run["epochs"] - epoch)
            log.info(
                "epoch %d/%d  %s  %.0f img/s  %.1f s  ETA %s",
                epoch,
                run["epochs"],
                "  ".join(f"{k}={v:.4f}" for k, v in means.items()),
                images_seen / seconds,
                seconds,
                format_duration(eta),
            )
        finished = time.time()

        resume.publish(resume_dir, {"checkpoints": checkpoints_dir, "samples": samples_dir}, run)
        files.write_csv(step_losses_path, resume.step_losses(resume_dir, run["epochs"]))
        files.write_csv(epoch_losses_path, pd.DataFrame(epoch_rows))
        seconds = sum(row["seconds"] for row in epoch_rows)  # the epochs' own time, over every attempt
        info = files.provenance(
            run=run,
            device=str(device),
            hardware=list(dict.fromkeys(row["hardware"] for row in epoch_rows)),  # what trained its epochs, in order
            gpu=gpu,  # this attempt's machine, beside the CPU provenance records
            threads=torch.get_num_threads(),
            subnormals_flushed=flushing,
            resumed_after_epoch=done,
            train_started=started,  # this attempt's
            train_finished=finished,
            train_seconds=seconds,
            images_per_s=sum(row["images_per_s"] * row["seconds"] for row in epoch_rows) / seconds,
        )
        files.write_json(info_path, info)
        log.info("run %s finished in %s", run["name"], format_duration(finished - started))
        return info
