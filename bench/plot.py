"""PNGs of a run (matplotlib, Agg backend): the latency distributions (one CDF per rate and
target) and the throughput-vs-keys curves (changes/s of a burst by its key count, per system,
with the bare-Temporal lifecycle rate as the ceiling of fresh keys)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)


def _pyplot() -> Any:
    """matplotlib's pyplot on the Agg backend; None without matplotlib (the ``bench`` extra)."""
    try:
        import matplotlib
    except ImportError:
        logger.warning("matplotlib is not installed: no plot")
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def latency_png(result: dict[str, Any], path: Path) -> Path | None:
    """Draw every latency sample set found in ``result``; None when there is none or
    matplotlib is not installed."""
    series = _series(result)
    plt = _pyplot() if series else None
    if plt is None:
        return None
    fig, ax = plt.subplots(figsize=(12, 5.5), dpi=110)
    for label, samples in series:
        values = sorted(samples)
        fractions = [(i + 1) / len(values) for i in range(len(values))]
        ax.step(values, fractions, where="post", label=f"{label} (n={len(values)})")
    ax.set_xscale("log")
    ax.set_xlabel("commit → applied at target (ms, log scale)")
    ax.set_ylabel("fraction of changes")
    ax.set_title("rendersync change latency: cumulative distribution")
    ax.grid(True, which="both", alpha=0.3)
    for q in (0.5, 0.95, 0.99):
        ax.axhline(q, color="grey", linewidth=0.6, linestyle=":")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def _series(result: dict[str, Any]) -> list[tuple[str, list[float]]]:
    found = []
    for run, label in (("both_targets", "rendersync"), ("direct", "direct apply")):
        rates = result.get(run, {}).get("latency", {}).get("rates", {})
        for rate, phase in rates.items():
            for target, samples in phase.get("samples_ms", {}).items():
                positive = [max(s, 0.1) for s in samples]
                if positive:
                    found.append((f"{label} {target} @ {rate}/s", positive))
    return found


#: The bursts of each system: (result part, label).
THROUGHPUT_SERIES = (
    ("both_targets", "rendersync, Kubernetes + Git"),
    ("kube_only", "rendersync, Kubernetes only"),
    ("direct", "direct apply"),
)


def throughput_png(result: dict[str, Any], path: Path) -> Path | None:
    """Changes/s of each burst by its key count, one line per system, and the bare-Temporal
    lifecycle rate; None when no burst ran or matplotlib is not installed."""
    series = [(label, points) for label, points in _bursts(result) if points]
    plt = _pyplot() if series else None
    if plt is None:
        return None
    fig, ax = plt.subplots(figsize=(9, 5.5), dpi=110)
    for label, points in series:
        keys, rates = zip(*points, strict=True)
        ax.plot(keys, rates, marker="o", label=label)
    lifecycles = result.get("bare_temporal", {}).get("lifecycles_per_s")
    if lifecycles:
        ax.axhline(lifecycles, color="grey", linestyle="--", label="bare Temporal lifecycles/s")
    ax.set_xscale("log")
    ax.set_xlabel("keys the burst's changes spread over (log scale)")
    ax.set_ylabel("changes/s until every target holds every final version")
    ax.set_title("rendersync burst throughput by key count")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def _bursts(result: dict[str, Any]) -> list[tuple[str, list[tuple[int, float]]]]:
    found = []
    for part, label in THROUGHPUT_SERIES:
        bursts = result.get(part, {}).get("throughput", {})
        points = sorted(
            (int(keys), float(b["changes_per_s"]))
            for keys, b in bursts.items()
            if b.get("changes_per_s") is not None
        )
        found.append((label, points))
    return found
