"""Business services shared by the API, the worker and the CLI (no HTTP here)."""
