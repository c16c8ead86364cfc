"""Service layer: reads, scoping and writes per domain, shared by the HTTP front-ends."""
