"""Customer import as a durable job: stored upload, resumable batches, progress."""
