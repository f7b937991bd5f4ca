"""The legacy synchronous service layer (Flask + Graphene + sync SQLAlchemy).

Kept as the benchmark baseline and the rollback reference; see README.md.
"""
