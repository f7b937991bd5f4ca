"""graphql-transport-ws subscriptions: the same document rules as HTTP."""

from __future__ import annotations

from app.graphql.extensions.error_policy import record_error_codes
from app.graphql.persisted import DocumentStore, PersistedQueryError
from resolvers.context import Context
from schema.framework_compat import BaseGraphQLTransportWSHandler, SubscribeMessage


class TransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws with the same document rules as HTTP: in trusted-documents mode
    only registered documents run (by hash in ``payload.extensions.persistedQuery`` or in
    full); a hash alone also finds an APQ or trusted document. Nothing is registered here."""

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        request = self.context.request
        if self.connection_acknowledged and request is not None:
            documents: DocumentStore = request.app.state.issuegraph.documents
            payload = message["payload"]
            try:
                resolved = await documents.resolve(payload.get("query"), payload.get("extensions"))
            except PersistedQueryError as error:
                refusal = error.as_graphql_error()
                record_error_codes([refusal])
                await self.send_message(
                    {"id": message["id"], "type": "error", "payload": [refusal.formatted]}
                )
                return
            if resolved.query is not None:
                message = {**message, "payload": {**payload, "query": resolved.query}}
        await super().handle_subscribe(message)
