"""Self-contained HTML pages for Snakemake's report: one per run (its animations, final grid and scores by
checkpoint) and the leaderboard. Images are embedded as data URIs, so a page is one file that works offline
and inside the report's frame (which shows PNGs itself, but not GIFs)."""

import base64
import html
import mimetypes
from pathlib import Path

import pandas as pd

from . import files, scores

STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
figure { display: inline-block; margin: 0 2em 1em 0; vertical-align: top; }
figcaption { font-size: 0.9em; color: #555; margin-top: 0.3em; }
img { image-rendering: pixelated; min-width: 280px; max-width: 100%; height: auto; }
table { border-collapse: collapse; font-size: 0.9em; margin-bottom: 1.5em; }
th, td { border-bottom: 1px solid #ddd; padding: 0.25em 0.6em; text-align: right; }
th { background: #f4f4f4; }
td.text, th.text { text-align: left; white-space: nowrap; }
tr.reference td { font-style: italic; color: #555; }
"""


def data_uri(path: str | Path) -> str:
    mime = mimetypes.guess_type(str(path))[0] or "application/octet-stream"
    return f"data:{mime};base64,{base64.b64encode(Path(path).read_bytes()).decode('ascii')}"


def figure(path: str | Path, caption: str) -> str:
    return (
        f'<figure><img src="{data_uri(path)}" alt="{html.escape(caption)}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def table_html(header: list[str], rows: list[list[str]], text_columns: set[int], row_classes=None) -> str:
    def cell(tag: str, index: int, value: str) -> str:
        css = ' class="text"' if index in text_columns else ""
        return f"<{tag}{css}>{html.escape(value)}</{tag}>"

    head = "".join(cell("th", i, value) for i, value in enumerate(header))
    body = []
    for number, cells in enumerate(rows):
        css = f' class="{row_classes[number]}"' if row_classes and row_classes[number] else ""
        body.append(f"<tr{css}>" + "".join(cell("td", i, value) for i, value in enumerate(cells)) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def document(title: str, body: str) -> str:
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{STYLE}</style></head>\n<body>\n<h1>{html.escape(title)}</h1>\n{body}\n</body></html>\n"
    )


def scores_by_checkpoint(metrics: pd.DataFrame) -> str:
    shown = scores.present(scores.SCORES, metrics)
    header = ["epoch"] + [score.label for score in shown]
    rows = [
        [str(int(row["epoch"]))] + [scores.format_score(row[score.column], score.column) for score in shown]
        for _, row in metrics.sort_values("epoch").iterrows()
    ]
    return table_html(header, rows, text_columns=set())


def epochs_shown(frame_epochs: list[int]) -> str:
    """Which epochs an animation has a frame of: render.max_frames or render.frame_schedule may leave epochs out
    (never the last), and a caption that says every epoch would then be wrong."""
    last = frame_epochs[-1]
    if len(frame_epochs) == last:
        return f"each of the {last} epochs"
    return f"{len(frame_epochs)} of the {last} epochs, the last included"


def run_page(
    run: str,
    preset: str,
    animations: dict[str, str | Path],
    final_grid: str | Path,
    metrics_csv: str | Path,
    out_path: str | Path,
    frame_epochs: list[int],
) -> None:
    """animations: what a GIF shows -> its path (the sample grid; the VAE's latent manifold too), each with a frame
    of the frame_epochs, which its caption names."""
    metrics = pd.read_csv(metrics_csv)
    shown = epochs_shown(frame_epochs)
    figures = [figure(path, f"{shows} at {shown}") for shows, path in animations.items()]
    figures.append(figure(final_grid, "samples of the fixed noise at the last epoch"))
    body = (
        f"<p>Preset <code>{html.escape(preset)}</code>. The same fixed noise is drawn at every epoch.</p>\n"
        f"{''.join(figures)}\n<h2>Scores by checkpoint</h2>\n{scores_by_checkpoint(metrics)}"
    )
    files.write_text(out_path, document(f"Run {run}", body))


def leaderboard_page(summary_csv: str | Path, reference_paths: list[str], out_path: str | Path) -> None:
    """The leaderboard of results/leaderboard.md as a page: runs ranked by their best FID per dataset."""
    ranked = scores.ranked_tables(pd.read_csv(summary_csv), scores.load_references(reference_paths))
    parts = [f"<p>{html.escape(scores.LEADERBOARD_INTRO)}</p>"]
    for table in ranked:
        classes = ["reference" if cells[1] == scores.REAL_ROW else "" for cells in table.rows]
        parts += [
            f"<h2>{html.escape(table.dataset)}</h2>",
            f"<p>{html.escape(table.note)}</p>",
            table_html(table.header, table.rows, text_columns={1, 2}, row_classes=classes),
        ]
    files.write_text(out_path, document("Leaderboard", "\n".join(parts)))
