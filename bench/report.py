"""What a benchmark scenario reports, and how the runner prints, saves and charts it."""

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table


@dataclass
class Row:
    """One variant in one scenario: its headline figure, the spread over rounds, the ratio."""

    scenario: str
    variant: str
    value: float
    unit: str
    low: float
    high: float
    reference: str | None = None  # the variant the ratio compares with
    ratio: float | None = None  # value / the reference's value
    extra: dict = field(default_factory=dict)  # p50/p99 latency, CPU per request, ...


def rows_from_results(scenario: str, results: dict, *, reference: str) -> list[Row]:
    """Rows of an HTTP comparison (harness.compare) for one load, ratios against `reference`."""
    base = results[reference].median("requests_per_second")
    base_cpu = results[reference].median("cpu_us_per_request")
    rows = []
    for name, result in results.items():
        rps = result.median("requests_per_second")
        cpu = result.median("cpu_us_per_request")
        low, high = result.spread("requests_per_second")
        rows.append(
            Row(
                scenario=scenario,
                variant=name,
                value=rps,
                unit="req/s",
                low=low,
                high=high,
                reference=reference,
                ratio=rps / base,
                extra={
                    "cpu_us_per_request": cpu,
                    "cpu_ratio": base_cpu / cpu,  # > 1: less CPU per request than the reference
                    "p50_ms": result.median("p50_ms"),
                    "p99_ms": result.median("p99_ms"),
                    "errors": sum(sample.errors for sample in result.samples),
                },
            )
        )
    return rows


def print_table(rows: list[Row], console: Console) -> None:
    table = Table(
        title="City benchmarks: medians; spread = min–max over rounds; ratio = value / the "
        "scenario's reference (its row shows 1.00×); CPU ratio > 1: less CPU per request"
    )
    columns = ("scenario", "variant", "value", "spread", "ratio", "CPU ratio", "CPU µs/req")
    for column in (*columns, "p50 ms", "p99 ms", "notes"):
        right = column not in ("scenario", "variant", "notes")
        table.add_column(column, justify="right" if right else "left", no_wrap=True)
    for row in rows:
        extra = row.extra
        table.add_row(
            row.scenario,
            row.variant,
            f"{row.value:,.1f} {row.unit}",
            f"{row.low:,.1f}–{row.high:,.1f}",
            _times(row.ratio),
            _times(extra.get("cpu_ratio")),
            _fmt(extra.get("cpu_us_per_request")),
            _fmt(extra.get("p50_ms"), 2),
            _fmt(extra.get("p99_ms"), 2),
            extra.get("note", ""),
        )
    console.print(table)


def _times(ratio: float | None) -> str:
    return "" if ratio is None else f"{ratio:.2f}×"


def _fmt(value: float | None, digits: int = 0) -> str:
    return "" if value is None else f"{value:,.{digits}f}"


def save(rows: list[Row], directory: Path, *, meta: dict) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    data_path = directory / "latest.json"
    data_path.write_text(json.dumps({"meta": meta, "rows": [asdict(r) for r in rows]}, indent=2))
    chart_path = directory / "latest.png"
    _chart(rows, chart_path)
    return data_path, chart_path


def _chart(rows: list[Row], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scenarios = list(dict.fromkeys(row.scenario for row in rows))
    figure, axes = plt.subplots(len(scenarios), 1, figsize=(9, 2.2 * len(scenarios)), squeeze=False)
    for axis, scenario in zip(axes[:, 0], scenarios, strict=True):
        mine = [row for row in rows if row.scenario == scenario]
        values = [row.value for row in mine]
        errors = [[row.value - row.low for row in mine], [row.high - row.value for row in mine]]
        axis.barh([row.variant for row in mine], values, xerr=errors, color="#4c72b0", capsize=3)
        axis.set_title(f"{scenario} ({mine[0].unit})", fontsize=10, loc="left")
        axis.invert_yaxis()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
