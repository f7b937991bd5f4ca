"""The Mutation root: the fields of ``resolvers/mutations/``, in the schema's order.

Each mutation decodes its input IDs and calls one service in a unit of work, then builds its
payload from the result (``resolvers/mutation_support.py:mutation``, which also turns every
``DomainError`` into ``userErrors``).
"""

from __future__ import annotations

import strawberry

from resolvers.mutations.issues import IssueMutations
from resolvers.mutations.jobs import JobMutations
from resolvers.mutations.workspaces import WorkspaceMutations


@strawberry.type
class Mutation(WorkspaceMutations, IssueMutations, JobMutations):
    # Strawberry collects the bases' fields in this order: the order of the SDL snapshot.
    pass
