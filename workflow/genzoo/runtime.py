"""Where and how torch runs: device choice, threads, determinism, subnormal floats."""

import logging

import torch

log = logging.getLogger(__name__)


def resolve_device(requested: str) -> torch.device:
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' was requested but torch sees no CUDA GPU; use device: auto or cpu")
    return torch.device(requested)


def configure_torch(device: torch.device, threads: int, flush_denormal: bool = False) -> bool:
    """Sets this process up for a job: threads, determinism, and subnormal floats flushed to zero on the CPU where
    flush_denormal is (TensorFlow's CPU arithmetic) or kept (PyTorch's). Call it before any parallel operation: a
    thread takes the flag from its creator, so the worker threads must be created after it is set. Returns whether
    subnormals are flushed (not where the CPU cannot flush them)."""
    flushing = torch.set_flush_denormal(flush_denormal) and flush_denormal
    if flush_denormal and not flushing:
        log.warning("this CPU cannot flush subnormal floats to zero: they are kept (slower, the same numbers or close)")
    torch.set_num_threads(max(1, threads))
    if device.type == "cpu":
        # Bit-identical reruns on the CPU; GPUs trade that for speed unless asked otherwise.
        torch.use_deterministic_algorithms(True)
    return flushing
