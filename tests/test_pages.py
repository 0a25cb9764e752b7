"""A run's page: what its captions say about the animations."""

import re

import numpy as np
import pandas as pd
import pytest
from genzoo import pages, rendering
from PIL import Image


@pytest.mark.parametrize(
    ("frame_epochs", "caption"),
    [
        ([4, 8, 10], "samples of the fixed noise at 3 of the 10 epochs, the last included"),  # max_frames: 3
        (list(range(1, 11)), "samples of the fixed noise at each of the 10 epochs"),
    ],
)
def test_a_runs_page_says_which_epochs_its_animation_shows(tmp_path, frame_epochs, caption):
    gif = tmp_path / "samples.gif"
    images = np.stack([np.full((8, 8), 20 * index, np.uint8) for index in range(len(frame_epochs))])
    rendering.write_gif(images, str(gif), frame_ms=100, last_frame_ms=500)
    Image.new("L", (4, 4)).save(tmp_path / "final.png")
    pd.DataFrame({"run": "gan", "epoch": [5, 10], "fid": [20.0, 10.0]}).to_csv(tmp_path / "m.csv", index=False)
    pages.run_page(
        "gan",
        "p",
        {"samples of the fixed noise": gif},
        tmp_path / "final.png",
        tmp_path / "m.csv",
        tmp_path / "p.html",
        frame_epochs=frame_epochs,
    )
    captions = re.findall(r"<figcaption>(.*?)</figcaption>", (tmp_path / "p.html").read_text())
    assert captions == [caption, "samples of the fixed noise at the last epoch"]
