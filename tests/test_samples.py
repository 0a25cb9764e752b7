"""Sampling from a saved checkpoint: the command's requests and refusals (the rule is checked against the command
in test_workflow)."""

import json

import numpy as np
import pytest
import torch
from conftest import resolved_run
from genzoo import files, models, samples


def finished_run(tmp_path, preset: str, **settings):
    """A run folder as training leaves it: train_info.json and an (untrained) checkpoint at its last epoch."""
    run = resolved_run(preset, epochs=2, checkpoint_every=2, **settings) | {"name": "r"}
    folder = tmp_path / "runs" / "r"
    (folder / "checkpoints").mkdir(parents=True)
    torch.manual_seed(0)
    nets = models.build(run["architecture"], run["latent_dim"])
    state = {"epoch": 2, "step": 4, "nets": {role: net.state_dict() for role, net in nets.items()}}
    files.save_torch(folder / "checkpoints" / "epoch_0002.pt", state)
    files.write_json(folder / "train_info.json", {"run": run})
    return folder


def test_the_same_seed_draws_the_same_samples_and_another_seed_others(tmp_path):
    folder = finished_run(tmp_path, "pytorch-gan")
    for name, seed in (("a.npy", 3), ("b.npy", 3), ("c.npy", 4)):
        samples.sample_run(folder, tmp_path / name, n=8, seed=seed)
    a, b, c = (np.load(tmp_path / name) for name in ("a.npy", "b.npy", "c.npy"))
    assert a.shape == (8, 28, 28) and a.dtype == np.uint8
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_a_conditional_run_draws_the_labels_asked_for(tmp_path):
    """The same noise under two label lists: the samples differ where the labels do, and only there."""
    folder = finished_run(tmp_path, "pytorch-cgan")
    samples.sample_run(folder, tmp_path / "sevens.npy", n=3, seed=0, labels=[7, 7, 7])
    samples.sample_run(folder, tmp_path / "mixed.npy", n=3, seed=0, labels=[7, 1, 7])
    sevens, mixed = np.load(tmp_path / "sevens.npy"), np.load(tmp_path / "mixed.npy")
    assert sevens.shape == (3, 32, 32)
    assert np.array_equal(sevens[0], mixed[0]) and np.array_equal(sevens[2], mixed[2])
    assert not np.array_equal(sevens[1], mixed[1])


@pytest.mark.parametrize(
    "preset,request_,message",
    [
        ("pytorch-gan", {"labels": [1, 2]}, r"run r \(pytorch-gan\) is not conditional: it takes no --labels"),
        ("pytorch-cgan", {"labels": [1, 12]}, r"--labels: give 2 labels, each 0 to 9; got \[1, 12\]"),
        ("pytorch-gan", {"epoch": 1}, r"run r saved no checkpoint at epoch 1; it saved epochs \[2\]"),
    ],
)
def test_a_request_the_run_cannot_serve_is_refused_by_name(tmp_path, preset, request_, message):
    folder = finished_run(tmp_path, preset)
    with pytest.raises(samples.SampleError, match=message):
        samples.sample_run(folder, tmp_path / "x.png", n=2, seed=0, **request_)
    assert not (tmp_path / "x.png").exists()


def test_a_missing_checkpoint_is_named(tmp_path):
    folder = finished_run(tmp_path, "pytorch-gan")
    (folder / "checkpoints" / "epoch_0002.pt").unlink()
    with pytest.raises(samples.SampleError, match=r"checkpoints/epoch_0002\.pt is missing"):
        samples.sample_run(folder, tmp_path / "x.png", n=2, seed=0)


def test_the_command_says_what_is_missing(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        samples.main([str(tmp_path), "--out", str(tmp_path / "x.png")])
    assert exit_info.value.code == 2
    assert (
        f"{tmp_path / 'train_info.json'} is missing: {tmp_path} is not a finished run's folder"
        in capsys.readouterr().err
    )


def test_the_command_writes_a_titled_grid(tmp_path):
    from PIL import Image

    folder = finished_run(tmp_path, "pytorch-gan")
    samples.main([str(folder), "--n", "4", "--seed", "1", "--scale", "1", "--out", str(tmp_path / "grid.png")])
    with Image.open(tmp_path / "grid.png") as image:
        assert image.size[0] == 2 * 30 + 2 and image.size[1] > 2 * 30 + 2  # 2 x 2 cells of 28 + gaps, a header
    info = json.loads((folder / "train_info.json").read_text())
    assert info["run"]["name"] == "r"


def test_slerp_keeps_the_norm_of_orthogonal_unit_vectors_and_ends_at_both_points():
    a, b = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 1.0]])
    torch.testing.assert_close(samples.slerp(a, b, 0.0), a)
    torch.testing.assert_close(samples.slerp(a, b, 1.0), b)
    middle = samples.slerp(a, b, 0.5)
    torch.testing.assert_close(middle.norm(dim=1), torch.ones(1))  # a straight line would give 0.71
    torch.testing.assert_close(samples.slerp(a, a, 0.3), a)  # no angle: no division by zero


def test_a_latent_walk_loops_through_its_points_and_uniform_noise_stays_in_its_box():
    normal, uniform = resolved_run("pytorch-gan"), resolved_run("cs231n-gan")
    walk = samples.latent_walk(normal, cells=3, points=4, frames_per_leg=5, seed=0)
    assert walk.shape == (20, 3, 100)
    keys = walk[::5]  # every leg starts at its point; the last leg heads back to the first
    assert not torch.equal(keys[0], keys[1])
    step = (walk[1:] - walk[:-1]).norm(dim=2).max()
    assert (walk[0] - walk[-1]).norm(dim=1).max() <= 2 * step  # the loop closes smoothly
    box = samples.latent_walk(uniform, cells=3, points=4, frames_per_leg=5, seed=0)
    assert box.min() >= -1 and box.max() <= 1


def test_the_interpolation_gif_starts_at_the_generators_images_of_its_first_points(tmp_path):
    import imageio.v3 as iio

    folder = finished_run(tmp_path, "pytorch-gan")
    run = samples.run_settings(folder)
    frames = samples.interpolation_frames(
        run, folder / "checkpoints" / "epoch_0002.pt", cells=4, points=3, frames_per_leg=2
    )
    assert frames.shape[0] == 6
    first = samples.draw(run, folder / "checkpoints" / "epoch_0002.pt", n=4 * 3, seed=0)[:4]  # the same noise draws
    from genzoo import rendering

    assert np.array_equal(frames[0], rendering.tile(first))
    samples.interpolation_gif(folder, tmp_path / "walk.gif", frame_ms=50, scale=1)
    walk = iio.imread(tmp_path / "walk.gif", index=None)
    assert walk.shape[0] == 4 * 12 and walk.ndim == 3  # grey frames, each read back as grey


def test_a_latent_walks_title_keeps_its_epoch_on_a_narrow_frame():
    from genzoo import rendering

    title = samples.walk_title("cs231n-torch-lsgan-seed1", 200)
    width = 4 * 30 + 2  # four 28-pixel cells with their gaps, at scale 1
    shown, font = rendering.header_title(title, width, scale=1)
    assert shown.endswith("  epoch 200") and font.getlength(shown) <= width - 2 * rendering.TITLE_MARGIN


def test_nearly_opposite_points_are_walked_between_their_norms():
    """In 2-D (the VAE's latent) two draws often point almost opposite ways; the unit-vector formula would send the
    middle of the walk to a norm of about 200 here."""
    a, b = torch.tensor([[1.0, 0.0]]), torch.tensor([[-2.0, 0.01]])
    norms = torch.stack([samples.slerp(a, b, t / 10).norm() for t in range(11)])
    assert float(norms.max()) <= float(b.norm()) + 1e-5 and float(norms.min()) >= 1.0 - 1e-5


def test_a_sample_count_below_one_and_labels_that_are_no_numbers_are_refused(tmp_path, capsys):
    folder = finished_run(tmp_path, "pytorch-cgan")
    with pytest.raises(samples.SampleError, match="ask for at least one sample"):
        samples.sample_run(folder, tmp_path / "x.png", n=0, seed=0)
    with pytest.raises(SystemExit):
        samples.main([str(folder), "--labels", "1,x", "--out", str(tmp_path / "x.png")])
    assert "not a comma-separated list of class numbers: '1,x'" in capsys.readouterr().err
