"""The GraphQL transport: the router, the POST fast path, the WebSocket handler, media types,
persisted documents, the schema's assembly and its extensions."""
