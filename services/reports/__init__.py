"""Reports: per-ticket facts, the report queries, exports and scheduled runs."""
