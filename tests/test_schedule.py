"""Which files a run leaves: what training publishes, and what a longer run must hold to be reused."""

from genzoo import frames, schedule


def test_checkpoint_epochs_always_include_the_last():
    assert schedule.checkpoint_epochs({"epochs": 7, "checkpoint_every": 3}) == [3, 6, 7]
    assert schedule.checkpoint_epochs({"epochs": 6, "checkpoint_every": 3}) == [3, 6]


def test_a_run_leaves_its_checkpoints_and_every_epochs_samples():
    gan = {"epochs": 5, "checkpoint_every": 2, "kind": "gan", "latent_dim": 100}
    assert schedule.training_files(gan) == {
        "checkpoints": ["epoch_0002.pt", "epoch_0004.pt", "epoch_0005.pt"],
        "samples": [f"epoch_000{epoch}.npy" for epoch in range(1, 6)],
    }


def test_a_2d_vae_also_leaves_its_manifold_of_every_epoch():
    vae = {"epochs": 2, "checkpoint_every": 1, "kind": "vae", "latent_dim": 2}
    files = schedule.training_files(vae)
    assert files["samples"] == ["epoch_0001.npy", "epoch_0002.npy", "manifold_0001.npy", "manifold_0002.npy"]
    assert files["checkpoints"] == ["epoch_0001.pt", "epoch_0002.pt"]
    assert "manifold_0001.npy" not in schedule.training_files({**vae, "latent_dim": 3})["samples"]


def test_the_sqrt_frame_schedule_keeps_the_epochs_the_tensorflow_tutorials_gif_kept():
    """Its loop over image_at_epoch_0001..0050 keeps the i-th image where round(2 * sqrt(i)) grows (14 of them,
    the last at epoch 47), then appends the last image, epoch 50: 15 frames."""
    assert frames.sqrt_frame_epochs(50) == [1, 2, 3, 5, 7, 9, 12, 16, 20, 24, 29, 35, 41, 47, 50]
    assert frames.sqrt_frame_epochs(47)[-2:] == [41, 47]  # a kept last epoch is not drawn twice
    assert len(frames.sqrt_frame_epochs(2327)) == 97
    render = {"max_frames": 2, "frame_schedule": "even"}
    assert frames.frame_epochs(3, render) == [2, 3]
    assert frames.frame_epochs(50, render | {"frame_schedule": "sqrt"}) == frames.sqrt_frame_epochs(50)
