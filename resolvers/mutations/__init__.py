"""The Mutation root's fields, by entity; ``resolvers/mutation.py`` merges them."""
