"""`python -m bench [--quick] [scenario ...]`: run the benchmarks, print a table, save
JSON and a chart under bench/results/."""

import argparse
import importlib
import os
import platform
import time
from pathlib import Path

from rich.console import Console
from rich.progress import Progress

from bench.report import print_table, save

SCENARIOS = ["greeter", "split", "documents", "availability"]
RESULTS = Path(__file__).with_name("results")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short rounds (under 2 minutes)")
    parser.add_argument("scenarios", nargs="*", metavar="scenario", help=f"of {SCENARIOS}")
    args = parser.parse_args()
    unknown = set(args.scenarios) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenario(s) {sorted(unknown)}; choose from {SCENARIOS}")
    args.scenarios = args.scenarios or SCENARIOS
    console = Console(width=230)
    modules = [importlib.import_module(f"bench.{name}") for name in args.scenarios]
    started = time.monotonic()
    rows = []
    with Progress(console=console, transient=True) as progress:
        for name, module in zip(args.scenarios, modules, strict=True):
            task = progress.add_task(name, total=module.steps(quick=args.quick))
            rows += module.run(quick=args.quick, progress=lambda task=task: progress.advance(task))
    print_table(rows, console)
    meta = {
        "quick": args.quick,
        "seconds": round(time.monotonic() - started),
        "machine": f"{platform.machine()} x{os.cpu_count()}, Python {platform.python_version()}",
    }
    data, chart = save(rows, RESULTS, meta=meta)
    console.print(f"Saved {data} and {chart} ({meta['seconds']} s).")


if __name__ == "__main__":
    main()
