"""Attachment storage: S3 round trip against a real S3-protocol server, key re-wrapping."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from pathlib import Path

import boto3
import httpx
import pytest
from moto.server import ThreadedMotoServer
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from core import devstack, pii
from core.crypto import Keyring
from core.db import make_sessionmaker
from core.settings import Settings
from models import Attachment
from services.attachments.rotation import rewrap_keys
from tests.api.attachment_support import PDF, client_for, files
from tests.api.test_tickets_slice import create
from tests.conftest import TEST_BLIND_INDEX_KEY, TEST_ENCRYPTION_KEYS, Org

API = "/api/v1"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """moto's standalone S3 server on a free port, with one bucket."""
    port = devstack.free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    client.create_bucket(Bucket="closedloop-files")
    yield endpoint
    server.stop()


async def test_s3_backend_round_trip_stores_only_sealed_bytes(
    org: Org,
    settings: Settings,
    engine: AsyncEngine,
    temporal_env: WorkflowEnvironment,
    s3_endpoint: str,
) -> None:
    s3 = {
        "attachment_storage": "s3",
        "s3_endpoint_url": s3_endpoint,
        "s3_region": "us-east-1",
        "s3_bucket": "closedloop-files",
        "s3_access_key_id": "test",
        "s3_secret_access_key": SecretStr("test"),
        "s3_addressing_style": "path",
    }
    # Larger than one sealed chunk and than boto3's multipart threshold would need: 9 MB.
    document = PDF + os.urandom(9_000_000)
    async with client_for(settings, engine, temporal_env.client, **s3) as client:
        ticket = await create(client, org)
        created = await client.post(
            f"{API}/tickets/{ticket['id']}/attachments",
            files=files("spec.pdf", document, "application/pdf"),
            headers=org.manager.headers,
        )
        assert created.status_code == 201, created.text
        download = await client.get(
            f"{API}/attachments/{created.json()['id']}", headers=org.manager.headers
        )
        assert download.status_code == 200
        assert download.content == document
    async with make_sessionmaker(engine)() as session:
        row = await session.get(Attachment, created.json()["id"])
        assert row is not None
    stored = (
        boto3.client(
            "s3",
            endpoint_url=s3_endpoint,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
        .get_object(Bucket="closedloop-files", Key=f"attachments/{row.storage_key}")["Body"]
        .read()
    )
    assert len(stored) > len(document)
    assert document[len(PDF) : len(PDF) + 64] not in stored


async def test_rotation_rewraps_file_keys_and_files_still_open(
    http: httpx.AsyncClient, org: Org, engine: AsyncEngine, settings: Settings
) -> None:
    ticket = await create(http, org)
    created = await http.post(
        f"{API}/tickets/{ticket['id']}/attachments",
        files=files("a.pdf", PDF, "application/pdf"),
        headers=org.manager.headers,
    )
    attachment_id = created.json()["id"]
    sessions = make_sessionmaker(engine)
    async with sessions() as session:
        row = await session.get(Attachment, attachment_id)
        assert row is not None
        stored_before = await _stored(settings, row.storage_key)
    new_key = "test-2:" + base64.b64encode(bytes(range(32, 64))).decode()
    rotated = Keyring.from_strings(f"{new_key},{TEST_ENCRYPTION_KEYS}", TEST_BLIND_INDEX_KEY)
    previous = pii.use_keyring(rotated)
    try:
        assert await rewrap_keys(sessions, rotated) >= 1
        async with sessions() as session:
            wrapped = await session.scalar(
                select(Attachment.wrapped_key).where(Attachment.id == attachment_id)
            )
        assert wrapped is not None
        assert Keyring.kid_of(wrapped) == "test-2"
        assert await _stored(settings, row.storage_key) == stored_before
        download = await http.get(f"{API}/attachments/{attachment_id}", headers=org.manager.headers)
        assert download.content == PDF
    finally:
        pii.use_keyring(previous)
        # Wrap back under the test key so the rest of the session keeps one keyring.
        await rewrap_keys(
            sessions,
            Keyring.from_strings(f"{TEST_ENCRYPTION_KEYS},{new_key}", TEST_BLIND_INDEX_KEY),
        )


async def _stored(settings: Settings, key: str) -> bytes:
    return (Path(settings.attachment_dir) / key).read_bytes()
