"""Ratios against the baselines, and the markdown section appended to docs/benchmarks.md."""

from __future__ import annotations

from typing import Any

from bench.stats import ratio


def _get(data: dict[str, Any], *path: str) -> Any:
    for part in path:
        if not isinstance(data, dict):
            return None
        data = data.get(part)  # type: ignore[assignment]
    return data


#: The rendersync runs ratios are given for: (result part, name in the ratios).
_SYSTEMS = (("both_targets", "both_targets"), ("kube_only", "kubernetes_only"))


def ratios(result: dict[str, Any]) -> dict[str, Any]:
    """rendersync ÷ baseline, for both targets and for Kubernetes only: latency percentiles of
    the Kubernetes target by rate, burst changes/s by key count (÷ direct apply, and ÷ the bare
    Temporal lifecycle rate, the ceiling of fresh keys)."""
    out: dict[str, Any] = {
        "latency_vs_direct": {},
        "throughput_vs_direct": {},
        "throughput_vs_bare_temporal_lifecycles": {},
    }
    lifecycles = _get(result, "bare_temporal", "lifecycles_per_s")
    for part, system in _SYSTEMS:
        for rate, phase in (_get(result, part, "latency", "rates") or {}).items():
            ours = _get(phase, "latency", "kubernetes") or {}
            theirs = _get(result, "direct", "latency", "rates", rate, "latency", "kubernetes")
            out["latency_vs_direct"].setdefault(system, {})[rate] = {
                q: ratio(ours.get(q), (theirs or {}).get(q)) for q in ("p50_ms", "p95_ms", "p99_ms")
            }
        for keys, burst in (_get(result, part, "throughput") or {}).items():
            theirs = _get(result, "direct", "throughput", keys, "changes_per_s")
            ours = burst.get("changes_per_s")
            out["throughput_vs_direct"].setdefault(system, {})[keys] = ratio(ours, theirs)
            vs_temporal = out["throughput_vs_bare_temporal_lifecycles"].setdefault(system, {})
            vs_temporal[keys] = ratio(ours, lifecycles)
    return out


def _fmt(value: Any) -> str:
    if value is None:
        return "n/a"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _latency_rows(result: dict[str, Any]) -> list[str]:
    rows = [
        "| system | rate/s | target | n | p50 ms | p95 ms | p99 ms | max ms |",
        "|---" * 8 + "|",
    ]
    for run, label in (("both_targets", "rendersync"), ("direct", "direct apply")):
        for rate, phase in (_get(result, run, "latency", "rates") or {}).items():
            for target, s in phase["latency"].items():
                cells = [label, rate, target, s.get("count")]
                cells += [s.get(k) for k in ("p50_ms", "p95_ms", "p99_ms", "max_ms")]
                rows.append("| " + " | ".join(_fmt(c) for c in cells) + " |")
    return rows


def _throughput_rows(result: dict[str, Any]) -> list[str]:
    rows = ["| system | targets | changes | keys | write s | converge s | changes/s |"]
    rows.append("|---" * 7 + "|")
    runs = (
        ("both_targets", "rendersync", "k8s+git"),
        ("kube_only", "rendersync", "k8s"),
        ("direct", "direct apply", "k8s"),
    )
    for run, label, targets in runs:
        for keys, b in (_get(result, run, "throughput") or {}).items():
            cells = [label, targets, b["changes"], keys, b["write_s"], b["convergence_s"]]
            cells.append(b["changes_per_s"])
            rows.append("| " + " | ".join(_fmt(c) for c in cells) + " |")
    return rows


def _cost_rows(result: dict[str, Any]) -> list[str]:
    rows = ["| scenario | process | CPU s | CPU share | peak RSS MiB |", "|---" * 5 + "|"]
    scenarios = [
        (f"latency {rate}/s", phase.get("cost", {}))
        for rate, phase in (_get(result, "both_targets", "latency", "rates") or {}).items()
    ]
    for keys, b in (_get(result, "both_targets", "throughput") or {}).items():
        scenarios.append((f"burst {b['changes']}/{keys} keys k8s+git", b["cost"]))
    scenarios.append(("coalescing", _get(result, "both_targets", "coalescing", "cost") or {}))
    scenarios.append(("bare Temporal", _get(result, "bare_temporal", "cost") or {}))
    for name, cost in scenarios:
        for proc, c in sorted(cost.items()):
            cells = [name, proc, c["cpu_s"], c["cpu_share"], c["peak_rss_mib"]]
            rows.append("| " + " | ".join(_fmt(x) for x in cells) + " |")
    return rows


def markdown(result: dict[str, Any], *, images: list[tuple[str, str]] | None = None) -> str:
    """The run's section; ``images``: (what it shows, path relative to the docs file)."""
    meta = result["meta"]
    m = meta["machine"]
    lines = [
        f"\n## Run {meta['timestamp']}\n",
        f"Command: `{meta['command']}`  ",
        f"Machine: {m['cores']} cores ({m['cpu_model']}), {m['ram_gib']} GiB RAM, "
        f"load average at start {m['load_avg_at_start']}, {m['os']}, Python {m['python']}  ",
        f"Versions: {m['temporal_cli']}; {m['git']}; "
        + ", ".join(f"{k} {v}" for k, v in m["packages"].items())
        + "  ",
        f"Temporal history: {meta['temporal_db']}; database: {meta['database']}.\n",
        *_failure_lines(result),
        "### Latency (commit → applied)\n",
        *_latency_rows(result),
        *_pictures(images or [], "latency"),
        "\n### Throughput (burst → every target holds every final version)\n",
        *_throughput_rows(result),
        *_pictures(images or [], "throughput"),
        "\n### Coalescing\n",
        _coalescing_line(result),
        "\n### Bare Temporal (no-op signal-with-start workflows)\n",
        _temporal_line(result),
        "\n### Ratios (rendersync ÷ baseline)\n",
        "```",
        str(result.get("ratios")),
        "```",
        "\n### Cost\n",
        *_cost_rows(result),
    ]
    return "\n".join(lines) + "\n"


def _pictures(images: list[tuple[str, str]], kind: str) -> list[str]:
    return [f"\n![{what}]({path})" for what, path in images if what.startswith(kind)]


def _coalescing_line(result: dict[str, Any]) -> str:
    co = _get(result, "both_targets", "coalescing")
    if not co:
        return "not run"
    applied = ", ".join(f"{k} {v}" for k, v in co["applied"].items())
    return f"{co['updates']} updates on {co['keys']} keys reached the targets as: {applied}."


def _temporal_line(result: dict[str, Any]) -> str:
    t = result.get("bare_temporal")
    if not t or "lifecycles_per_s" not in t:
        return "not run"
    return (
        f"{t['workflows']} workflows: {t['starts_per_s']} signal-with-starts/s, "
        f"{t['lifecycles_per_s']} complete lifecycles/s."
    )


def _failure_lines(result: dict[str, Any]) -> list[str]:
    """The stages that failed, with their error: their other results are partial."""
    failed = result["meta"].get("failed_stages") or []
    if not failed:
        return []
    lines = ["**Failed stages** (what they measured before failing is kept):\n"]
    lines += [f"- {name}: `{result[name].get('error')}`" for name in failed]
    return [*lines, ""]
