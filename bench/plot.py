"""A PNG of the latency distributions (matplotlib, Agg backend): one CDF per rate and target."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)


def latency_png(result: dict[str, Any], path: Path) -> Path | None:
    """Draw every latency sample set found in ``result``; None when there is none or
    matplotlib (the ``bench`` extra) is not installed."""
    try:
        import matplotlib
    except ImportError:
        logger.warning("matplotlib is not installed: no plot")
        return None

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = _series(result)
    if not series:
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
