"""The outbound guard benchmark runs at a tiny size and reports its figures."""

from __future__ import annotations

from bench import outbound_guard


async def test_outbound_guard_bench_reports_rates_and_ratios() -> None:
    figures = await outbound_guard.run(posts=3)
    for side in ("plain", "guarded"):
        for kind in ("fresh", "reused"):
            assert figures[f"{side}_{kind}_client"]["posts"] == 3
    assert figures["guarded_vs_plain_rate_fresh"] > 0
    assert figures["guarded_vs_plain_rate_reused"] > 0
