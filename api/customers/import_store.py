"""The import's database side: duplicate lookup by key arrays, and COPY of new customers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from api.customers.service import allocate_codes
from api.deps import Principal
from core import pii
from domain.customer_import import CustomerDraft
from domain.customers import initial_approval

CUSTOMER_COLUMNS = (
    "id", "code", "name", "type", "industry", "region", "address", "founded_on", "source",
    "requirement", "owner_id", "department_id", "tier", "segment", "stage", "tags", "birthday",
    "approval", "created_by", "created_at", "updated_at", "custom_fields",
)  # fmt: skip
CONTACT_COLUMNS = (
    "customer_id", "name", "title", "phone", "phone_bidx", "email", "email_bidx", "is_primary",
)  # fmt: skip
_CREATED_EVENTS = text(
    "INSERT INTO customer_events (customer_id, at, type, actor, data) "
    "SELECT id, :at, 'created', :actor, :data FROM unnest(CAST(:ids AS bigint[])) AS id"
)

# Two index lookups rather than a join: the contacts by phone index, then their customers.
_BY_PHONE = text(
    "SELECT cu.id, cu.code, c.phone_bidx FROM customers cu "
    "JOIN (SELECT DISTINCT customer_id, phone_bidx FROM customer_contacts "
    "      WHERE phone_bidx = ANY(:phones) OFFSET 0) AS c ON cu.id = c.customer_id "
    "WHERE cu.merged_into_id IS NULL"
)
_BY_NAME_REGION = text(
    "SELECT lower(cu.name), lower(cu.region), cu.id, cu.code "
    "FROM customers cu JOIN unnest(CAST(:names AS text[]), CAST(:regions AS text[])) AS k(n, r) "
    "ON lower(cu.name) = k.n AND lower(cu.region) = k.r WHERE cu.merged_into_id IS NULL"
)


async def existing_matches(
    session: AsyncSession, drafts: Sequence[CustomerDraft]
) -> dict[tuple[str, str], dict[str, Any]]:
    """Live customers sharing a normalized phone or name + region with any draft, by key."""
    # The import grows the tables faster than statistics follow: planned on a cached plan or
    # on stale row counts, each lookup would scan them whole (quadratic over a large file).
    # Both lookups have their index; make the planner use it.
    await session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    await session.execute(text("SET LOCAL enable_seqscan = off"))
    try:
        return await _matches(session, drafts)
    finally:
        await session.execute(text("SET LOCAL enable_seqscan = on"))


async def _matches(
    session: AsyncSession, drafts: Sequence[CustomerDraft]
) -> dict[tuple[str, str], dict[str, Any]]:
    # Phones are matched by blind index: the database never sees them in clear.
    by_index = {
        pii.normalized_phone_index(d.phone_normalized): d.phone_normalized
        for d in drafts
        if d.phone_normalized
    }
    phones = sorted(by_index)
    pairs = sorted(
        {tuple(k[1].split("\x1f")) for d in drafts for k in d.dedup_keys() if k[0] == "name_region"}
    )
    found: dict[tuple[str, str], dict[str, Any]] = {}
    if phones:
        for cid, code, bidx in await session.execute(_BY_PHONE, {"phones": phones}):
            found.setdefault(
                ("phone", by_index[bidx]), {"customer_id": cid, "code": code, "reason": "phone"}
            )
    if pairs:
        params = {"names": [p[0] for p in pairs], "regions": [p[1] for p in pairs]}
        for name, region, cid, code in await session.execute(_BY_NAME_REGION, params):
            match = {"customer_id": cid, "code": code, "reason": "name_region"}
            found.setdefault(("name_region", f"{name}\x1f{region}"), match)
    return found


async def _copy(
    session: AsyncSession, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """COPY rows into `table` on the session's own connection (same transaction)."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver: psycopg.AsyncConnection[Any] = raw.driver_connection  # type: ignore[assignment]
    async with driver.cursor() as cursor:
        statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
        async with cursor.copy(statement) as copy:
            for row in rows:
                await copy.write_row(row)


async def insert_customers(
    session: AsyncSession, principal: Principal, tz: str, drafts: Sequence[CustomerDraft]
) -> list[int]:
    """Insert drafts with their primary contact and `created` event; their new ids."""
    now, p = datetime.now(UTC), principal
    approval = initial_approval(p.role).value
    codes = await allocate_codes(session, tz, len(drafts))
    ids = list(
        await session.scalars(
            text(
                "SELECT nextval(pg_get_serial_sequence('customers', 'id')) "
                "FROM generate_series(1, :n)"
            ),
            {"n": len(drafts)},
        )
    )
    customers = [
        (
            cid, code, d.name, d.type.value, d.industry, d.region, d.address, d.founded_on,
            d.source, d.requirement, p.user_id, p.department_id, d.tier.value,
            d.segment.value if d.segment else None, d.stage.value, d.tags, d.birthday,
            approval, p.user_id, now, now, Jsonb(d.custom_fields),
        )
        for cid, code, d in zip(ids, codes, drafts, strict=True)
    ]  # fmt: skip
    contacts = [
        (
            cid, pii.seal_opt(d.contact_name), d.contact_title, pii.seal_opt(d.phone),
            pii.normalized_phone_index(d.phone_normalized) if d.phone_normalized else None,
            pii.seal_opt(d.email), pii.email_index(d.email_normalized), True,
        )
        for cid, d in zip(ids, drafts, strict=True)
        if d.phone or d.email or d.contact_name
    ]  # fmt: skip
    await _copy(session, "customers", CUSTOMER_COLUMNS, customers)
    if contacts:
        await _copy(session, "customer_contacts", CONTACT_COLUMNS, contacts)
    # Every `created` event of a batch is alike: the server writes them from the id list.
    await session.execute(
        _CREATED_EVENTS,
        {
            "ids": ids,
            "at": now,
            "actor": p.actor,
            "data": Jsonb({"via": "import", "approval": approval}),
        },
    )
    return ids
