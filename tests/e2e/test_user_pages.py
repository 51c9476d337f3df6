"""The administrators' user pages at /users/: list, add, edit role and status, set a password.
Nobody else finds them."""

import re

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.test import Client

from huikuan.accounts.access import user_role
from huikuan.accounts.models import Profile, Role
from huikuan.accounts.services import user_create
from huikuan.core.models import AuditEntry

pytestmark = pytest.mark.django_db

PASSWORD = "plum-blossom-2024"


def fresh(user):
    return get_user_model().objects.get(pk=user.pk)


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def boss():
    return user_create(username="boss", role=Role.ADMIN, password=PASSWORD)


@pytest.fixture
def admin(boss) -> Client:
    return signed_in(boss)


@pytest.fixture
def wang():
    return user_create(username="wang", role=Role.COLLECTOR, password=PASSWORD, name="王芳")


def test_an_admin_sees_every_user_with_their_role(admin, wang):
    get_user_model().objects.create_user(username="legacy")  # no profile: a collector

    page = admin.get("/users/").content.decode()

    assert "boss" in page and "wang" in page and "王芳" in page and "legacy" in page
    assert page.count("collector") >= 2 and "administrator" in page


@pytest.mark.parametrize("role", [r for r in Role if r != Role.ADMIN])
def test_other_roles_do_not_find_the_user_pages(wang, role):
    other = user_create(username="other", role=role, password=PASSWORD)
    client = signed_in(other)

    for url in ("/users/", "/users/add/", f"/users/{wang.pk}/"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/users/{wang.pk}/password/", {}).status_code == 404
    assert client.post("/users/add/", {"username": "x", "role": "ADMIN"}).status_code == 404
    assert not get_user_model().objects.filter(username="x").exists()


def test_a_visitor_who_is_not_signed_in_is_sent_to_sign_in():
    response = Client().get("/users/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/users/")


def test_a_superuser_from_createsuperuser_is_an_admin_on_the_pages():
    root = get_user_model().objects.create_superuser(username="root", email="", password=PASSWORD)

    assert signed_in(root).get("/users/").status_code == 200


def test_an_admin_adds_a_user_and_sees_the_generated_password_once(admin, boss):
    response = admin.post(
        "/users/add/", {"username": "li", "name": "李雷", "email": "li@example.cn", "role": "SALES_REP"}
    )

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    password = re.search(
        r"<code class=\"password\" data-password>(.+?)</code>", response.content.decode()
    ).group(1)
    li = get_user_model().objects.get(username="li")
    assert authenticate(username="li", password=password) == li
    assert user_role(li) == Role.SALES_REP and li.get_full_name() == "李雷"
    assert AuditEntry.objects.get(entity="auth.user", entity_id=str(li.pk), action="CREATE").actor == boss


def test_an_admin_adds_a_user_with_a_chosen_password(admin):
    response = admin.post("/users/add/", {"username": "li", "role": "AUDITOR", "password": PASSWORD})

    assert response.status_code == 302 and response["Location"] == "/users/"
    assert authenticate(username="li", password=PASSWORD) is not None


def test_adding_a_taken_username_or_a_weak_password_is_explained_on_the_form(admin, wang):
    taken = admin.post("/users/add/", {"username": "WANG", "role": "COLLECTOR"}).content.decode()
    weak = admin.post(
        "/users/add/", {"username": "li", "role": "COLLECTOR", "password": "123"}
    ).content.decode()

    assert "there is already a user WANG" in taken
    assert "too short" in weak
    assert not get_user_model().objects.filter(username="li").exists()


def test_an_admin_changes_a_users_role_name_language_and_status(admin, wang):
    response = admin.post(
        f"/users/{wang.pk}/",
        {"name": "王芳芳", "email": "wang@example.cn", "role": "CREDIT_CONTROLLER", "language": "zh-hans"},
    )  # is_active unchecked: deactivated

    assert response.status_code == 302
    stored = fresh(wang)
    assert stored.get_full_name() == "王芳芳" and stored.email == "wang@example.cn"
    assert Profile.objects.get(user=wang).role == Role.CREDIT_CONTROLLER
    assert Profile.objects.get(user=wang).language == "zh-hans"
    assert not stored.is_active


def test_the_edit_page_shows_the_users_current_values(admin, wang):
    page = admin.get(f"/users/{wang.pk}/").content.decode()

    assert 'value="王芳"' in page
    assert re.search(r'<option value="COLLECTOR" selected>', page)
    assert re.search(r'name="is_active"[^>]*checked', page)


def test_the_last_admin_cannot_demote_themselves_on_the_page(admin, boss):
    response = admin.post(f"/users/{boss.pk}/", {"role": "MANAGER", "is_active": "on"})

    assert response.status_code == 200
    assert "last active administrator" in response.content.decode()
    assert user_role(fresh(boss)) == Role.ADMIN


def test_an_admin_resets_a_password_and_sees_the_new_one_once(admin, wang):
    response = admin.post(f"/users/{wang.pk}/password/", {})

    password = re.search(r"data-password>(.+?)</code>", response.content.decode()).group(1)
    assert authenticate(username="wang", password=PASSWORD) is None
    assert authenticate(username="wang", password=password) is not None


def test_an_admin_sets_a_chosen_password(admin, wang):
    response = admin.post(f"/users/{wang.pk}/password/", {"password": "new-plum-blossom"})

    assert response.status_code == 302
    assert authenticate(username="wang", password="new-plum-blossom") is not None


def test_an_unknown_user_is_404(admin):
    assert admin.get("/users/999999/").status_code == 404


def test_the_user_list_takes_a_fixed_number_of_queries(admin, django_assert_max_num_queries):
    for n in range(15):
        user = get_user_model().objects.create_user(username=f"user{n:02d}")
        if n % 2:
            Profile.objects.create(user=user, role=Role.MANAGER)
    admin.get("/users/")

    with django_assert_max_num_queries(4):  # session, user, their profile, users with profiles
        response = admin.get("/users/")

    assert response.content.decode().count("/users/") >= 16


def test_djangos_admin_shows_and_edits_the_role_beside_the_user(wang):
    root = get_user_model().objects.create_superuser(username="root", email="", password=PASSWORD)
    client = signed_in(root)

    listing = client.get("/admin/auth/user/")
    change = client.get(f"/admin/auth/user/{wang.pk}/change/")

    assert listing.status_code == 200 and "collector" in listing.content.decode()
    assert change.status_code == 200 and 'name="profile-0-role"' in change.content.decode()
