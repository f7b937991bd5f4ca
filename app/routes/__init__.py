"""The routes that are not GraphQL: health, metrics and export downloads."""
