"""Writes of dunning outside the run: editing the ladders, lifting holds by hand."""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django.db.models import F

from huikuan.dunning.models import CreditHold, Policy


@transaction.atomic
def policy_version_bump(*, policy: Policy) -> int:
    """Record that the ladder changed, so later actions name the version they were decided under."""
    Policy.objects.filter(pk=policy.pk).update(version=F("version") + 1)
    policy.refresh_from_db(fields=["version"])
    return policy.version


@transaction.atomic
def credit_hold_release(*, hold: CreditHold, on: date) -> CreditHold:
    """Lift a hold before its debt is paid (a manager's decision); the record stays."""
    if hold.released_date is None:
        hold.released_date = on
        hold.save(update_fields=["released_date"])
    return hold
