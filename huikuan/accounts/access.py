"""The one path by which a user reaches customers and what belongs to them.

Collectors and sales reps reach only the customers assigned to them; credit controllers,
managers, administrators and auditors reach all. A record outside a user's scope answers
exactly as a missing one (404 with the same code and message), so that nobody learns by
trying which customers, invoices or payments exist. Auditors may read but never write.

Pages, the API, search, exports and PDFs all go through these functions; a query that shows
customers or their records to a user starts from :func:`customer_scope` or
:func:`scope_filter`.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Model, Q, QuerySet
from django.utils.translation import gettext as _

from huikuan.accounts.models import READ_ONLY_ROLES, ROLES_SEEING_ALL, Profile, Role
from huikuan.core.errors import HuikuanError
from huikuan.customers.models import Contact, Customer
from huikuan.customers.services import ContactNotFound, CustomerNotFound
from huikuan.ledger.models import Invoice, Payment
from huikuan.ledger.services import InvoiceNotFound, PaymentNotFound

M = TypeVar("M", bound=Model)
UserLike = AbstractBaseUser | AnonymousUser | Any


class WriteForbidden(HuikuanError):
    """The user's role may only read."""

    code = "read_only"
    status = 403


def user_role(user: UserLike) -> Role | None:
    """Return the user's role: their profile's, else ADMIN for a superuser and COLLECTOR otherwise.

    Users created before roles existed (or by ``createsuperuser``) have no profile and keep
    working. Anonymous and inactive users have no role (None) and reach nothing.
    """
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    return user_assigned_role(user)


def user_assigned_role(user: Any) -> Role:
    """Return the role the user holds, whether or not they are active (for showing it)."""
    try:
        # The related object (or its absence) is cached on the user after the first look.
        return Role(user.profile.role)
    except Profile.DoesNotExist:
        return Role.ADMIN if user.is_superuser else Role.COLLECTOR


def user_sees_all(user: UserLike) -> bool:
    """Return whether the user reaches every customer, not only those assigned to them."""
    return user_role(user) in ROLES_SEEING_ALL


def user_can_write(user: UserLike) -> bool:
    """Return whether the user may change anything (an auditor, or nobody signed in, may not)."""
    role = user_role(user)
    return role is not None and role not in READ_ONLY_ROLES


def user_is_admin(user: UserLike) -> bool:
    """Return whether the user administers users and settings."""
    return user_role(user) == Role.ADMIN


def require_write(user: UserLike) -> None:
    """Raise WriteForbidden unless the user may change things."""
    if not user_can_write(user):
        raise WriteForbidden(_("Your role can only read; ask a colleague to make this change."))


class RoleNotAllowed(HuikuanError):
    """The user's role may not do this at all (not a matter of which customer)."""

    code = "role_not_allowed"
    status = 403


def require_role(user: UserLike, *roles: Role) -> None:
    """Raise RoleNotAllowed unless the user holds one of ``roles``."""
    if user_role(user) not in roles:
        names = ", ".join(str(role.label) for role in roles)
        raise RoleNotAllowed(_("Only these roles may do this: %(roles)s.") % {"roles": names})


# Who may act for the whole company (start the dunning run, say): roles that see every
# customer and may write.
COMPANY_WIDE_ROLES = tuple(sorted(ROLES_SEEING_ALL - READ_ONLY_ROLES))


def _scope_condition(user: UserLike, *, via: str = "") -> Q | None | bool:
    """Return the condition on customers (through ``via``) for the user: None means all of
    them, False none."""
    role = user_role(user)
    prefix = f"{via}__" if via else ""
    if role is None:
        return False
    if role in ROLES_SEEING_ALL:
        return None
    if role == Role.SALES_REP:
        return Q(**{f"{prefix}sales_rep": user})
    return Q(**{f"{prefix}collector": user})


def customer_scope(user: UserLike) -> QuerySet[Customer]:
    """Return the customers the user reaches (collector: theirs; sales rep: theirs; others: all)."""
    return scope_filter(Customer.objects.all(), user=user, via="")


def customer_scope_or_none(user: UserLike) -> QuerySet[Customer] | None:
    """Return the user's customers, or None when the user reaches all of them.

    For reports that are fastest unrestricted (aging): None lets them skip the filter.
    """
    return None if user_sees_all(user) else customer_scope(user)


def scope_filter(queryset: QuerySet[M], *, user: UserLike, via: str = "customer") -> QuerySet[M]:
    """Restrict any queryset to rows whose customer (reached through ``via``) the user reaches.

    ``via`` is the lookup path from the queryset's model to its customer, e.g. "customer" for
    invoices and tasks, "invoice__customer" for allocations.
    """
    condition = _scope_condition(user, via=via)
    if condition is None:
        return queryset
    if condition is False:
        return queryset.none()
    assert isinstance(condition, Q)
    return queryset.filter(condition)


def invoice_scope(user: UserLike) -> QuerySet[Invoice]:
    """Return the invoices of the customers the user reaches."""
    return scope_filter(Invoice.objects.all(), user=user)


def payment_scope(user: UserLike) -> QuerySet[Payment]:
    """Return the payments of the customers the user reaches."""
    return scope_filter(Payment.objects.all(), user=user)


def user_reaches_customer(user: UserLike, customer: Customer) -> bool:
    """Return whether this customer, already loaded, is within the user's scope (no query)."""
    role = user_role(user)
    if role is None:
        return False
    if role in ROLES_SEEING_ALL:
        return True
    if role == Role.SALES_REP:
        return customer.sales_rep_id == user.pk
    return customer.collector_id == user.pk


def access_customer(*, user: UserLike, code: str) -> Customer:
    """Return the customer with this code if the user reaches it, else raise CustomerNotFound."""
    try:
        return customer_scope(user).select_related("collector", "sales_rep").get(code=code)
    except Customer.DoesNotExist:
        raise CustomerNotFound(f"customer {code} does not exist")


def access_invoice(*, user: UserLike, number: str) -> Invoice:
    """Return the invoice with this number if the user reaches its customer, else InvoiceNotFound."""
    try:
        return invoice_scope(user).select_related("customer").get(number=number)
    except Invoice.DoesNotExist:
        raise InvoiceNotFound(f"invoice {number} does not exist")


def access_payment(*, user: UserLike, payment_id: int) -> Payment:
    """Return the payment if the user reaches its customer, else raise PaymentNotFound."""
    try:
        return payment_scope(user).select_related("customer").get(pk=payment_id)
    except Payment.DoesNotExist:
        raise PaymentNotFound(f"payment {payment_id} does not exist")


def access_contact(*, user: UserLike, contact_id: int) -> Contact:
    """Return the contact if the user reaches its customer, else raise ContactNotFound."""
    contacts = scope_filter(Contact.objects.select_related("customer"), user=user)
    try:
        return contacts.get(pk=contact_id)
    except Contact.DoesNotExist:
        raise ContactNotFound(f"contact {contact_id} does not exist")
