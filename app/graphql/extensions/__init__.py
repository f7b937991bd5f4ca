"""The schema's extensions, one module each (docs/architecture.md, "The request's path")."""
