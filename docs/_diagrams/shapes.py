"""Draws docs/_static/shapes.svg, the four shapes of a recurrent network.

Run it again after changing it (``python docs/_diagrams/shapes.py``); the SVG is
committed so that the documentation builds without running it."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

plt.rcParams["svg.fonttype"] = "none"  # text stays text: small, sharp, searchable
IN, HID, OUT = "#cfe2f3", "#fde9c9", "#d9ead3"


def box(ax, x, y, text, color):
    ax.add_patch(
        FancyBboxPatch(
            (x - 0.32, y - 0.22),
            0.64,
            0.44,
            boxstyle="round,pad=0.02,rounding_size=0.08",
            facecolor=color,
            edgecolor="#555555",
            linewidth=0.8,
        )
    )
    ax.text(x, y, text, ha="center", va="center", fontsize=10)


def arrow(ax, a, b, style="-", color="#444444", rad=0.0):
    ax.add_patch(
        FancyArrowPatch(
            a,
            b,
            arrowstyle="-|>",
            mutation_scale=8,
            linestyle=style,
            color=color,
            linewidth=0.9,
            connectionstyle=f"arc3,rad={rad}",
        )
    )


def chain(ax, xs, y=1.0):
    for i, x in enumerate(xs):
        box(ax, x, y, "h", HID)
        if i:
            arrow(ax, (xs[i - 1] + 0.34, y), (x - 0.34, y))


def up(ax, x, y0, y1):
    arrow(ax, (x, y0 + 0.24), (x, y1 - 0.24))


def read(ax, xs):
    """An input at each of ``xs``, going up into its state."""
    for i, x in enumerate(xs):
        box(ax, x, 0, f"x{i + 1}", IN)
        up(ax, x, 0, 1)


def write(ax, xs):
    """An output at each of ``xs``, coming up from its state."""
    for i, x in enumerate(xs):
        box(ax, x, 2, f"y{i + 1}", OUT)
        up(ax, x, 1, 2)


def many_to_one(ax):
    xs = [0, 1, 2, 3]
    chain(ax, xs)
    read(ax, xs)
    box(ax, 3, 2, "y", OUT)
    up(ax, 3, 1, 2)


def one_to_many(ax):
    xs = [0, 1, 2, 3]
    chain(ax, xs)
    box(ax, 0, 0, "x", IN)
    up(ax, 0, 0, 1)
    write(ax, xs)
    for x in xs[:-1]:  # each output is fed back as the next input
        arrow(ax, (x + 0.3, 1.8), (x + 1 - 0.12, 1.22), style="--", color="#999999")


def aligned(ax):
    xs = [0, 1, 2, 3]
    chain(ax, xs)
    read(ax, xs)
    write(ax, xs)


def unaligned(ax):
    enc, dec = [0, 0.9, 1.8], [2.9, 3.8, 4.7, 5.6]
    chain(ax, enc + dec)
    read(ax, enc)
    write(ax, dec)
    ax.text(0.9, -0.55, "encoder", ha="center", fontsize=8, color="#666666")
    ax.text(
        4.25,
        -0.55,
        "decoder (attends to the encoder)",
        ha="center",
        fontsize=8,
        color="#666666",
    )


PANELS = [
    (many_to_one, "many to one", "RNNClassifier, RNNRegressor"),
    (aligned, "many to many, aligned", "LSTMSequenceTagger, EnsembleTagger"),
    (one_to_many, "one to many", "CharLMGenerator"),
    (unaligned, "many to many, unaligned", "RNNTranslator"),
]  # drawn row by row, the wider column on the right


def main():
    fig, axes = plt.subplots(
        2, 2, figsize=(10, 5.6), width_ratios=[1, 1.55], layout="constrained"
    )
    for ax, (draw, title, estimators) in zip(axes.flat, PANELS, strict=True):
        draw(ax)
        ax.set_title(f"{title}\n{estimators}", fontsize=11)
        ax.set_xlim(-0.6, 6.1 if draw is unaligned else 3.6)
        ax.set_ylim(-0.8, 2.5)
        ax.set_aspect("equal")
        ax.axis("off")
    out = Path(__file__).resolve().parents[1] / "_static" / "shapes.svg"
    fig.savefig(out, metadata={"Date": None})
    print(out)


if __name__ == "__main__":
    main()
