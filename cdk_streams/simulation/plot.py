"""Iterator age and concurrency over time, drawn with matplotlib (the ``plot`` extra)."""

from __future__ import annotations

from pathlib import Path

from ..optional import require
from .simulator import SimulationResult


def draw(result: SimulationResult, path: str | Path, *, title: str = "") -> None:
    """Write a PNG (or any format matplotlib knows by the suffix) of the simulation.

    :raises cdk_streams.optional.MissingExtraError: matplotlib is not installed.
    """
    matplotlib = require("matplotlib", "plot", "drawing a plan")
    matplotlib.use("Agg")  # files only: no display needed
    plt = require("matplotlib.pyplot", "plot", "drawing a plan")
    recorder = result.recorder
    buckets = min(len(recorder.age_max), int(result.duration / recorder.bucket) or 1)
    minutes = [index * recorder.bucket / 60 for index in range(buckets)]
    figure, (age_axis, lanes_axis) = plt.subplots(2, 1, sharex=True, figsize=(9, 6))
    age_axis.plot(minutes, recorder.age_max[:buckets], color="tab:red", linewidth=1)
    age_axis.set_ylabel("iterator age, max (s)")
    age_axis.grid(alpha=0.3)
    lanes_axis.plot(minutes, recorder.peak[:buckets], color="tab:blue", linewidth=1, label="peak")
    lanes_axis.plot(
        minutes,
        recorder.mean_concurrency()[:buckets],
        color="tab:cyan",
        linewidth=1,
        label="mean",
    )
    lanes_axis.set_ylabel("concurrent invocations")
    lanes_axis.set_xlabel("minutes")
    lanes_axis.legend(loc="upper right")
    lanes_axis.grid(alpha=0.3)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(str(path), dpi=100)
    plt.close(figure)
