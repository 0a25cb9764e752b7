"""Pictures people look at: sample grids, the VAE's latent manifold, animated GIFs. numpy + PIL only."""

import functools
import math
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from . import files
from .schedule import manifold_file, sample_file

BACKGROUND = 255
HEADER_HEIGHT = 22
TITLE_MARGIN = 6  # pixels left and right of a title
MIN_TITLE_SIZE = 9  # the smallest font size that still reads: a title too long for it is shortened instead
WHEN_GAP = "  "  # in a title, between what (run and preset) and when (epoch or step): the part after it is kept whole
PARENTHESES = re.compile(r"\s*\([^)]*\)")  # a title's "(preset)"
ELLIPSIS = "\u2026"


def tile(images: np.ndarray, columns: int | None = None, gap: int = 2) -> np.ndarray:
    """(N, H, W) uint8 -> one uint8 image of a ceil(sqrt N)-wide grid with white gaps."""
    count, height, width = images.shape
    columns = columns or math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    canvas = np.full((rows * (height + gap) + gap, columns * (width + gap) + gap), BACKGROUND, np.uint8)
    for index, image in enumerate(images):
        top = gap + (index // columns) * (height + gap)
        left = gap + (index % columns) * (width + gap)
        canvas[top : top + height, left : left + width] = image
    return canvas


def header_height(scale: int) -> int:
    return HEADER_HEIGHT * max(1, scale // 2)


@functools.cache
def title_font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)


def shortened_titles(text: str) -> Iterator[str]:
    """text, then ever shorter forms of it that keep its when part (after WHEN_GAP: the epoch, what a frame of a
    GIF is about) whole: first without the "(preset)", then with the rest cut behind an ellipsis, shorter and shorter;
    last the when part alone. A text without a WHEN_GAP is cut at its end."""
    yield text
    what, gap, when = text.rpartition(WHEN_GAP)
    if not gap:
        what, when = text, ""
    plain = PARENTHESES.sub("", what)
    if plain != what:
        yield plain + gap + when
    for length in range(len(plain) - 1, 0, -1):
        yield plain[:length].rstrip() + ELLIPSIS + gap + when
    if when:
        yield when


def header_title(text: str, width: int, scale: int) -> tuple[str, ImageFont.FreeTypeFont]:
    """What with_header writes above an image width pixels wide, and in which font: the longest of
    shortened_titles(text) that fits at MIN_TITLE_SIZE or more, in the largest font it fits in (the scale's size at
    most). A title that fits keeps the scale's size, so the frames of a run's GIF match."""
    size = int(header_height(scale) * 0.7)
    sizes = range(size, min(size, MIN_TITLE_SIZE) - 1, -1)
    room = width - 2 * TITLE_MARGIN
    for title in shortened_titles(text):
        font = next((font for font in map(title_font, sizes) if font.getlength(title) <= room), None)
        if font is not None:
            return title, font
    return title, title_font(sizes[-1])  # not even the epoch fits: drawn clipped


def with_header(grid: np.ndarray, text: str, scale: int) -> Image.Image:
    """Upscales the grid (nearest, so pixels stay sharp) and writes text on a strip above it, smaller or shortened
    (header_title) where it would run past the image's edge."""
    body = Image.fromarray(grid).resize((grid.shape[1] * scale, grid.shape[0] * scale), Image.NEAREST)
    header = header_height(scale)
    canvas = Image.new("L", (body.width, body.height + header), BACKGROUND)
    canvas.paste(body, (0, header))
    title, font = header_title(text, body.width, scale)
    ImageDraw.Draw(canvas).text((TITLE_MARGIN, header // 2), title, fill=0, font=font, anchor="lm")
    return canvas


def save_png(image: Image.Image, path: str | Path) -> None:
    with files.atomic_path(path) as tmp:
        image.save(tmp, format="PNG")


def stretch_each(images: np.ndarray) -> np.ndarray:
    """(N, H, W) uint8, each image stretched to black..white from its own darkest to its brightest pixel: what
    matplotlib's imshow does without vmin/vmax (a flat image, which it cannot stretch, comes out black as there)."""
    low = images.min(axis=(1, 2), keepdims=True).astype(np.float64)
    high = images.max(axis=(1, 2), keepdims=True).astype(np.float64)
    span = np.where(high > low, high - low, np.inf)
    return np.round((images - low) / span * 255).astype(np.uint8)


FRAME_RANGES = {"fixed": lambda images: images, "per_image": stretch_each}


def render_sample_grid(
    samples_path: str, out_path: str, title: str, scale: int = 3, frame_range: str = "fixed"
) -> None:
    samples = FRAME_RANGES[frame_range](np.load(samples_path))
    save_png(with_header(tile(samples), title, scale), out_path)


def manifold_image(manifold_path: str, title: str, scale: int) -> Image.Image:
    """The decoded 2-D latent grid, edge to edge as in Deep Learning with Python."""
    grid = np.load(manifold_path)
    rows, columns, height, width = grid.shape
    mosaic = grid.transpose(0, 2, 1, 3).reshape(rows * height, columns * width)
    return with_header(mosaic, title, scale)


def render_manifold(manifold_path: str, out_path: str, title: str, scale: int = 2) -> None:
    save_png(manifold_image(manifold_path, title, scale), out_path)


def write_gif(frames: np.ndarray, out_path: str, frame_ms: int, last_frame_ms: int) -> None:
    """Frames in the order given, looping forever; the last frame lingers."""
    import imageio.v3 as iio

    durations = [frame_ms] * (len(frames) - 1) + [last_frame_ms]
    if len(frames) == 1:  # Pillow takes a list of durations only for an animation
        durations = last_frame_ms
    with files.atomic_path(out_path) as tmp:
        # Unoptimized, every frame keeps the grey palette: optimized ones get palettes of their own, which readers
        # such as imageio then decode as RGB, or fail on when grey and colour frames mix.
        iio.imwrite(tmp, frames, extension=".gif", duration=durations, loop=0, optimize=False)


def assemble_gif(frame_paths: list[str], out_path: str, frame_ms: int, last_frame_ms: int) -> None:
    """One frame per epoch, from the rendered PNGs."""
    import imageio.v3 as iio

    write_gif(np.stack([iio.imread(path) for path in frame_paths]), out_path, frame_ms, last_frame_ms)


def manifold_gif(
    manifold_paths: list[str], titles: list[str], out_path: str, frame_ms: int, last_frame_ms: int, scale: int = 1
) -> None:
    """The latent manifold of every epoch as one GIF: how the decoder organizes its 2-D space while it learns."""
    frames = np.stack(
        [np.asarray(manifold_image(path, title, scale)) for path, title in zip(manifold_paths, titles, strict=True)]
    )
    write_gif(frames, out_path, frame_ms, last_frame_ms)


def frame_title(run: str, preset: str, epoch: int, steps_per_epoch: int | None = None) -> str:
    """Where the run was: its epoch, or, for a run counted in steps (steps_per_epoch set), its step."""
    when = f"epoch {epoch}" if steps_per_epoch is None else f"step {epoch * steps_per_epoch:,}"
    return f"{run} ({preset}){WHEN_GAP}{when}"


def manifold_title(run: str, epoch: int) -> str:
    return f"{run}: 2-D latent manifold{WHEN_GAP}epoch {epoch}"


def render_epoch_frame(
    samples_dir: str,
    epoch: int,
    run: str,
    preset: str,
    out_path: str,
    scale: int,
    frame_range: str = "fixed",
    steps_per_epoch: int | None = None,
) -> None:
    """One epoch's fixed-noise samples as a titled grid: a frame of the run's GIF."""
    samples = str(Path(samples_dir) / sample_file(epoch))
    render_sample_grid(samples, out_path, frame_title(run, preset, epoch, steps_per_epoch), scale, frame_range)


def render_epoch_manifold(samples_dir: str, epoch: int, run: str, out_path: str, scale: int) -> None:
    render_manifold(str(Path(samples_dir) / manifold_file(epoch)), out_path, manifold_title(run, epoch), scale)


def run_manifold_gif(
    samples_dir: str, epochs: list[int], run: str, out_path: str, frame_ms: int, last_frame_ms: int
) -> None:
    paths = [str(Path(samples_dir) / manifold_file(epoch)) for epoch in epochs]
    manifold_gif(paths, [manifold_title(run, epoch) for epoch in epochs], out_path, frame_ms, last_frame_ms)
