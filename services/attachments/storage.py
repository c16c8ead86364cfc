"""Where sealed files live: a local directory, or any S3-compatible object store."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from core.settings import Settings

READ_CHUNK = 1 << 20


class Storage(Protocol):
    """Put a finished local file under a key, read a key back in chunks."""

    async def put(self, key: str, path: Path) -> None: ...

    def read(self, key: str) -> Iterator[bytes]: ...

    async def raw(self, key: str) -> bytes: ...


class LocalStorage:
    """Files under one directory; keys are relative paths made by us (never user input)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ValueError(f"storage key escapes the root: {key!r}")
        return path

    async def put(self, key: str, path: Path) -> None:
        target = self._path(key)

        def move() -> None:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(path, target)

        await asyncio.to_thread(move)

    def read(self, key: str) -> Iterator[bytes]:
        with open(self._path(key), "rb") as handle:
            while chunk := handle.read(READ_CHUNK):
                yield chunk

    async def raw(self, key: str) -> bytes:
        return await asyncio.to_thread(self._path(key).read_bytes)


class S3Storage:
    """An S3-compatible bucket (AWS, MinIO, Ceph, OSS, COS) through boto3."""

    def __init__(self, client: Any, bucket: str, prefix: str = "") -> None:
        self.client, self.bucket, self.prefix = client, bucket, prefix

    @classmethod
    def from_settings(cls, settings: Settings) -> S3Storage:
        import boto3
        from botocore.config import Config

        client = boto3.client(
            "s3",
            endpoint_url=settings.s3_endpoint_url or None,
            region_name=settings.s3_region or None,
            aws_access_key_id=settings.s3_access_key_id or None,
            aws_secret_access_key=settings.s3_secret_access_key.get_secret_value() or None,
            config=Config(
                s3={"addressing_style": settings.s3_addressing_style},
                retries={"max_attempts": 5, "mode": "standard"},
            ),
        )
        return cls(client, settings.s3_bucket, settings.s3_prefix)

    async def put(self, key: str, path: Path) -> None:
        # upload_file streams from disk and switches to a multipart upload for large files.
        await asyncio.to_thread(self.client.upload_file, str(path), self.bucket, self.prefix + key)
        await asyncio.to_thread(os.unlink, path)

    def read(self, key: str) -> Iterator[bytes]:
        body = self.client.get_object(Bucket=self.bucket, Key=self.prefix + key)["Body"]
        try:
            yield from body.iter_chunks(READ_CHUNK)
        finally:
            body.close()

    async def raw(self, key: str) -> bytes:
        def fetch() -> bytes:
            return b"".join(self.read(key))

        return await asyncio.to_thread(fetch)


def storage_for(settings: Settings) -> Storage:
    """The configured backend."""
    if settings.attachment_storage == "s3":
        return S3Storage.from_settings(settings)
    return LocalStorage(attachments_dir(settings))


def attachments_dir(settings: Settings) -> Path:
    return Path(settings.attachment_dir or os.path.join(settings.data_dir, "attachments"))
