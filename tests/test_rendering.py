import numpy as np
import pytest
from genzoo import rendering
from PIL import Image


def test_tile_lays_out_a_square_grid_with_gaps():
    images = np.zeros((16, 28, 28), np.uint8)
    grid = rendering.tile(images, gap=2)
    assert grid.shape == (4 * 30 + 2, 4 * 30 + 2)
    assert grid[0].min() == 255 and grid[2:30, 2:30].max() == 0


def test_tile_places_images_in_reading_order():
    images = np.stack([np.full((2, 2), value, np.uint8) for value in (10, 20, 30)])
    grid = rendering.tile(images, gap=1)  # 2 columns, 2 rows, last cell empty
    assert grid[1, 1] == 10 and grid[1, 4] == 20 and grid[4, 1] == 30 and grid[4, 4] == 255


def test_sample_grid_png_is_upscaled_and_titled(tmp_path):
    np.save(tmp_path / "s.npy", np.zeros((16, 28, 28), np.uint8))
    rendering.render_sample_grid(str(tmp_path / "s.npy"), str(tmp_path / "grid.png"), "epoch 7", scale=3)
    with Image.open(tmp_path / "grid.png") as image:
        width, height = image.size
        header = np.asarray(image)[: height - 3 * 122]
    assert width == 3 * 122 and height > 3 * 122
    assert header.min() < 128  # the title's dark pixels are on the white strip


def test_per_image_range_stretches_each_sample_to_black_and_white_as_imshow_does():
    """The TF tutorial's plt.imshow(..., cmap='gray') without vmin/vmax: a grey-on-grey sample comes out black on
    white; a flat one black, as matplotlib draws it; the fixed range leaves the samples as they are."""
    samples = np.stack([np.array([[64, 96], [128, 128]], np.uint8), np.full((2, 2), 200, np.uint8)])
    assert rendering.stretch_each(samples).tolist() == [[[0, 128], [255, 255]], [[0, 0], [0, 0]]]
    assert rendering.FRAME_RANGES["fixed"](samples) is samples


@pytest.mark.parametrize("epochs", [4, 1])  # a one-epoch run's GIF is its one frame, lingering
def test_gif_has_one_frame_per_epoch_in_order_and_loops(tmp_path, epochs):
    import imageio.v3 as iio

    frames = []
    for epoch in range(1, epochs + 1):
        path = tmp_path / f"epoch_{epoch:04d}.png"
        Image.fromarray(np.full((20, 20), epoch * 40, np.uint8)).save(path)
        frames.append(str(path))
    rendering.assemble_gif(frames, str(tmp_path / "run.gif"), frame_ms=200, last_frame_ms=1500)
    decoded = iio.imread(tmp_path / "run.gif", index=None)
    assert decoded.shape[0] == epochs
    assert [int(frame.mean()) for frame in decoded.reshape(epochs, -1)] == [40, 80, 120, 160][:epochs]
    with Image.open(tmp_path / "run.gif") as gif:
        assert gif.info["loop"] == 0
        durations = []
        for index in range(gif.n_frames):
            gif.seek(index)
            durations.append(gif.info["duration"])
    assert durations == [200] * (epochs - 1) + [1500]


def test_manifold_is_stitched_edge_to_edge(tmp_path):
    grid = np.zeros((3, 3, 4, 4), np.uint8)
    grid[1, 2] = 200  # row 1, column 2
    np.save(tmp_path / "m.npy", grid)
    rendering.render_manifold(str(tmp_path / "m.npy"), str(tmp_path / "m.png"), "manifold", scale=1)
    with Image.open(tmp_path / "m.png") as image:
        pixels = np.asarray(image)
    body = pixels[-12:]
    assert body.shape == (12, 12)
    assert body[4:8, 8:12].min() == 200 and body[:4].max() == 0


def test_manifold_gif_has_one_frame_per_epoch_in_order(tmp_path):
    paths = []
    for epoch in range(3):
        grid = np.full((2, 2, 4, 4), 60 * epoch, np.uint8)
        paths.append(str(tmp_path / f"manifold_{epoch}.npy"))
        np.save(paths[-1], grid)
    rendering.manifold_gif(paths, ["a", "b", "c"], str(tmp_path / "m.gif"), frame_ms=100, last_frame_ms=900)
    with Image.open(tmp_path / "m.gif") as gif:
        assert gif.n_frames == 3
        bodies, durations = [], []
        for index in range(3):
            gif.seek(index)
            durations.append(gif.info["duration"])
            bodies.append(int(np.asarray(gif.convert("L"))[-8:].mean()))
    assert durations == [100, 100, 900] and bodies == [0, 60, 120]


def test_an_epochs_frame_reads_that_epochs_samples_and_is_titled_with_run_preset_and_epoch(tmp_path):
    samples = tmp_path / "samples"
    samples.mkdir()
    np.save(samples / "epoch_0007.npy", np.full((4, 28, 28), 200, np.uint8))
    np.save(samples / "epoch_0008.npy", np.zeros((4, 28, 28), np.uint8))
    rendering.render_epoch_frame(str(samples), 7, "gan", "pytorch-gan", str(tmp_path / "frame.png"), scale=1)
    title = "gan (pytorch-gan)  epoch 7"
    assert rendering.frame_title("gan", "pytorch-gan", 7) == title
    rendering.render_sample_grid(str(samples / "epoch_0007.npy"), str(tmp_path / "direct.png"), title, scale=1)
    with Image.open(tmp_path / "frame.png") as frame, Image.open(tmp_path / "direct.png") as direct:
        assert np.array_equal(np.asarray(frame), np.asarray(direct))


LONG_TITLE = rendering.frame_title("cs231n-torch-lsgan-seed1", "cs231n-torch-lsgan", 10)


@pytest.mark.parametrize("scale", [1, 3])
def test_a_long_title_fits_the_frame_and_keeps_its_epoch(scale):
    """At scale 3 the whole title fits in a smaller font; at scale 1 not even the smallest font holds it, so the
    preset goes and the name is cut, but the epoch (what a frame of the GIF is about) stays."""
    grid = rendering.tile(np.zeros((16, 28, 28), np.uint8))
    width = grid.shape[1] * scale
    title, font = rendering.header_title(LONG_TITLE, width, scale)
    assert title.endswith("  epoch 10") and title.startswith("cs231n-")
    assert rendering.MIN_TITLE_SIZE <= font.size < int(rendering.header_height(scale) * 0.7)
    assert font.getlength(title) <= width - 2 * rendering.TITLE_MARGIN
    if scale == 1:
        assert "(" not in title and rendering.ELLIPSIS in title
    else:
        assert title == LONG_TITLE
    header = np.asarray(rendering.with_header(grid, LONG_TITLE, scale))[: rendering.header_height(scale)]
    assert header.min() < 128  # the title is drawn, and clear of the right edge: nothing of it cut off
    assert header[:, -rendering.TITLE_MARGIN :].min() == 255


def test_a_title_is_shrunk_before_it_is_shortened_and_a_short_one_keeps_its_size():
    title, font = rendering.header_title("vae1 (dlwp-vae)  epoch 1", 122, scale=1)
    assert title == "vae1 (dlwp-vae)  epoch 1" and font.size == rendering.MIN_TITLE_SIZE
    title, font = rendering.header_title("gan (pytorch-gan)  epoch 7", 3 * 122, scale=3)
    assert title == "gan (pytorch-gan)  epoch 7" and font.size == int(rendering.HEADER_HEIGHT * 0.7)


def test_a_title_is_shortened_preset_first_then_name_never_the_epoch():
    assert list(rendering.shortened_titles("ab (p)  epoch 3")) == [
        "ab (p)  epoch 3",
        "ab  epoch 3",
        "a\u2026  epoch 3",
        "epoch 3",
    ]
    assert list(rendering.shortened_titles("abc")) == ["abc", "ab\u2026", "a\u2026"]  # no epoch part: cut at the end
    assert rendering.manifold_title("vae", 4).endswith(rendering.WHEN_GAP + "epoch 4")
