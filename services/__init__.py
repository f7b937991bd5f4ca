"""Async business logic, one module per domain. Never imports FastAPI or Strawberry."""
