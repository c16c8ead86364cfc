"""Attachments: typed, size-limited, envelope-encrypted files on tickets and customers."""
