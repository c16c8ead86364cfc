"""Path parameters and headers shared by the sales routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Header, Path

ObjectId = Annotated[int, Path(ge=1, lt=2**63)]
IdempotencyKeyHeader = Annotated[
    str | None, Header(alias="Idempotency-Key", max_length=255, min_length=1)
]
