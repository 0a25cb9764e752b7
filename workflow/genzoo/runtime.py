"""Where and how torch runs: device choice, threads, determinism."""

import torch


def resolve_device(requested: str) -> torch.device:
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' was requested but torch sees no CUDA GPU; use device: auto or cpu")
    return torch.device(requested)


def configure_torch(device: torch.device, threads: int) -> None:
    torch.set_num_threads(max(1, threads))
    if device.type == "cpu":
        # Bit-identical reruns on the CPU; GPUs trade that for speed unless asked otherwise.
        torch.use_deterministic_algorithms(True)
