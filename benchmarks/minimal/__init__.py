"""The minimal synchronous server (Flask + Graphene + sync SQLAlchemy): see app.py."""
