"""Which epochs get a frame in a run's GIF. Pure Python, and apart from schedule.py on purpose: only planning
reads it, so editing it reruns no training (schedule.py is part of every run's training code)."""

import math

from .schedule import checkpoint_epochs


def even_frame_epochs(epochs: int, max_frames: int) -> list[int]:
    """About max_frames epochs, evenly spaced (every ceil(epochs / max_frames)-th), and always the last."""
    stride = math.ceil(epochs / max_frames)
    return checkpoint_epochs({"epochs": epochs, "checkpoint_every": stride})


def sqrt_frame_epochs(epochs: int) -> list[int]:
    """The TensorFlow DCGAN tutorial's GIF (its 2019-2020 edition): of the sorted epoch images, the i-th (from 0) is
    kept where round(2 * sqrt(i)) grows, and the last image is appended after the loop."""
    kept, last = [], -1.0
    for index in range(epochs):
        frame = 2 * math.sqrt(index)
        if round(frame) > round(last):
            last = frame
            kept.append(index + 1)
    return kept if kept[-1] == epochs else [*kept, epochs]


def frame_epochs(epochs: int, render: dict) -> list[int]:
    """The epochs a run's sample grid (and a VAE's manifold) is drawn for, by the render section's frame_schedule."""
    if render["frame_schedule"] == "sqrt":
        return sqrt_frame_epochs(epochs)
    return even_frame_epochs(epochs, render["max_frames"])
