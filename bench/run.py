"""Run every benchmark, print a table and write `bench/results.json`.

Each figure is a ratio against a baseline measured in the same run on this machine, never an
absolute time, so results compare across machines.
"""

from __future__ import annotations

import importlib
import json
import platform
import sys
import traceback
from pathlib import Path
from typing import Any

MODULES = [
    "bench.bench_service",
    "bench.bench_client",
    "bench.bench_ratelimit",
    "bench.bench_analytics",
    "bench.bench_upload",
]
RESULTS = Path(__file__).resolve().parent / "results.json"


def meets(goal: str, ratio: float) -> bool:
    operator, _, number = goal.partition(" ")
    bound = float(number)
    return ratio >= bound if operator == ">=" else ratio <= bound


def main() -> int:
    entries: list[dict[str, Any]] = []
    failed = []
    for name in MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError:
            print(f"skipped {name}: not present", file=sys.stderr)
            continue
        print(f"running {name} ...", file=sys.stderr, flush=True)
        try:
            if name == "bench.bench_ratelimit":
                from bench.common import backing_servers

                with backing_servers() as (_, redis_url):
                    entries.extend(module.run(redis_url))
            else:
                entries.extend(module.run())
        except Exception:
            failed.append(name)
            traceback.print_exc()
    for item in entries:
        item["met"] = meets(item["goal"], item["ratio"])
    width = max((len(item["name"]) for item in entries), default=10)
    print(f"{'figure':<{width}}  {'value':>12}  {'baseline':>12}  {'ratio':>7}  goal")
    for item in entries:
        print(
            f"{item['name']:<{width}}  {item['value']:>12}  {item['baseline']:>12}  "
            f"{item['ratio']:>7}  {item['goal']} {'ok' if item['met'] else 'MISSED'}"
        )
    RESULTS.write_text(
        json.dumps(
            {
                "machine": {
                    "python": platform.python_version(),
                    "cpus": __import__("os").cpu_count(),
                },
                "results": entries,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {RESULTS}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
