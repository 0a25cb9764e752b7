"""A whole training step (forward, backward, both optimizers) captured once and replayed as one CUDA graph.

The presets' networks are small: on a GPU, launching a step's few hundred kernels from Python takes
longer than running them. A captured graph launches them all at once. What the step draws at random
(noise, dropout masks, a conditional preset's labels for its fakes) is drawn anew on every replay, from
the same generator state eager code would use.
"""

import logging
from collections.abc import Callable

import torch

log = logging.getLogger(__name__)


class CapturedStep:
    """One recorded step: its graph, the static tensors it reads (the batch, and a conditional preset's labels)
    and the losses it writes."""

    def __init__(self, graph: torch.cuda.CUDAGraph, real, labels, losses: dict[str, torch.Tensor]):
        self.graph, self.real, self.labels, self.losses = graph, real, labels, losses

    def fits(self, real: torch.Tensor) -> bool:
        return real.shape == self.real.shape

    def replay(self, real: torch.Tensor, labels: torch.Tensor | None) -> dict[str, torch.Tensor]:
        self.real.copy_(real)
        if self.labels is not None:
            self.labels.copy_(labels)
        self.graph.replay()
        return {key: value.clone() for key, value in self.losses.items()}


def single_phase(run: dict, index: int) -> int:
    return 0


class GraphedStep:
    """Called like the step function it wraps. The first `warmup` calls run eagerly on a side stream
    (cuBLAS/cuDNN handles and the optimizers' state are created there, as capture requires), the next
    call captures the step and replays it, and later calls of the same batch shape replay the graph.
    A batch of another shape (an epoch's smaller last batch) runs eagerly.

    A step that does different work by the batch's index within the epoch (WGAN-GP's generator update on
    every n_critic-th batch) names its phases: phase(run, index) -> key, and each phase gets a graph of its
    own, captured the first time it comes after the warm-up and after one eager call of its own (a resumed
    critic's first generator update, say), so that no optimizer creates its state inside a capture."""

    def __init__(self, step_fn, warmup: int = 3, phase: Callable[[dict, int], int] = single_phase):
        self.step_fn, self.warmup, self.phase, self.eager_calls = step_fn, warmup, phase, 0
        self.captured: dict[int, CapturedStep] = {}
        self.warmed: set[int] = set()  # phases run eagerly at least once: their optimizers' state exists

    def __call__(self, nets, optimizers, real, run, device, index=0, labels=None) -> dict[str, torch.Tensor]:
        phase = self.phase(run, index)
        ready = self.eager_calls >= self.warmup and phase in self.warmed and real.shape[0] == run["batch_size"]
        if phase not in self.captured and ready:
            self.captured[phase] = self.capture(nets, optimizers, real, run, device, index, labels)
        captured = self.captured.get(phase)
        if captured is not None and captured.fits(real):
            return captured.replay(real, labels)
        self.eager_calls += 1
        self.warmed.add(phase)
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            losses = self.step_fn(nets, optimizers, real, run, device, index, labels=labels)
        torch.cuda.current_stream().wait_stream(side)
        return losses

    def capture(self, nets, optimizers, real, run, device, index, labels) -> CapturedStep:
        """Records one step on static inputs; recording runs nothing, the caller replays it."""
        static_real = real.clone()
        static_labels = None if labels is None else labels.clone()
        for optimizer in optimizers.values():
            # Gradients created during capture live in the graph's memory pool and are rewritten on replay.
            optimizer.zero_grad(set_to_none=True)
        graph = torch.cuda.CUDAGraph()
        try:
            with torch.cuda.graph(graph):
                losses = self.step_fn(nets, optimizers, static_real, run, device, index, labels=static_labels)
        except RuntimeError as error:
            message = f"run {run['name']}: capturing the training step as a CUDA graph failed; set cuda_graph: false"
            raise RuntimeError(f"{message} ({error})") from error
        log.info(
            "run %s: training step captured as a CUDA graph (batch %d%s)",
            run["name"],
            real.shape[0],
            "" if self.phase is single_phase else f", phase {self.phase(run, index)}",
        )
        return CapturedStep(graph, static_real, static_labels, losses)
