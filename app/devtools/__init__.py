"""Developer tooling: GraphiQL's page and the embedded servers of `issuegraph dev`."""
