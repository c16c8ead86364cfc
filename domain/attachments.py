"""Attachment rules: the type allowlist decided from the bytes, kinds, and safe filenames."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

import filetype

# Enough leading bytes for every detector we use (filetype reads at most 8 KiB).
SNIFF_BYTES = 8192


class AttachmentKind(StrEnum):
    IMAGE = "image"
    DOCUMENT = "document"


@dataclass(frozen=True)
class DetectedType:
    content_type: str
    extension: str
    kind: AttachmentKind


_IMAGES = {"image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp", "image/heic"}
_DOCUMENTS = {
    "application/pdf",
    "application/msword",
    "application/vnd.ms-excel",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
}
# What browsers sniff as markup (WHATWG MIME sniffing): never served as plain text.
_MARKUP = re.compile(
    rb"^\s*<(?:!doctype\s+html|html|head|body|script|iframe|svg|\?xml|!--|a\s|div|img|style"
    rb"|title|table|font|br|p[\s>]|h1|b[\s>])",
    re.IGNORECASE,
)


class RejectedType(ValueError):
    """The bytes are not of an allowed type (the message says what they look like)."""


def detect(head: bytes) -> DetectedType:
    """The type of a file from its first bytes; RejectedType outside the allowlist."""
    guess = filetype.guess(head)
    if guess is not None:
        mime = str(guess.mime)
        if mime in _IMAGES:
            return DetectedType(mime, str(guess.extension), AttachmentKind.IMAGE)
        if mime in _DOCUMENTS:
            return DetectedType(mime, str(guess.extension), AttachmentKind.DOCUMENT)
        raise RejectedType(f"files of type {mime} are not accepted")
    if _is_plain_text(head):
        return DetectedType("text/plain", "txt", AttachmentKind.DOCUMENT)
    raise RejectedType("the file is not an image, PDF, Office document or plain text")


def _is_plain_text(head: bytes) -> bool:
    if not head or b"\x00" in head or _MARKUP.match(head.lstrip(b"\xef\xbb\xbf")):
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut by the sniff window is still text.
        if exc.start < len(head) - 3:
            return False
        text = head[: exc.start].decode("utf-8")
    return all(ch.isprintable() or ch in "\t\r\n\f" for ch in text)


_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|;]+')


def sanitize_filename(name: str | None, extension: str) -> str:
    """A display/download name: no paths, controls or quotes; ≤ 120 chars; never empty."""
    base = unicodedata.normalize("NFC", name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = _UNSAFE.sub("_", base).strip(" ._")
    if len(base) > 120:
        stem, dot, ext = base.rpartition(".")
        base = (stem[: 119 - len(ext)] + dot + ext) if dot and len(ext) <= 10 else base[:120]
    return base or f"file.{extension}"
