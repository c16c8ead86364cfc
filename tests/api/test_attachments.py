"""Attachments over HTTP: type from the bytes, limits, scoping, encryption at rest, integrity."""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from core.db import make_sessionmaker
from core.settings import Settings
from models import Attachment, AuditEntry
from tests.api.attachment_support import ELF, HTML, PDF, client_for, files, png
from tests.api.customer_support import create_customer
from tests.api.test_tickets_slice import create
from tests.conftest import Org, make_department

API = "/api/v1"


async def test_ticket_attachment_round_trip_with_safe_download_headers(
    http: httpx.AsyncClient, org: Org
) -> None:
    ticket = await create(http, org)
    image = png(extra=3000)
    created = await http.post(
        f"{API}/tickets/{ticket['id']}/attachments",
        files=files("../../screen:shot?.png", image),
        headers=org.manager.headers,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["content_type"] == "image/png"
    assert body["size"] == len(image)
    assert body["sha256"] == hashlib.sha256(image).hexdigest()
    assert body["filename"] == "screen_shot_.png"
    assert body["created_by"] == org.manager.id
    listed = await http.get(
        f"{API}/tickets/{ticket['id']}/attachments", headers=org.manager.headers
    )
    assert [a["id"] for a in listed.json()] == [body["id"]]
    download = await http.get(f"{API}/attachments/{body['id']}", headers=org.manager.headers)
    assert download.status_code == 200
    assert download.content == image
    assert download.headers["content-disposition"].startswith("attachment;")
    assert download.headers["x-content-type-options"] == "nosniff"
    assert download.headers["content-type"] == "image/png"
    events = await http.get(f"{API}/tickets/{ticket['id']}/events", headers=org.manager.headers)
    added = [e for e in events.json() if e["type"] == "attachment_added"]
    assert added[0]["data"]["attachment_id"] == body["id"]


async def test_type_is_decided_by_the_bytes_not_the_name(http: httpx.AsyncClient, org: Org) -> None:
    ticket = await create(http, org)
    url = f"{API}/tickets/{ticket['id']}/attachments"
    elf = await http.post(url, files=files("photo.png", ELF), headers=org.manager.headers)
    assert elf.status_code == 422
    assert elf.json()["error"]["details"]["errors"][0]["field"] == "file"
    html = await http.post(
        url, files=files("cat.jpg", HTML, "image/jpeg"), headers=org.manager.headers
    )
    assert html.status_code == 422
    pdf = await http.post(
        url, files=files("report.txt", PDF, "text/plain"), headers=org.manager.headers
    )
    assert pdf.status_code == 201
    assert pdf.json()["content_type"] == "application/pdf"
    text = "会议纪要\nminutes\n".encode()
    plain = await http.post(
        url, files=files("notes", text, "image/png"), headers=org.manager.headers
    )
    assert plain.json()["content_type"] == "text/plain"
    assert plain.json()["filename"] == "notes"


async def test_oversize_files_are_refused_with_413_per_kind(
    org: Org, settings: Settings, engine: AsyncEngine, temporal_env: WorkflowEnvironment
) -> None:
    async with client_for(
        settings, engine, temporal_env.client, attachment_max_image_bytes=2_000
    ) as client:
        ticket = await create(client, org)
        url = f"{API}/tickets/{ticket['id']}/attachments"
        big = await client.post(url, files=files("a.png", png(3000)), headers=org.manager.headers)
        assert big.status_code == 413
        assert big.json()["error"]["code"] == "payload_too_large"
        # Documents have their own, larger limit.
        pdf = PDF + b"%" + b"x" * 3000 + b"\n"
        doc = await client.post(url, files=files("a.pdf", pdf), headers=org.manager.headers)
        assert doc.status_code == 201


async def test_outside_the_owners_scope_attachments_are_not_found(
    http: httpx.AsyncClient, org: Org
) -> None:
    ticket = await create(http, org)
    url = f"{API}/tickets/{ticket['id']}/attachments"
    created = await http.post(url, files=files("a.png", png()), headers=org.manager.headers)
    elsewhere = await make_department(http, org.admin, "elsewhere")
    outsider = elsewhere.manager.headers
    assert (await http.get(url, headers=outsider)).status_code == 404
    assert (await http.post(url, files=files("b.png", png()), headers=outsider)).status_code == 404
    download = await http.get(f"{API}/attachments/{created.json()['id']}", headers=outsider)
    assert download.status_code == 404


async def test_files_are_encrypted_at_rest_and_tampering_is_detected(
    http: httpx.AsyncClient, org: Org, engine: AsyncEngine, settings: Settings
) -> None:
    ticket = await create(http, org)
    text = b"confidential quotation 12345 " * 2000
    created = await http.post(
        f"{API}/tickets/{ticket['id']}/attachments",
        files=files("quote.txt", text, "text/plain"),
        headers=org.manager.headers,
    )
    attachment_id = created.json()["id"]
    async with make_sessionmaker(engine)() as session:
        row = await session.get(Attachment, attachment_id)
        assert row is not None
        stored = Path(settings.attachment_dir) / row.storage_key
    sealed = stored.read_bytes()
    assert b"confidential" not in sealed
    assert hashlib.sha256(sealed).hexdigest() != row.sha256
    # A recorded sha256 that does not match what decrypts: refused, nothing served.
    async with make_sessionmaker(engine).begin() as session:
        await session.execute(
            update(Attachment).where(Attachment.id == attachment_id).values(sha256="0" * 64)
        )
    corrupt = await http.get(f"{API}/attachments/{attachment_id}", headers=org.manager.headers)
    assert corrupt.status_code == 500
    assert corrupt.json()["error"]["code"] == "attachment_corrupt"
    # Restore the sha256 but flip one stored byte: the chunk no longer authenticates.
    async with make_sessionmaker(engine).begin() as session:
        await session.execute(
            update(Attachment).where(Attachment.id == attachment_id).values(sha256=row.sha256)
        )
    assert (
        await http.get(f"{API}/attachments/{attachment_id}", headers=org.manager.headers)
    ).content == text
    flipped = bytearray(sealed)
    flipped[100] ^= 0x01
    stored.write_bytes(bytes(flipped))
    tampered = await http.get(f"{API}/attachments/{attachment_id}", headers=org.manager.headers)
    assert tampered.status_code == 500


async def test_customer_and_interaction_files_with_admin_soft_delete(
    http: httpx.AsyncClient, org: Org, engine: AsyncEngine
) -> None:
    customer = await create_customer(http, org.manager)
    base = f"{API}/customers/{customer['id']}"
    licence = await http.post(
        f"{base}/attachments", files=files("营业执照.pdf", PDF), headers=org.manager.headers
    )
    assert licence.status_code == 201, licence.text
    assert licence.json()["filename"] == "营业执照.pdf"
    interaction = await http.post(
        f"{base}/interactions",
        json={"kind": "visit", "at": "2026-05-01T10:00:00+08:00", "summary": "site visit"},
        headers=org.manager.headers,
    )
    assert interaction.status_code == 201, interaction.text
    minutes = await http.post(
        f"{base}/interactions/{interaction.json()['id']}/attachments",
        files=files("minutes.png", png()),
        headers=org.manager.headers,
    )
    assert minutes.status_code == 201
    own = await http.get(f"{base}/attachments", headers=org.manager.headers)
    assert [a["id"] for a in own.json()] == [licence.json()["id"]]
    whole = await http.get(
        f"{base}/attachments", params={"include_interactions": True}, headers=org.manager.headers
    )
    assert {a["id"] for a in whole.json()} == {licence.json()["id"], minutes.json()["id"]}
    download = await http.get(
        f"{API}/attachments/{licence.json()['id']}", headers=org.manager.headers
    )
    assert "filename*=UTF-8''%E8%90%A5" in download.headers["content-disposition"]
    target = f"{API}/attachments/{minutes.json()['id']}"
    assert (await http.delete(target, headers=org.manager.headers)).status_code == 403
    assert (await http.delete(target, headers=org.admin.headers)).status_code == 204
    assert (await http.get(target, headers=org.admin.headers)).status_code == 404
    async with make_sessionmaker(engine)() as session:
        audit = await session.scalar(
            select(AuditEntry).where(
                AuditEntry.action == "attachment.delete",
                AuditEntry.resource_id == str(minutes.json()["id"]),
            )
        )
    assert audit is not None


async def test_same_idempotency_key_stores_one_attachment(
    http: httpx.AsyncClient, org: Org
) -> None:
    ticket = await create(http, org)
    url = f"{API}/tickets/{ticket['id']}/attachments"
    headers = {**org.manager.headers, "Idempotency-Key": "shot-1"}
    first = await http.post(url, files=files("a.png", png()), headers=headers)
    again = await http.post(url, files=files("a.png", png()), headers=headers)
    assert first.json()["id"] == again.json()["id"]
    assert len((await http.get(url, headers=org.manager.headers)).json()) == 1
