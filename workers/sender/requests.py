"""Reading the sender queue's message argument: a :class:`SendRequest`, or an invalid message."""

from __future__ import annotations

import uuid

from shared.errors import InvalidMessage
from shared.sending.queue import SEND_MESSAGE_VERSION, SendRequest

__all__ = ["parse_send_request"]

_DEDUP_PREFIX = "send:"


def _uuid(raw: dict[object, object], name: str) -> uuid.UUID:
    value = raw.get(name)
    if not isinstance(value, str):
        raise InvalidMessage(f"send request field {name!r} is missing or not a string")
    try:
        return uuid.UUID(value)
    except ValueError:
        raise InvalidMessage(f"send request field {name!r} is not a UUID: {value!r}") from None


def parse_send_request(raw: object) -> SendRequest:
    """The request ``raw`` carries; :class:`InvalidMessage` names what is wrong with it."""
    if not isinstance(raw, dict):
        raise InvalidMessage(f"send request is not a JSON object but {type(raw).__name__}")
    version = raw.get("schema_version")
    if version != SEND_MESSAGE_VERSION:
        raise InvalidMessage(
            f"send request schema_version {version!r} is not supported "
            f"(expected {SEND_MESSAGE_VERSION})"
        )
    tenant_id = _uuid(raw, "tenant_id")
    send_id = _uuid(raw, "send_id")
    dedup_key = raw.get("dedup_key")
    if not isinstance(dedup_key, str) or not dedup_key.startswith(_DEDUP_PREFIX):
        raise InvalidMessage(f"send request dedup_key {dedup_key!r} is not a send key")
    return SendRequest(tenant_id=tenant_id, send_id=send_id, dedup_key=dedup_key)
