"""The one access path: who holds which role, which customers each reaches, who may write."""

from datetime import date

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser

from huikuan.accounts.access import (
    WriteForbidden,
    access_contact,
    access_customer,
    access_invoice,
    access_payment,
    customer_scope,
    customer_scope_or_none,
    require_write,
    scope_filter,
    user_can_write,
    user_reaches_customer,
    user_role,
    user_sees_all,
)
from huikuan.accounts.models import Profile, Role
from huikuan.core.errors import NotFound
from huikuan.core.money import Money
from huikuan.customers.services import ContactNotFound, CustomerNotFound, contact_create
from huikuan.ledger.models import Allocation
from huikuan.ledger.services import InvoiceNotFound, PaymentNotFound, payment_record
from tests.factories import make_customer, make_invoice

pytestmark = pytest.mark.django_db


def make_user(username: str, role: Role | None = None, **fields):
    user = get_user_model().objects.create_user(username=username, **fields)
    if role is not None:
        Profile.objects.create(user=user, role=role)
    return get_user_model().objects.get(pk=user.pk)  # fresh, as a request would load it


@pytest.fixture
def book():
    """Two collectors with a customer each, a sales rep on the second, and one nobody's."""
    wang, li = make_user("wang", Role.COLLECTOR), make_user("li", Role.COLLECTOR)
    rep = make_user("zhao", Role.SALES_REP)
    mine = make_customer("MINE", collector=wang)
    theirs = make_customer("THEIRS", collector=li, sales_rep=rep)
    nobodys = make_customer("NOBODY")
    return {"wang": wang, "li": li, "rep": rep, "mine": mine, "theirs": theirs, "nobodys": nobodys}


def test_a_user_without_a_profile_is_a_collector_and_a_superuser_without_one_an_admin():
    plain = make_user("plain")
    root = get_user_model().objects.create_superuser(username="root", email="")

    assert user_role(plain) == Role.COLLECTOR
    assert user_role(root) == Role.ADMIN


def test_a_profile_decides_the_role_even_for_a_superuser():
    root = get_user_model().objects.create_superuser(username="root", email="")
    Profile.objects.create(user=root, role=Role.AUDITOR)

    assert user_role(get_user_model().objects.get(pk=root.pk)) == Role.AUDITOR


def test_anonymous_and_deactivated_users_have_no_role_and_reach_nothing(book):
    gone = make_user("gone", Role.MANAGER, is_active=False)

    for user in (AnonymousUser(), gone, None):
        assert user_role(user) is None
        assert not user_sees_all(user)
        assert not user_can_write(user)
        assert list(customer_scope(user)) == []
        assert customer_scope_or_none(user) is not None
        assert not user_reaches_customer(user, book["mine"])


def test_the_role_is_read_once_per_user_object(django_assert_num_queries):
    user = make_user("wang", Role.MANAGER)

    with django_assert_num_queries(1):
        assert user_role(user) == Role.MANAGER
        assert user_sees_all(user) and user_can_write(user)


def test_a_collector_reaches_only_the_customers_assigned_to_them(book):
    assert list(customer_scope(book["wang"]).values_list("code", flat=True)) == ["MINE"]
    assert user_reaches_customer(book["wang"], book["mine"])
    assert not user_reaches_customer(book["wang"], book["theirs"])
    assert not user_reaches_customer(book["wang"], book["nobodys"])


def test_a_sales_rep_reaches_the_customers_they_sell_to(book):
    assert list(customer_scope(book["rep"]).values_list("code", flat=True)) == ["THEIRS"]
    assert user_reaches_customer(book["rep"], book["theirs"])


@pytest.mark.parametrize("role", [Role.CREDIT_CONTROLLER, Role.MANAGER, Role.ADMIN, Role.AUDITOR])
def test_controllers_managers_admins_and_auditors_reach_every_customer(book, role):
    user = make_user("someone", role)

    assert sorted(customer_scope(user).values_list("code", flat=True)) == ["MINE", "NOBODY", "THEIRS"]
    assert user_sees_all(user)
    assert customer_scope_or_none(user) is None
    assert user_reaches_customer(user, book["nobodys"])


def test_another_collectors_customer_answers_exactly_as_a_missing_one(book):
    with pytest.raises(CustomerNotFound) as other:
        access_customer(user=book["wang"], code="THEIRS")
    with pytest.raises(CustomerNotFound) as missing:
        access_customer(user=book["wang"], code="THEIRS-NOT")

    assert access_customer(user=book["wang"], code="MINE") == book["mine"]
    assert other.value.code == missing.value.code == "customer_not_found"
    assert other.value.status == 404
    assert other.value.message == "customer THEIRS does not exist"
    assert missing.value.message == "customer THEIRS-NOT does not exist"


def test_invoices_payments_and_contacts_of_another_collectors_customer_are_not_found(book):
    theirs = book["theirs"]
    invoice = make_invoice(theirs, number="INV-THEIRS")
    payment = payment_record(customer=theirs, received_date=date(2024, 2, 1), amount=Money.of("10.00", "CNY"))
    contact = contact_create(customer=theirs, name="Ms Chen")

    with pytest.raises(InvoiceNotFound):
        access_invoice(user=book["wang"], number="INV-THEIRS")
    with pytest.raises(PaymentNotFound):
        access_payment(user=book["wang"], payment_id=payment.pk)
    with pytest.raises(ContactNotFound):
        access_contact(user=book["wang"], contact_id=contact.pk)
    assert access_invoice(user=book["li"], number="INV-THEIRS") == invoice
    assert access_payment(user=book["li"], payment_id=payment.pk) == payment
    assert access_contact(user=book["rep"], contact_id=contact.pk) == contact


def test_any_query_is_scoped_through_its_path_to_the_customer(book):
    for customer in (book["mine"], book["theirs"]):
        make_invoice(customer, "50.00")
        payment_record(customer=customer, received_date=date(2024, 2, 1), amount=Money.of("50.00", "CNY"))

    mine = scope_filter(Allocation.objects.all(), user=book["wang"], via="invoice__customer")

    assert {allocation.invoice.customer.code for allocation in mine} == {"MINE"}
    assert scope_filter(Allocation.objects.all(), user=AnonymousUser(), via="invoice__customer").count() == 0


def test_an_auditor_may_read_but_not_write():
    auditor = make_user("audit", Role.AUDITOR)

    with pytest.raises(WriteForbidden) as refused:
        require_write(auditor)

    assert refused.value.code == "read_only" and refused.value.status == 403
    assert not isinstance(refused.value, NotFound)
    require_write(make_user("wang", Role.COLLECTOR))  # anyone else may


def test_the_profile_backend_loads_a_signed_in_user_with_their_role_in_one_query(
    settings, django_assert_num_queries
):
    from huikuan.accounts.backends import ModelBackendWithProfile

    settings.AUTHENTICATION_BACKENDS = ["huikuan.accounts.backends.ModelBackendWithProfile"]
    manager, legacy = make_user("boss", Role.MANAGER), make_user("legacy")
    backend = ModelBackendWithProfile()

    with django_assert_num_queries(2):
        assert user_role(backend.get_user(manager.pk)) == Role.MANAGER
        assert user_role(backend.get_user(legacy.pk)) == Role.COLLECTOR
    assert backend.get_user(999_999) is None
