"""The process-mode bench harness runs on tiny sizes and prints its baseline and ratios."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import repo_root


def test_ratios_bench_runs_api_and_worker_as_processes_and_prints_json() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.ratios", "--workers", "1", "--apis", "2"]
        + ["--creates", "6", "--updates", "4", "--no-write"],
        cwd=repo_root(),
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads(done.stdout)
    assert (figures["workers"], figures["apis"]) == (1, 2)
    intake = figures["intake"]
    assert intake["tickets"] == 6
    assert intake["fair_baseline"]["per_second"] > 0
    assert intake["api_vs_fair_rate"] > 0
    status = figures["status"]
    assert status["updates"] == 4
    assert status["api_vs_bare_p99"] > 0
    assert set(status["bare_update"]) == {"p50_ms", "p99_ms", "max_ms"}
    assert len(figures["load_average_before_after"]) == 2
