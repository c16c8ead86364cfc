"""Calendar versions and the clock's due time: a CN calendar across National Day 2026."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.test_sla_admin import client, root, unique
from tests.conftest import Member

__all__ = ["client", "root"]

WEEKDAYS = {day: [["09:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}


def cn_calendar(name: str, **overrides: Any) -> dict[str, Any]:
    body = {"name": name, "timezone": "Asia/Shanghai", "working_hours": WEEKDAYS, "holidays": "CN"}
    body.update(overrides)
    return body


async def due(
    client: httpx.AsyncClient, root: Member, calendar_id: int, start: str, **params: Any
) -> httpx.Response:
    return await client.get(
        f"/api/v1/calendars/{calendar_id}/due",
        params={"start": start, "duration": "PT4H", **params},
        headers=root.headers,
    )


async def test_due_skips_national_day_and_counts_the_make_up_saturday(
    client: httpx.AsyncClient, root: Member
) -> None:
    created = await client.post(
        "/api/v1/calendars", json=cn_calendar(unique("cn")), headers=root.headers
    )
    assert created.status_code == 201, created.text
    calendar_id = created.json()["id"]
    assert created.json()["version"] == 1
    # 1 h on Wed 30 Sep, then 1-7 Oct are off: 3 h more on Thu 8 Oct from 09:00.
    before_holiday = await due(client, root, calendar_id, "2026-09-30T17:00:00+08:00")
    assert before_holiday.status_code == 200, before_holiday.text
    assert before_holiday.json()["due_at"] == "2026-10-08T04:00:00Z"
    # 2 h on Fri 9 Oct, then Saturday 10 Oct is a make-up workday: due 11:00 that day.
    make_up = await due(client, root, calendar_id, "2026-10-09T16:00:00+08:00")
    assert make_up.json()["due_at"] == "2026-10-10T03:00:00Z"
    # A plain Saturday is not: 17 Oct → Monday 19 Oct.
    plain = await due(client, root, calendar_id, "2026-10-16T16:00:00+08:00")
    assert plain.json()["due_at"] == "2026-10-19T03:00:00Z"


async def test_a_new_calendar_version_leaves_the_old_one_answerable(
    client: httpx.AsyncClient, root: Member
) -> None:
    name = unique("cn")
    created = await client.post("/api/v1/calendars", json=cn_calendar(name), headers=root.headers)
    calendar_id = created.json()["id"]
    changed = await client.put(
        f"/api/v1/calendars/{calendar_id}",
        json=cn_calendar(name, working_hours="24x7", holidays="none"),
        headers=root.headers,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["version"] == 2
    now = await due(client, root, calendar_id, "2026-09-30T17:00:00+08:00")
    assert now.json() == {
        "due_at": "2026-09-30T13:00:00Z",
        "calendar_id": calendar_id,
        "version": 2,
        "provisional": False,
    }
    old = await due(client, root, calendar_id, "2026-09-30T17:00:00+08:00", version=1)
    assert old.json()["due_at"] == "2026-10-08T04:00:00Z"
    versions = await client.get(f"/api/v1/calendars/{calendar_id}/versions", headers=root.headers)
    assert [v["version"] for v in versions.json()["items"]] == [1, 2]
    log = await client.get(
        "/api/v1/audit/log", params={"action": "calendar.new_version"}, headers=root.headers
    )
    entry = next(e for e in log.json()["items"] if e["resource_id"] == str(calendar_id))
    paths = {c["path"] for c in entry["data"]["changes"]}
    assert {"working_hours.mon.0.0", "holidays"} <= paths


async def test_due_rejects_a_naive_start_and_a_bad_duration(
    client: httpx.AsyncClient, root: Member
) -> None:
    naive = await due(client, root, 1, "2026-09-30T17:00:00")
    assert naive.status_code == 422
    assert naive.json()["error"]["details"]["errors"][0]["field"] == "query.start"
    negative = await client.get(
        "/api/v1/calendars/1/due",
        params={"start": "2026-09-30T17:00:00Z", "duration": "-PT1H"},
        headers=root.headers,
    )
    assert negative.status_code == 422
    missing = await due(client, root, 999999, "2026-09-30T17:00:00Z")
    assert missing.status_code == 404
