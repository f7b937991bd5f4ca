"""The GraphQL vocabulary: Strawberry types, inputs, enums, payloads, connections; the SDL snapshot."""
