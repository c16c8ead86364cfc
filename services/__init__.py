"""Service layer: reads, scoping and writes shared by the front-ends, the worker and the CLI."""
