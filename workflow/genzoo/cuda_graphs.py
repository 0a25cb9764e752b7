"""A whole training step (forward, backward, both optimizers) captured once and replayed as one CUDA graph.

The presets' networks are small: on a GPU, launching a step's few hundred kernels from Python takes
longer than running them. A captured graph launches them all at once. What the step draws at random
(noise, dropout masks) is drawn anew on every replay, from the same generator state eager code would use.
"""

import logging

import torch

log = logging.getLogger(__name__)


class GraphedStep:
    """Called like the step function it wraps. The first `warmup` calls run eagerly on a side stream
    (cuBLAS/cuDNN handles and the optimizers' state are created there, as capture requires), the next
    call captures the step and replays it, and later calls of the same batch shape replay the graph.
    A batch of another shape (an epoch's smaller last batch) runs eagerly."""

    def __init__(self, step_fn, warmup: int = 3):
        self.step_fn, self.warmup, self.eager_calls = step_fn, warmup, 0
        self.graph: torch.cuda.CUDAGraph | None = None
        self.static_input: torch.Tensor | None = None
        self.static_losses: dict[str, torch.Tensor] = {}

    def __call__(self, nets, optimizers, real, run, device, index=0, labels=None) -> dict[str, torch.Tensor]:
        if self.graph is None and self.eager_calls >= self.warmup and real.shape[0] == run["batch_size"]:
            self.capture(nets, optimizers, real, run, device)
        if self.graph is not None and real.shape == self.static_input.shape:
            self.static_input.copy_(real)
            self.graph.replay()
            return {key: value.clone() for key, value in self.static_losses.items()}
        self.eager_calls += 1
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            losses = self.step_fn(nets, optimizers, real, run, device, index, labels=labels)
        torch.cuda.current_stream().wait_stream(side)
        return losses

    def capture(self, nets, optimizers, real, run, device) -> None:
        """Records one step on a static input batch; recording runs nothing, the caller replays it."""
        self.static_input = real.clone()
        for optimizer in optimizers.values():
            # Gradients created during capture live in the graph's memory pool and are rewritten on replay.
            optimizer.zero_grad(set_to_none=True)
        graph = torch.cuda.CUDAGraph()
        try:
            with torch.cuda.graph(graph):
                self.static_losses = self.step_fn(nets, optimizers, self.static_input, run, device)
        except RuntimeError as error:
            message = f"run {run['name']}: capturing the training step as a CUDA graph failed; set cuda_graph: false"
            raise RuntimeError(f"{message} ({error})") from error
        self.graph = graph
        log.info("run %s: training step captured as a CUDA graph (batch %d)", run["name"], real.shape[0])
