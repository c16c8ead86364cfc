"""Masking of personal data for callers not entitled to clear text."""

from __future__ import annotations


def mask_phone(phone: str) -> str:
    """138****5678: keep the first three and last four digits."""
    digits = [c for c in phone if c.isdigit()]
    if len(digits) < 8:
        return "*" * len(phone)
    return "".join(digits[:3]) + "****" + "".join(digits[-4:])


def mask_email(email: str) -> str:
    """z***@x.com: keep the first character of the local part and the domain."""
    local, sep, domain = email.partition("@")
    if not sep:
        return "***"
    return f"{local[:1]}***@{domain}"
