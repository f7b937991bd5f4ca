"""The GraphQL vocabulary: types, inputs, enums, payloads, connections; the SDL snapshot."""
