"""An in-process sliding-window rate limiter (per API process; enough for one public form)."""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque

from core.errors import AppError


class RateLimited(AppError):
    status_code = 429
    code = "rate_limited"

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"too many requests; retry in {retry_after} s", details={"retry_after": retry_after}
        )
        self.retry_after = retry_after


class SlidingWindowLimiter:
    """At most `limit` hits per key in any `window` seconds; keeps at most `max_keys` keys."""

    def __init__(self, max_keys: int = 100_000) -> None:
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()
        self._max_keys = max_keys

    def hit(self, key: str, limit: int, window: float, now: float | None = None) -> None:
        """Count a hit, or raise RateLimited with the seconds until one is allowed again."""
        now = time.monotonic() if now is None else now
        hits = self._hits.pop(key, None) or deque()
        while hits and hits[0] <= now - window:
            hits.popleft()
        if len(hits) >= limit:
            self._hits[key] = hits
            raise RateLimited(max(1, math.ceil(hits[0] + window - now)))
        hits.append(now)
        self._hits[key] = hits
        while len(self._hits) > self._max_keys:
            self._hits.popitem(last=False)
