"""The audit trail: every change people make to customers, invoices, payments, promises,
disputes, plans and statuses, kept append-only with who, when, before and after.

Services call :func:`audit_record` in the same transaction as the change, so an entry exists
exactly when the change does. Bulk work (imports, the dunning run) records itself elsewhere
(its own run or batch rows) rather than one entry per row.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import models

from huikuan.core.models import AuditAction, AuditEntry


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, list | tuple):
        return [_json_value(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _json_value(item) for key, item in value.items()}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def audit_snapshot(instance: models.Model, fields: list[str] | None = None) -> dict[str, Any]:
    """Return the instance's concrete field values as JSON-safe data (foreign keys as ids)."""
    snapshot: dict[str, Any] = {}
    for field in instance._meta.concrete_fields:
        if fields is not None and field.name not in fields:
            continue
        if field.name in ("created_at", "updated_at"):
            continue
        snapshot[field.attname] = _json_value(getattr(instance, field.attname))
    return snapshot


def _changed_only(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    keys = [key for key in after if before.get(key) != after.get(key)]
    return {key: before.get(key) for key in keys}, {key: after[key] for key in keys}


def audit_record(
    *,
    instance: models.Model,
    action: str,
    actor: Any = None,
    actor_label: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    customer_id: int | None = None,
) -> AuditEntry | None:
    """Append one entry for a change to ``instance``; for an update only changed fields are kept.

    ``actor`` is the user who acted (None for the system); ``actor_label`` names a non-user actor
    such as "portal". Returns None when an update changed nothing.
    """
    if action == AuditAction.UPDATE and before is not None and after is not None:
        before, after = _changed_only(before, after)
        if not after:
            return None
    if customer_id is None:
        customer_id = getattr(instance, "customer_id", None)
        if customer_id is None and instance._meta.label_lower == "customers.customer":
            customer_id = instance.pk
    user = actor if actor is not None and getattr(actor, "pk", None) else None
    return AuditEntry.objects.create(
        actor=user,
        actor_label=actor_label or (user.get_username() if user is not None else "system"),
        customer_id=customer_id,
        entity=instance._meta.label_lower,
        entity_id=str(instance.pk),
        action=action,
        before=before,
        after=after,
    )
