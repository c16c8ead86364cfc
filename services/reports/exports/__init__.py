"""Report files: CSV (streamed), XLSX (write-only) and PDF (embedded CJK font, charts)."""
