"""Query, Mutation (and later Subscription) roots, and the per-request dataloaders."""
