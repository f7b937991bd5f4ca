"""The FastAPI application, settings, wiring and CLI of issuegraph."""
