"""The one training loop every preset runs; what differs per preset is its step function."""

import logging
import math
import time
from pathlib import Path

import torch

from . import data, graphs, io, losses, models, resume, runtime
from .schedule import checkpoint_epochs, checkpoint_file, has_latent_manifold, manifold_file, sample_file

log = logging.getLogger(__name__)

MANIFOLD_SIZE = 15  # Deep Learning with Python's 15 x 15 grid on the normal quantiles


def sample_noise(n: int, run: dict, device: torch.device, generator: torch.Generator | None = None) -> torch.Tensor:
    """The preset's noise. With a (CPU) generator: drawn on the CPU, then moved, so it is the same on any device."""
    shape = (n, run["latent_dim"])
    where = "cpu" if generator is not None else device
    if run["noise"] == "uniform":
        noise = torch.rand(shape, generator=generator, device=where) * 2 - 1
    else:
        noise = torch.randn(shape, generator=generator, device=where)
    return noise.to(device)


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


def uses_cuda_graph(run: dict, device: torch.device) -> bool:
    return device.type == "cuda" and run["cuda_graph"]


def make_optimizers(
    run: dict, nets: dict[str, torch.nn.Module], fused: bool | None = True
) -> dict[str, torch.optim.Optimizer]:
    """Adam per network. fused: one pass over each parameter's four tensors instead of several (the MLP
    presets spend a quarter of their CPU step in the unfused one); None leaves torch's default."""

    device = next(nets["generator"].parameters()).device
    capturable = bool(fused) and uses_cuda_graph(run, device)  # step counts on the GPU, updated inside the graph

    def adam(parameters, lr):
        betas, eps = tuple(run["betas"]), run["adam_eps"]
        return torch.optim.Adam(parameters, lr=lr, betas=betas, eps=eps, fused=fused, capturable=capturable)

    generator_params = [p for role in ("encoder", "generator") if role in nets for p in nets[role].parameters()]
    optimizers = {"generator": adam(generator_params, run["lr_g"])}
    if "discriminator" in nets:
        optimizers["discriminator"] = adam(nets["discriminator"].parameters(), run["lr_d"])
    return optimizers


def autocast(run: dict, device: torch.device):
    """bf16 autocast for the forward passes when the run asks for it; losses are taken in fp32 outside it."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=run["precision"] == "bf16")


def descend(optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> None:
    """One optimizer step on the loss's gradients (cleared first; the forward passes never touch them)."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


def generator_loss(run: dict, fake_logits: torch.Tensor) -> torch.Tensor:
    return losses.GAN_LOSSES[run["loss"]][0](fake_logits.float(), run["g_loss_scale"])


def discriminator_loss(run: dict, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    return losses.GAN_LOSSES[run["loss"]][1](real_logits.float(), fake_logits.float(), run["d_loss_scale"])


def conditions(run: dict, labels, n: int, device: torch.device) -> tuple[tuple, tuple]:
    """Extra arguments of the networks for real and for generated images: none, or (labels,) for a
    conditional preset, whose fakes get labels drawn uniformly, as cgan.py does."""
    if not run["conditional"]:
        return (), ()
    return (labels,), (torch.randint(0, data.NUM_CLASSES, (n,), device=device),)


def step_generator_first(nets, optimizers, real, run, device, index=0, labels=None) -> dict[str, torch.Tensor]:
    """PyTorch-GAN's order: update G on fresh fakes, then D on the same fakes, detached."""
    generator, discriminator = nets["generator"], nets["discriminator"]
    noise = sample_noise(real.shape[0], run, device)
    real_args, fake_args = conditions(run, labels, real.shape[0], device)
    with autocast(run, device):
        fake = generator(noise, *fake_args)
        fake_logits = discriminator(fake, *fake_args)
    g_loss = generator_loss(run, fake_logits)
    descend(optimizers["generator"], g_loss)

    with autocast(run, device):
        real_logits, fake_logits = discriminator(real, *real_args), discriminator(fake.detach(), *fake_args)
    d_loss = discriminator_loss(run, real_logits, fake_logits)
    descend(optimizers["discriminator"], d_loss)
    return {"g_loss": g_loss.detach(), "d_loss": d_loss.detach()}


def step_simultaneous(nets, optimizers, real, run, device, index=0, labels=None) -> dict[str, torch.Tensor]:
    """The TF tutorial's train_step: one forward pass, both gradients taken before either update."""
    generator, discriminator = nets["generator"], nets["discriminator"]
    with autocast(run, device):
        fake = generator(sample_noise(real.shape[0], run, device))
        real_logits, fake_logits = discriminator(real), discriminator(fake)
    g_loss = generator_loss(run, fake_logits)
    d_loss = discriminator_loss(run, real_logits, fake_logits)
    g_params = list(generator.parameters())
    d_params = list(discriminator.parameters())
    g_grads = torch.autograd.grad(g_loss, g_params, retain_graph=True)
    d_grads = torch.autograd.grad(d_loss, d_params)
    for params, grads in ((g_params, g_grads), (d_params, d_grads)):
        for param, grad in zip(params, grads, strict=True):
            param.grad = grad
    optimizers["generator"].step()
    optimizers["discriminator"].step()
    return {"g_loss": g_loss.detach(), "d_loss": d_loss.detach()}


def step_discriminator_first(nets, optimizers, real, run, device, index=0, labels=None) -> dict[str, torch.Tensor]:
    """CS231n's and the TF1 GAN's order: update D on real and detached fakes, then G on fresh noise."""
    generator, discriminator = nets["generator"], nets["discriminator"]
    with torch.no_grad(), autocast(run, device):  # D's step needs no graph through G
        fake = generator(sample_noise(real.shape[0], run, device))
    with autocast(run, device):
        real_logits, fake_logits = discriminator(real), discriminator(fake)
    d_loss = discriminator_loss(run, real_logits, fake_logits)
    descend(optimizers["discriminator"], d_loss)

    with autocast(run, device):
        fake_logits = discriminator(generator(sample_noise(real.shape[0], run, device)))
    g_loss = generator_loss(run, fake_logits)
    descend(optimizers["generator"], g_loss)
    return {"g_loss": g_loss.detach(), "d_loss": d_loss.detach()}


def step_discriminator_first_same_fake(
    nets, optimizers, real, run, device, index=0, labels=None
) -> dict[str, torch.Tensor]:
    """pytorch/examples' order: update D on real and detached fakes, then G through the updated D on the
    same fakes (G runs once per step)."""
    generator, discriminator = nets["generator"], nets["discriminator"]
    with autocast(run, device):
        fake = generator(sample_noise(real.shape[0], run, device))
        real_logits, fake_logits = discriminator(real), discriminator(fake.detach())
    d_loss = discriminator_loss(run, real_logits, fake_logits)
    descend(optimizers["discriminator"], d_loss)

    with autocast(run, device):
        fake_logits = discriminator(fake)
    g_loss = generator_loss(run, fake_logits)
    descend(optimizers["generator"], g_loss)
    return {"g_loss": g_loss.detach(), "d_loss": d_loss.detach()}


def step_critic(nets, optimizers, real, run, device, index=0, labels=None) -> dict[str, torch.Tensor]:
    """PyTorch-GAN's WGAN-GP: a critic update on every batch, a generator update on every n_critic-th
    batch of the epoch (index 0, n_critic, ...) from the same noise. Its loss is logged on every batch:
    on the others, -E[D(G(z))] from the critic's forward pass, which is what G would have minimized."""
    generator, critic = nets["generator"], nets["discriminator"]
    noise = sample_noise(real.shape[0], run, device)
    with torch.no_grad(), autocast(run, device):  # the critic's step needs no graph through G
        fake = generator(noise)
    with autocast(run, device):
        # One critic pass over both halves: the critic has no batch statistics, and small steps pay per call.
        real_scores, fake_scores = critic(torch.cat([real, fake])).float().split(real.shape[0])
    alpha = torch.rand(real.shape[0], 1, 1, 1, device=device)
    penalty = losses.gradient_penalty(critic, real, fake, alpha)
    d_loss = losses.wasserstein_critic_loss(real_scores, fake_scores) + run["gp_weight"] * penalty
    descend(optimizers["discriminator"], d_loss)

    if index % run["n_critic"] != 0:
        g_loss = losses.wasserstein_generator_loss(fake_scores.detach())
        return {"g_loss": g_loss, "d_loss": d_loss.detach(), "gradient_penalty": penalty.detach()}
    with autocast(run, device):
        fake_scores = critic(generator(noise)).float()
    g_loss = losses.wasserstein_generator_loss(fake_scores)
    descend(optimizers["generator"], g_loss)
    return {"g_loss": g_loss.detach(), "d_loss": d_loss.detach(), "gradient_penalty": penalty.detach()}


def step_vae(nets, optimizers, real, run, device, index=0, labels=None) -> dict[str, torch.Tensor]:
    with autocast(run, device):
        z_mean, z_log_var = (t.float() for t in nets["encoder"](real))
    z = z_mean + torch.exp(0.5 * z_log_var) * torch.randn_like(z_mean)
    with autocast(run, device):
        reconstruction = nets["generator"](z).float()
    # Outside autocast: CUDA refuses binary_cross_entropy under it, and the ELBO sums in fp32.
    loss, recon_loss, kl = losses.vae_elbo_loss(reconstruction, real, z_mean, z_log_var)
    descend(optimizers["generator"], loss)
    return {"loss": loss.detach(), "reconstruction": recon_loss.detach(), "kl": kl.detach()}


STEPS = {
    "g_then_d": step_generator_first,
    "d_then_g": step_discriminator_first,
    "d_then_g_same_fake": step_discriminator_first_same_fake,
    "simultaneous": step_simultaneous,
    "critic": step_critic,
    "vae": step_vae,
}


def step_function(run: dict, device: torch.device):
    """The preset's step; on a GPU, replayed as one CUDA graph when the run sets cuda_graph: true."""
    step_fn = STEPS[run["update_order"]]
    return graphs.GraphedStep(step_fn) if uses_cuda_graph(run, device) else step_fn


def to_uint8(images: torch.Tensor, pixel_range: str):
    """(N, 1, H, W) in the preset's range -> (N, H, W) uint8 numpy, for rendering without torch."""
    unit = data.to_unit_range(images.detach().float().cpu(), pixel_range)
    return (unit * 255).round().to(torch.uint8).squeeze(1).numpy()


@torch.no_grad()
def generate(generator: torch.nn.Module, noise: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
    """Generator output in inference mode (BatchNorm running stats, no dropout), as the references render."""
    was_training = generator.training
    generator.eval()
    try:
        return generator(noise) if labels is None else generator(noise, labels)
    finally:
        generator.train(was_training)


def manifold_latents(size: int = MANIFOLD_SIZE) -> torch.Tensor:
    """Latent points on the normal quantiles Phi^-1(linspace(0.05, 0.95)); row i holds z0 = q_i."""
    quantiles = torch.special.ndtri(torch.linspace(0.05, 0.95, size, dtype=torch.float64)).float()
    rows, cols = torch.meshgrid(quantiles, quantiles, indexing="ij")
    return torch.stack([rows.flatten(), cols.flatten()], dim=1)


def format_duration(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def fixed_labels(run: dict, device: torch.device) -> torch.Tensor | None:
    """A conditional preset's sample grid: one row per label (n_fixed / 10 columns); None otherwise."""
    if not run["conditional"]:
        return None
    return torch.arange(data.NUM_CLASSES, device=device).repeat_interleave(run["n_fixed"] // data.NUM_CLASSES)


def run_epoch(
    step_fn, nets, optimizers, images, order, batch_size, batches, run, device, labels=None
) -> dict[str, torch.Tensor]:
    """One pass over the shuffled images (and their labels, for a conditional preset); each loss per step."""
    losses = []
    for index in range(batches):
        chosen = order[index * batch_size : (index + 1) * batch_size]
        batch_labels = labels[chosen] if labels is not None else None
        losses.append(step_fn(nets, optimizers, images[chosen], run, device, index, labels=batch_labels))
    return {key: torch.stack([row[key] for row in losses]).float().cpu() for key in losses[0]}


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


def save_epoch_outputs(run, nets, fixed_noise, epoch, step, device, checkpoints_dir, samples_dir, checkpoint: bool):
    io.save_npy(
        samples_dir / sample_file(epoch),
        to_uint8(generate(nets["generator"], fixed_noise, fixed_labels(run, device)), run["pixel_range"]),
    )
    if has_latent_manifold(run):
        decoded = generate(nets["generator"], manifold_latents().to(device))
        grid = to_uint8(decoded, run["pixel_range"]).reshape(MANIFOLD_SIZE, MANIFOLD_SIZE, *decoded.shape[-2:])
        io.save_npy(samples_dir / manifold_file(epoch), grid)
    if checkpoint:
        state = {role: net.state_dict() for role, net in nets.items()}
        io.save_torch(checkpoints_dir / checkpoint_file(epoch), {"epoch": epoch, "step": step, "nets": state})


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

    Writes checkpoints, fixed-noise samples per epoch, loss tables and a provenance JSON.
    """
    import pandas as pd

    device = runtime.resolve_device(run["device"])
    runtime.configure_torch(device, threads)
    resume_dir = Path(resume_dir)
    key = resume.resume_key(run, train_path)
    state = resume.start(resume_dir, key, run)

    torch.manual_seed(run["seed"])
    images, labels = data.load_split(train_path, device, run["pixel_range"])
    images = data.resized(images, run["image_size"])
    labels = labels.to(device) if run["conditional"] else None
    nets = build_nets(run, device)
    optimizers = make_optimizers(run, nets)
    step_fn = step_function(run, device)
    # Own generators, so the fixed noise and the data order do not shift when model code draws more numbers.
    fixed_noise = sample_noise(run["n_fixed"], run, device, torch.Generator().manual_seed(run["seed"]))
    order_rng = torch.Generator().manual_seed(run["seed"] + 1)

    n, batch_size = images.shape[0], run["batch_size"]
    batches_per_epoch = n // batch_size if run["drop_last"] else math.ceil(n / batch_size)
    if batches_per_epoch == 0:
        raise ValueError(f"run {run['name']}: batch_size {batch_size} exceeds the {n} training images")
    images_seen = min(n, batches_per_epoch * batch_size)
    saved = set(checkpoint_epochs(run))
    log.info(
        "run %s: preset %s on %s (%s%s), %d images, batch %d, %d epochs, %d threads, parameters %s",
        run["name"],
        run["preset"],
        device,
        run["precision"],
        ", compiled" if run["compile"] else "",
        n,
        batch_size,
        run["epochs"],
        torch.get_num_threads(),
        {role: models.count_parameters(net) for role, net in nets.items()},
    )

    done, step, step_rows, epoch_rows = 0, 0, [], []
    if state is not None:
        fixed_noise = resume.restore(state, nets, optimizers, order_rng).to(device)
        done = min(state["epoch"], run["epochs"])  # a longer run's state: its first epochs are this run
        step_rows = [row for row in state["step_rows"] if row["epoch"] <= done]
        epoch_rows = [row for row in state["epoch_rows"] if row["epoch"] <= done]
        step = epoch_rows[-1]["step"]

    started = time.time()
    for epoch in range(done + 1, run["epochs"] + 1):
        epoch_start = time.perf_counter()
        order = torch.randperm(n, generator=order_rng).to(device)
        losses_per_step = run_epoch(
            step_fn, nets, optimizers, images, order, batch_size, batches_per_epoch, run, device, labels
        )
        check_finite(run, epoch, step, losses_per_step)
        step_rows += loss_rows(epoch, step, losses_per_step)
        step += batches_per_epoch
        save_epoch_outputs(
            run,
            nets,
            fixed_noise,
            epoch,
            step,
            device,
            resume_dir / "checkpoints",
            resume_dir / "samples",
            epoch in saved,
        )
        seconds = time.perf_counter() - epoch_start
        means = {key: float(values.mean()) for key, values in losses_per_step.items()}
        epoch_rows.append(
            {"epoch": epoch, "step": step, **means, "seconds": seconds, "images_per_s": images_seen / seconds}
        )
        resume.save_state(
            resume_dir, key, run["epochs"], epoch, step, nets, optimizers, order_rng, fixed_noise, step_rows, epoch_rows
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
    io.write_csv(step_losses_path, pd.DataFrame(step_rows))
    io.write_csv(epoch_losses_path, pd.DataFrame(epoch_rows))
    info = io.provenance(
        run=run,
        device=str(device),
        threads=torch.get_num_threads(),
        resumed_after_epoch=done,
        train_started=started,
        train_finished=finished,
        train_seconds=finished - started,
        images_per_s=run["epochs"] * images_seen / sum(row["seconds"] for row in epoch_rows),
    )
    io.write_json(info_path, info)
    log.info("run %s finished in %s", run["name"], format_duration(finished - started))
    return info
