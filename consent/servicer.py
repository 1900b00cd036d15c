"""The gRPC edge of the consent registry: identify and authorise the caller, convert, call."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import grpc

from consent import serde
from consent.access import Access, Operation
from consent.registry import ConsentRegistry
from seinhuis import logs, metrics
from seinhuis.errors import InvalidArgument, PermissionDenied, Unauthenticated
from seinhuis.transport import peer_common_name
from seinhuis.v1 import consent_pb2, consent_pb2_grpc

log = logs.get_logger(__name__)

#: Cursors are signed 64-bit integers in storage; a larger one is no cursor the registry gave out.
MAX_CURSOR = 2**63 - 1


class UnknownCaller(Unauthenticated):
    fixed_message = "the caller presented no certificate common name"


def _caller(context: grpc.ServicerContext) -> str:
    name = peer_common_name(context)
    if not name:
        raise UnknownCaller("no CN")
    return name


class ConsentServicer(consent_pb2_grpc.ConsentServiceServicer):
    def __init__(self, registry: ConsentRegistry, access: Access, *, poll_s: float = 1.0) -> None:
        self._registry = registry
        self._access = access
        self._poll_s = poll_s
        self._stopping = threading.Event()

    def shutdown(self) -> None:
        """End every open Watch promptly (the server is stopping)."""
        self._stopping.set()
        self._registry.wake()

    def _authorize(self, context: grpc.ServicerContext, operation: Operation) -> str:
        caller = _caller(context)
        try:
            self._access.authorize(caller, operation)
        except PermissionDenied as exc:
            log.info("consent.refused", caller=caller, operation=operation.value, rule=exc.detail)
            raise
        return caller

    def Check(
        self, request: consent_pb2.CheckRequest, context: grpc.ServicerContext
    ) -> consent_pb2.CheckResponse:
        caller = self._authorize(context, Operation.CHECK)
        query = serde.check_from_proto(request)
        try:
            self._access.authorize_check_for(caller, query.partner_id, query.partner_type)
        except PermissionDenied as exc:
            log.info("consent.refused", caller=caller, operation="Check", rule=exc.detail)
            raise
        result = self._registry.check(query)
        metrics.CONSENT_CHECKS.labels(result.decision.value).inc()
        log.info(
            "consent.checked",
            caller=caller,
            partner=query.partner_id,
            life_domain=query.life_domain.value,
            purpose=query.purpose.value,
            decision=result.decision.value,
        )
        return serde.check_result_to_proto(result)

    def Grant(
        self, request: consent_pb2.GrantRequest, context: grpc.ServicerContext
    ) -> consent_pb2.GrantResponse:
        caller = self._authorize(context, Operation.GRANT)
        actor, grant = serde.grant_from_proto(request)
        entry = self._registry.grant(actor, grant)
        log.info(
            "consent.granted",
            caller=caller,
            entry=entry.id,
            state=entry.state.value,
            decision=entry.decision.value,
            purpose=entry.cell.purpose.value,
        )
        return consent_pb2.GrantResponse(entry=serde.entry_to_proto(entry))

    def Revoke(
        self, request: consent_pb2.RevokeRequest, context: grpc.ServicerContext
    ) -> consent_pb2.RevokeResponse:
        caller = self._authorize(context, Operation.REVOKE)
        if not request.HasField("actor"):
            raise InvalidArgument("required", field="actor")
        actor = serde.actor_from_proto(request.actor)
        entry = self._registry.revoke(actor, bytes(request.entry_id))
        log.info("consent.revoked", caller=caller, entry=entry.id, state=entry.state.value)
        return consent_pb2.RevokeResponse(entry=serde.entry_to_proto(entry))

    def List(
        self, request: consent_pb2.ListRequest, context: grpc.ServicerContext
    ) -> consent_pb2.ListResponse:
        self._authorize(context, Operation.LIST)
        if not request.HasField("actor"):
            raise InvalidArgument("required", field="actor")
        if not request.HasField("subject"):
            raise InvalidArgument("required", field="subject")
        entries = self._registry.list_entries(
            serde.actor_from_proto(request.actor),
            serde.person_from_proto(request.subject, "subject"),
            include_revoked=request.include_revoked,
        )
        return consent_pb2.ListResponse(entries=[serde.entry_to_proto(e) for e in entries])

    def Watch(
        self, request: consent_pb2.WatchRequest, context: grpc.ServicerContext
    ) -> Iterator[consent_pb2.WatchResponse]:
        caller = self._authorize(context, Operation.WATCH)
        cursor = request.after_cursor
        if cursor > MAX_CURSOR:
            raise InvalidArgument(f"must be at most {MAX_CURSOR}", field="after_cursor")
        log.info("consent.watch_subscribed", caller=caller, after_cursor=cursor)
        # A cancelled watcher should not keep a worker waiting until the next poll.
        context.add_callback(self._registry.wake)
        while context.is_active() and not self._stopping.is_set():
            for change in self._registry.wait_for_changes(cursor, self._poll_s):
                yield serde.change_to_proto(change)
                cursor = change.cursor
