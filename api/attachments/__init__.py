"""Attachment endpoints: upload, list, download and delete on tickets, customers, interactions."""
