"""Every write to customers and contacts."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from huikuan.core.audit import audit_record, audit_snapshot
from huikuan.core.errors import HuikuanError, NotFound
from huikuan.core.models import AuditAction
from huikuan.core.money import UnknownCurrency, normalise_currency
from huikuan.customers.models import Contact, Customer


class CustomerError(HuikuanError):
    code = "customer_invalid"


class CustomerCodeTaken(CustomerError):
    code = "customer_code_taken"
    status = 409


class CustomerNotFound(NotFound):
    code = "customer_not_found"


class ContactNotFound(NotFound):
    code = "contact_not_found"


CUSTOMER_FIELDS = {
    "name", "legal_name", "tax_id", "country", "language", "currency", "payment_terms_days",
    "credit_limit_minor", "grade", "status", "collector", "sales_rep", "tags", "notes",
    "do_not_contact", "time_zone", "postal_address",
}  # fmt: skip


def _validated(instance: Customer | Contact) -> None:
    try:
        instance.full_clean(validate_unique=False)
    except ValidationError as error:
        details = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in error.message_dict.items())
        raise CustomerError(details)


def _apply(customer: Customer, fields: dict[str, Any]) -> None:
    unknown = set(fields) - CUSTOMER_FIELDS
    if unknown:
        raise CustomerError(f"unknown customer fields: {', '.join(sorted(unknown))}")
    for name, value in fields.items():
        setattr(customer, name, value)
    try:
        customer.currency = normalise_currency(customer.currency)
    except UnknownCurrency as error:
        raise CustomerError(str(error), code="unknown_currency")
    customer.country = (customer.country or "").upper()
    customer.grade = (customer.grade or "B").upper()
    customer.status = (customer.status or "ACTIVE").upper()


@transaction.atomic
def customer_create(*, code: str, name: str, actor: Any = None, **fields: Any) -> Customer:
    """Create a customer under the user's own code; ``actor`` is who did it (None: the system)."""
    code = code.strip()
    if not code:
        raise CustomerError("a customer needs a code", code="customer_code_missing")
    if Customer.objects.filter(code=code).exists():
        raise CustomerCodeTaken(f"customer {code} already exists")
    customer = Customer(code=code, name=name.strip())
    _apply(customer, fields)
    _validated(customer)
    customer.save()
    audit_record(instance=customer, action=AuditAction.CREATE, actor=actor, after=audit_snapshot(customer))
    return customer


@transaction.atomic
def customer_update(*, customer: Customer, actor: Any = None, **fields: Any) -> Customer:
    """Change the given fields of a customer (the code stays: other systems key on it)."""
    before = _stored_snapshot(customer)
    _apply(customer, fields)
    _validated(customer)
    customer.save()
    audit_record(
        instance=customer,
        action=AuditAction.UPDATE,
        actor=actor,
        before=before,
        after=audit_snapshot(customer),
    )
    return customer


def _stored_snapshot(instance: Customer | Contact) -> dict[str, Any]:
    """The row as the database holds it now (the instance may already carry unsaved changes)."""
    if instance.pk is None:
        return {}
    stored = type(instance).objects.filter(pk=instance.pk).first()
    return audit_snapshot(stored) if stored is not None else {}


@transaction.atomic
def contact_create(
    *, customer: Customer, name: str, is_primary: bool = False, actor: Any = None, **fields: Any
) -> Contact:
    """Add a contact; a new primary contact takes the flag from the previous one."""
    contact = Contact(customer=customer, name=name.strip(), is_primary=is_primary, **fields)
    _validated(contact)
    if is_primary:
        Contact.objects.filter(customer=customer, is_primary=True).update(is_primary=False)
    contact.save()
    audit_record(instance=contact, action=AuditAction.CREATE, actor=actor, after=audit_snapshot(contact))
    return contact


@transaction.atomic
def contact_update(*, contact: Contact, actor: Any = None, **fields: Any) -> Contact:
    """Change the given fields of a contact."""
    before = _stored_snapshot(contact)
    for name, value in fields.items():
        setattr(contact, name, value)
    _validated(contact)
    if fields.get("is_primary"):
        Contact.objects.filter(customer=contact.customer, is_primary=True).exclude(pk=contact.pk).update(
            is_primary=False
        )
    contact.save()
    audit_record(
        instance=contact, action=AuditAction.UPDATE, actor=actor, before=before, after=audit_snapshot(contact)
    )
    return contact
