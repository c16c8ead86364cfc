"""Knowledge-base search p99 over many articles, and quote → approval-request latency.

`python -m bench.sales` (BENCH_FULL=1: 100,000 articles; default 5,000). On one stack (real
Postgres, Temporal dev server, worker, API over HTTP):
- kb_search: articles over an 8,000-word Chinese vocabulary (5 % on a few recurring support
  topics); `GET /kb/search?q=` with two-word queries typed from that vocabulary, and with the
  recurring-topic queries (each matching ~1 % of the articles), against the baseline of
  `GET /kb/articles/{id}` (a primary-key read through the same HTTP path), plus the bare SQL
  of the search without HTTP;
- quote_approval: `POST /quotes` then `POST /quotes/{id}/submit` until the approver's in-app
  request row exists, against the baseline of `POST /quotes` alone.
Writes bench/results/sales.json.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from functools import lru_cache
from typing import Any

import jieba
from sqlalchemy import func, insert, select

from bench.common import Stack, admin_user_id, is_full, latency_ms, load_average, run_alone
from core.db import make_sessionmaker
from models import KbArticle, Notification
from services.kb.text import token_text

TOPICS_ZH = [
    ("打印机无法连接网络", "重置打印机网络设置后重新连接无线网络"),
    ("发票开具失败", "检查税号与开票信息是否一致，然后重新提交"),
    ("扫码枪无法识别条码", "切换扫码枪的键盘模式并确认条码类型"),
    ("会员积分未到账", "核对订单状态，积分在确认收货后七天内发放"),
    ("物流信息长时间未更新", "联系承运商查询包裹位置并登记异常件"),
    ("退款进度查询", "退款原路返回，银行卡通常需要三到五个工作日"),
]
TOPICS_EN = [
    ("Printer cannot join the network", "Reset the network settings and reconnect to Wi-Fi"),
    ("Invoice issuing failed", "Check the tax number and resubmit the invoice request"),
    ("Refund status", "Refunds return to the original payment method within five days"),
]
QUERIES = ["打印机连不上网络", "发票开不出来怎么办", "退款多久到账", "printer network", "invoice"]


@lru_cache(maxsize=1)
def vocabulary() -> list[str]:
    """8,000 common Chinese words from jieba's dictionary (deterministic)."""
    jieba.initialize()
    words = sorted(
        w
        for w, freq in jieba.dt.FREQ.items()
        if freq >= 50 and 2 <= len(w) <= 4 and re.fullmatch(r"[\u4e00-\u9fff]+", w)
    )
    return random.Random(3).sample(words, 8_000)


def _articles(n: int, seed: int = 7) -> list[dict[str, Any]]:
    """Mostly articles over a broad vocabulary; 5 % on a few recurring support topics."""
    rng = random.Random(seed)
    words = vocabulary()
    rows = []
    for i in range(n):
        if rng.random() < 0.05:
            title, body = rng.choice(TOPICS_ZH if rng.random() < 0.8 else TOPICS_EN)
            title = f"{title}（案例 {i}）"
            body = f"{body}。处理编号 {i}，门店 {rng.randrange(500)}。"
        else:
            title = "".join(rng.sample(words, 3)) + "问题"
            body = "，".join(rng.sample(words, 30)) + "。"
        rows.append(
            {
                "title": title,
                "body": body,
                "tags": [],
                "status": "published",
                "title_tokens": token_text(title),
                "body_tokens": token_text(body),
            }
        )
    return rows


def vocabulary_queries(n: int) -> list[str]:
    rng = random.Random(11)
    return ["".join(rng.sample(vocabulary(), 2)) for _ in range(n)]


async def _seed(stack: Stack, n: int) -> float:
    began = time.monotonic()
    sessions = make_sessionmaker(stack.engine)
    batch = 5_000
    for start in range(0, n, batch):
        rows = _articles(min(batch, n - start), seed=start)
        async with sessions.begin() as session:
            await session.execute(insert(KbArticle), rows)
    async with stack.engine.begin() as conn:
        await conn.exec_driver_sql("ANALYZE kb_articles")
    return time.monotonic() - began


async def _timed(http: Any, path: str, params: dict[str, str] | None = None) -> float:
    began = time.perf_counter()
    response = await http.get(path, params=params)
    response.raise_for_status()
    return time.perf_counter() - began


SEARCH_SQL = (
    "EXPLAIN (ANALYZE, FORMAT JSON) SELECT id, ts_rank(search_vector, q) AS r"
    " FROM kb_articles, websearch_to_tsquery('simple', '{q}') AS q"
    " WHERE search_vector @@ q ORDER BY r DESC, id DESC LIMIT 20"
)


async def _server_side_ms(stack: Stack, queries: list[str]) -> dict[str, float]:
    from services.kb.text import query_text

    seconds = []
    async with stack.engine.connect() as conn:
        for q in queries:
            text = query_text(q).replace("'", "")  # tokens are word characters only
            plan = (await conn.exec_driver_sql(SEARCH_SQL.format(q=text))).scalar_one()
            seconds.append(float(plan[0]["Execution Time"]) / 1000)
    return latency_ms(seconds)


async def kb_search(stack: Stack, articles: int, rounds: int) -> dict[str, Any]:
    seeded = await _seed(stack, articles)
    typed = vocabulary_queries(rounds)
    async with stack.http(headers=stack.admin_headers) as http:
        for q in QUERIES:  # warm the caches once
            await _timed(http, "/api/v1/kb/search", {"q": q})
        search = [await _timed(http, "/api/v1/kb/search", {"q": q}) for q in typed]
        topic = [
            await _timed(http, "/api/v1/kb/search", {"q": QUERIES[i % len(QUERIES)]})
            for i in range(rounds)
        ]
        async with make_sessionmaker(stack.engine)() as session:
            picked = select(KbArticle.id).order_by(func.random()).limit(rounds)
            ids = list(await session.scalars(picked))
        by_id = [await _timed(http, f"/api/v1/kb/articles/{i}") for i in ids]
    from api.deps import Principal
    from services.kb.articles import search as search_sql

    sessions = make_sessionmaker(stack.engine)
    editor = Principal(1, "admin", None)
    bare = []
    async with sessions() as session:
        for q in typed:
            began = time.perf_counter()
            await search_sql(session, editor, q)
            bare.append(time.perf_counter() - began)
    server = await _server_side_ms(stack, typed[:50])
    api, base = latency_ms(search), latency_ms(by_id)
    return {
        "articles": articles,
        "seed_seconds": round(seeded, 1),
        "queries": rounds,
        "api_search": api,
        "bare_search_sql": latency_ms(bare),
        # Postgres's own execution time (EXPLAIN ANALYZE), free of client scheduling.
        "postgres_execution": server,
        # Queries on the recurring topics match about 1 % of all articles each.
        "api_search_topic_queries": latency_ms(topic),
        "baseline_get_by_id": base,
        "search_vs_get_p99_ratio": round(api["p99_ms"] / base["p99_ms"], 2),
        "goal_p99_ms": 50,
    }


async def quote_approval(stack: Stack, n: int) -> dict[str, Any]:
    admin_id = await admin_user_id(stack)
    sessions = make_sessionmaker(stack.engine)
    created_only, to_notice = [], []
    async with stack.http(headers=stack.admin_headers) as http:
        rule = await http.post(
            "/api/v1/quote-approval-rules",
            json={"name": "bench", "level": 1, "min_total": "0.00", "approver_id": admin_id},
        )
        rule.raise_for_status()
        customer = await http.post("/api/v1/customers", json={"name": "压测客户", "type": "b2b"})
        customer.raise_for_status()
        body = {
            "customer_id": customer.json()["id"],
            "valid_until": "2099-01-01T00:00:00Z",
            "lines": [{"name": "服务", "quantity": "1", "unit_price": "100.00"}],
        }
        for _ in range(n):  # baseline: creation alone
            began = time.perf_counter()
            (await http.post("/api/v1/quotes", json=body)).raise_for_status()
            created_only.append(time.perf_counter() - began)
        for _ in range(n):
            began = time.perf_counter()
            quote = await http.post("/api/v1/quotes", json=body)
            quote.raise_for_status()
            (await http.post(f"/api/v1/quotes/{quote.json()['id']}/submit")).raise_for_status()
            step = f"quote-{quote.json()['id']}:step0:0"
            key = f"{step}:quote_approval_requested:user:{admin_id}:in_app"
            while True:
                async with sessions() as session:
                    found = await session.scalar(
                        select(Notification.id).where(Notification.idempotency_key == key)
                    )
                if found is not None:
                    break
                if time.perf_counter() - began > 30:
                    raise RuntimeError("no approval request after 30 s")
                await asyncio.sleep(0.002)
            to_notice.append(time.perf_counter() - began)
        await http.delete(f"/api/v1/quote-approval-rules/{rule.json()['id']}")
    created, noticed = latency_ms(created_only), latency_ms(to_notice)
    return {
        "quotes": n,
        "baseline_create_only": created,
        "create_to_approval_request": noticed,
        "p50_ratio_to_create": round(noticed["p50_ms"] / created["p50_ms"], 2),
    }


async def bench(stack: Stack, *, articles: int | None = None, rounds: int = 200) -> dict[str, Any]:
    articles = articles or (100_000 if is_full() else 5_000)
    load = load_average()
    figures = {
        "kb_search": await kb_search(stack, articles, rounds),
        "quote_approval": await quote_approval(stack, min(rounds, 50)),
    }
    figures["load_average_before_after"] = [load, load_average()]
    figures["note"] = "measured on a shared machine; compare ratios, not absolute figures"
    return figures


if __name__ == "__main__":
    run_alone("sales", bench)
