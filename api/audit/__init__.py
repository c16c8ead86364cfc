"""Audit: the admin action log and the personal-data access log."""
