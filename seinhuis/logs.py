"""Structured JSON logs whose fields come from an event catalog.

Every event a service logs is listed in EVENTS with the fields allowed through; a processor
drops every other field, so an identifier passed by mistake never reaches a log line.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any, TextIO

import structlog

#: Fields every event may carry.
BASE_FIELDS = frozenset({"event", "level", "timestamp", "service", "logger"})

#: event name -> fields allowed through besides BASE_FIELDS. Ids here are message ids,
#: partner ids and codes, never pseudonyms or identifiers.
EVENTS: dict[str, frozenset[str]] = {
    # any service
    "service.started": frozenset({"address", "role"}),
    "service.stopping": frozenset({"role"}),
    "rpc.failed": frozenset({"method", "code", "error", "partner", "reason"}),
    "rpc.internal_error": frozenset({"method", "error_type"}),
    "rpc.cancelled": frozenset({"method"}),
    "db.migrated": frozenset({"schema", "from_revision", "to_revision"}),
    "db.unavailable": frozenset({"attempts", "error_type"}),
    "db.checkpoint_failed": frozenset({"error_type"}),
    # hub
    "hub.envelope_accepted": frozenset({"id", "partner", "kind", "signal_type"}),
    "hub.envelope_refused": frozenset({"id", "partner", "code", "reason"}),
    "hub.envelope_duplicate": frozenset({"id", "partner"}),
    "hub.signal_withdrawn": frozenset({"id", "partner", "reason"}),
    "hub.feed_subscribed": frozenset({"partner", "after_cursor"}),
    "hub.registry_loaded": frozenset({"partners", "keys"}),
    "hub.rekeyed": frozenset({"kind", "from_version", "to_version", "count"}),
    "hub.rekey_failed": frozenset({"error"}),
    "hub.household_updated": frozenset({"event_kind", "id"}),
    "hub.batch_stored": frozenset({"partner", "stored", "duplicates"}),
    "hub.case_judged": frozenset({"case", "status", "actions", "notices"}),
    "hub.case_escalation_notice": frozenset({"case", "role", "level", "rule"}),
    "hub.judge_failed": frozenset({"error_type"}),
    # consent at the hub (issue 5): signal ids, codes and counts, never a pseudonym
    "hub.consent_unchecked": frozenset(),
    "hub.consent_watch_subscribed": frozenset({"after_cursor"}),
    "hub.consent_watch_disconnected": frozenset({"code", "attempt"}),
    "hub.consent_lost": frozenset({"id", "reason"}),
    "hub.consent_sweep_failed": frozenset({"error"}),
    "hub.consent_follower_failed": frozenset({"error_type"}),
    "hub.resident_household_read": frozenset({"signals"}),
    "hub.objection_recorded": frozenset({"objection", "reason"}),
    "hub.preference_stated": frozenset({"choice"}),
    # operator interface: staff ids and roles, case references and action codes only
    "hub.staff_action": frozenset({"staff", "role", "action", "case"}),
    "hub.staff_refused": frozenset({"method", "reason"}),
    # node
    "node.signal_accepted": frozenset({"id", "signal_type"}),
    "node.signal_refused_locally": frozenset({"code", "field"}),
    "node.delivered": frozenset({"count", "attempt"}),
    "node.delivery_refused": frozenset({"id", "code"}),
    "node.delivery_failed": frozenset({"attempt", "code", "backoff_s", "pending"}),
    "node.feed_notification": frozenset({"cursor", "kind"}),
    "node.import_finished": frozenset({"rows", "accepted", "refused"}),
    "node.pseudonym_cache": frozenset({"hits", "misses", "size"}),
    "node.signal_withdrawn": frozenset({"id", "reason", "state"}),
    "node.pseudonym_key_changed": frozenset({"from_version", "to_version"}),
    "node.feed_subscribed": frozenset({"after_cursor"}),
    "node.feed_disconnected": frozenset({"attempt", "code", "backoff_s"}),
    "node.thread_crashed": frozenset({"thread", "error_type"}),
    "node.consent_unchecked": frozenset(),
    # how the local API is protected (node/local_tls.py): flags only, never a path or token
    "node.local_api": frozenset({"exposed", "tls", "client_certificates", "token"}),
    # pseudonymisation service
    "pseudonym.evaluated": frozenset({"partner", "kind", "count", "key_version"}),
    "pseudonym.refused": frozenset({"partner", "code", "count"}),
    "pseudonym.rotated": frozenset({"kind", "from_version", "to_version"}),
    "pseudonym.rekey_factor_issued": frozenset({"partner", "kind", "from_version", "to_version"}),
    "pseudonym.keyring_reload_failed": frozenset({"error"}),
    "pseudonym.evaluators_loaded": frozenset({"partners", "portals"}),
    # consent registry (entry ids are random; never a pseudonym or an actor)
    "consent.checked": frozenset({"caller", "partner", "life_domain", "purpose", "decision"}),
    "consent.granted": frozenset({"caller", "entry", "state", "decision", "purpose"}),
    "consent.revoked": frozenset({"caller", "entry", "state"}),
    "consent.watch_subscribed": frozenset({"caller", "after_cursor"}),
    "consent.refused": frozenset({"caller", "operation", "rule"}),
    # the resident portal (served by the consent service); never a citizen number or pseudonym
    "portal.login_started": frozenset(),
    "portal.logged_in": frozenset({"children"}),
    "portal.login_failed": frozenset({"reason"}),
    "portal.logged_out": frozenset({"reason"}),
    "portal.request_refused": frozenset({"reason", "path"}),
    "portal.preference_stated": frozenset({"choice"}),
    "portal.preference_cleared": frozenset(),
    "portal.objection_recorded": frozenset({"objection", "reason"}),
    "portal.message_added": frozenset({"message", "signal_type"}),
    "portal.internal_error": frozenset({"error_type"}),
    "portal.notices_read": frozenset({"count", "cursor"}),
    "portal.notices_failed": frozenset({"error"}),
    # the hub's staff dashboard: staff ids, roles and codes; its page views are hub.staff_action
    "dashboard.login_started": frozenset(),
    "dashboard.logged_in": frozenset({"staff", "role"}),
    "dashboard.login_failed": frozenset({"reason"}),
    "dashboard.logged_out": frozenset({"reason", "staff"}),
    "dashboard.request_refused": frozenset({"reason", "path"}),
    "dashboard.internal_error": frozenset({"error_type"}),
    # the development login provider (Ontwikkel-inlogdienst, never production)
    "dev_oidc.logged_in": frozenset({"client"}),
}

#: Events not in the catalog keep only these fields, plus a marker that they are unlisted.
_UNLISTED = "unlisted_event"


def filter_by_catalog(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> Mapping[str, Any]:
    """Drop every field the catalog does not allow for this event."""
    event = event_dict.get("event", "")
    allowed = EVENTS.get(event)
    if allowed is None:
        return {k: v for k, v in event_dict.items() if k in BASE_FIELDS} | {_UNLISTED: True}
    return {k: v for k, v in event_dict.items() if k in BASE_FIELDS or k in allowed}


def _bytes_to_hex(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Message ids are bytes; show them as hex."""
    for key, value in event_dict.items():
        if isinstance(value, bytes):
            event_dict[key] = value.hex()
    return event_dict


def _add_service(service: str) -> Any:
    def add(
        _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        event_dict.setdefault("service", service)
        return event_dict

    return add


class _CurrentStderr:
    """Whatever sys.stderr is when a line is written, not when logging was configured: a
    process that swaps it (pytest's capture, a daemon closing it) never gets a closed file."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure(service: str, *, stream: TextIO | None = None, level: int = logging.INFO) -> None:
    """Configure structlog to write one JSON object per line for this service."""
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            # A processor, not a context variable: gRPC worker threads must carry it too.
            _add_service(service),
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            filter_by_catalog,
            _bytes_to_hex,
            structlog.processors.JSONRenderer(sort_keys=True),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=stream or _CurrentStderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,
    )
    structlog.contextvars.clear_contextvars()


def get_logger(name: str) -> Any:
    """A bound logger; the filter applies whatever is passed to it."""
    return structlog.get_logger(name)
