"""Benchmark sizes and options, from the command line (``python -m bench --help``)."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

SCENARIOS = ("latency", "throughput", "coalescing", "direct", "temporal")
RESULTS_DIR = Path(__file__).parent / "results"
DOCS_FILE = Path(__file__).parent.parent / "docs" / "benchmarks.md"


@dataclass(frozen=True)
class BenchConfig:
    rates: tuple[float, ...] = (10.0, 50.0)
    latency_keys: int = 1000
    latency_duration_s: float = 30.0
    burst_changes: int = 10_000
    burst_keys: tuple[int, ...] = (100, 10_000)
    coalesce_updates: int = 1000
    coalesce_keys: int = 10
    temporal_workflows: int = 500
    #: ``memory`` or ``sqlite`` (a history file in the run directory).
    temporal_db: str = "memory"
    #: ``sqlite`` or ``postgres`` (the embedded server from the pgserver wheel).
    database: str = "sqlite"
    scenarios: tuple[str, ...] = SCENARIOS
    #: Temporal worker processes of the pipeline (``rendersync dev``'s default: the cores).
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    converge_timeout_s: float = 1800.0
    out_dir: Path = RESULTS_DIR
    docs: Path | None = DOCS_FILE
    plot: bool = True
    smoke: bool = False
    #: Rendersync settings of every pipeline stack (``--set SYNC__APPLY_CONCURRENTLY=true``).
    settings: tuple[tuple[str, str], ...] = ()
    seed: int = 7
    argv: tuple[str, ...] = field(default_factory=tuple)


SMOKE = {
    "rates": (5.0, 10.0),
    "latency_keys": 10,
    "latency_duration_s": 1.5,
    "burst_changes": 30,
    "burst_keys": (3, 10),
    "coalesce_updates": 30,
    "coalesce_keys": 3,
    "temporal_workflows": 20,
    "converge_timeout_s": 60.0,
}


def _setting(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=VALUE")
    return name.removeprefix("RENDERSYNC_"), value


def _floats(text: str) -> tuple[float, ...]:
    return tuple(float(part) for part in text.split(",") if part)


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(",") if part)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--smoke", action="store_true", help="tiny sizes: a run of seconds")
    p.add_argument("--scenarios", help=f"comma-separated subset of {','.join(SCENARIOS)}")
    p.add_argument("--rates", type=_floats, help="latency write rates per second (10,50)")
    p.add_argument("--latency-keys", type=int, help="keys the latency writes spread over")
    p.add_argument("--duration", type=float, help="seconds of writes per latency rate")
    p.add_argument("--burst", type=int, help="changes per throughput burst")
    p.add_argument("--burst-keys", type=_ints, help="key counts of the bursts (100,10000)")
    p.add_argument("--coalesce-updates", type=int, help="updates of the coalescing scenario")
    p.add_argument("--coalesce-keys", type=int, help="keys of the coalescing scenario")
    p.add_argument("--workers", type=int, help="worker processes of the pipeline (the cores)")
    p.add_argument("--workflows", type=int, help="no-op workflows of the bare Temporal baseline")
    p.add_argument("--temporal-db", choices=("memory", "sqlite"), default="memory")
    p.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    p.add_argument("--timeout", type=float, help="seconds to wait for convergence")
    p.add_argument(
        "--set",
        action="append",
        type=_setting,
        default=[],
        metavar="NAME=VALUE",
        help="a RENDERSYNC_ setting (without the prefix) of every pipeline process; repeatable",
    )
    p.add_argument("--out", type=Path, help="directory for the JSON and PNG results")
    p.add_argument(
        "--docs",
        type=Path,
        default=DOCS_FILE,
        help="the file a section is appended to (%(default)s)",
    )
    p.add_argument("--no-docs", action="store_true", help="append no section anywhere")
    p.add_argument("--no-plot", action="store_true", help="skip the PNG")
    return p


_FLAGS = {
    "rates": "rates",
    "latency_keys": "latency_keys",
    "duration": "latency_duration_s",
    "burst": "burst_changes",
    "burst_keys": "burst_keys",
    "coalesce_updates": "coalesce_updates",
    "coalesce_keys": "coalesce_keys",
    "workflows": "temporal_workflows",
    "workers": "workers",
    "timeout": "converge_timeout_s",
    "out": "out_dir",
}


def parse_config(argv: Sequence[str]) -> BenchConfig:
    args = _parser().parse_args(argv)
    values: dict[str, object] = dict(SMOKE) if args.smoke else {}
    for flag, name in _FLAGS.items():
        if getattr(args, flag) is not None:
            values[name] = getattr(args, flag)
    if args.scenarios:
        chosen = tuple(s.strip() for s in args.scenarios.split(",") if s.strip())
        unknown = set(chosen) - set(SCENARIOS)
        if unknown:
            raise SystemExit(f"unknown scenarios: {sorted(unknown)}")
        values["scenarios"] = chosen
    return BenchConfig(
        temporal_db=args.temporal_db,
        database=args.database,
        docs=None if args.no_docs else args.docs,
        plot=not args.no_plot,
        smoke=args.smoke,
        settings=tuple(args.set),
        argv=tuple(argv),
        **values,  # type: ignore[arg-type]
    )
