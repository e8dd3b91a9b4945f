"""``uv run python -m benchmarks [--quick] [--only NAME ...]``: print the table, save JSON."""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks import demo_volume, flow_overhead, ingest, memory, processing, sandbox_loop
from benchmarks.report import Figure, markdown, save

RESULTS = Path(__file__).parent / "results" / "latest.json"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--quick", action="store_true", help="small counts: a smoke run")
    parser.add_argument(
        "--only", nargs="*", default=None, help="flow, sandbox, demo, ingest, processing, memory"
    )
    args = parser.parse_args()
    wanted = set(args.only or ["flow", "sandbox", "ingest", "processing", "memory", "demo"])
    figures: list[Figure] = []
    if "flow" in wanted:
        figures += flow_overhead.run(20 if args.quick else 200)
    if "ingest" in wanted:
        figures += ingest.run(400 if args.quick else 5000)
    if "processing" in wanted:
        figures += processing.run(40 if args.quick else 500)
    if "memory" in wanted:
        figures += memory.run(4_000 if args.quick else 100_000)
    if "demo" in wanted:
        figures += demo_volume.run(60 if args.quick else 1000)
    if "sandbox" in wanted:
        figures += sandbox_loop.run(20 if args.quick else 300)
    print(markdown(figures))
    save(figures, RESULTS)
    print(f"\nsaved to {RESULTS}")


if __name__ == "__main__":
    main()
