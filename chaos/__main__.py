"""`python -m chaos [--seconds 240] [--seed 7]`: run the fault drill and print the table."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from chaos.drill import DrillConfig, render, run_drill


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=240, help="load duration")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--pairs", type=int, default=3, help="faults killing two at once")
    parser.add_argument("--out", type=Path, default=Path("bench/results/chaos.json"))
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (logs)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes")
    parser.add_argument("--apis", type=int, default=1, help="API processes (load spread over)")
    args = parser.parse_args()
    config = DrillConfig(
        seconds=args.seconds,
        seed=args.seed,
        pairs=args.pairs,
        keep_dir=args.keep,
        workers=args.workers,
        apis=args.apis,
    )
    summary = asyncio.run(run_drill(config, args.out))
    print(render(summary))  # noqa: T201
    print(f"\nwritten to {args.out}")  # noqa: T201
    return 0 if summary["lost"] == 0 and summary["duplicated"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
