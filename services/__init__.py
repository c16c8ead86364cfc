"""Service layer: reads, scoping and writes shared by the HTTP front-ends and workflows."""
