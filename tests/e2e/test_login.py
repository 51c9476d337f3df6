"""Signing in: argon2 passwords, throttled failures per username and per address, a translated
lock message, and the user's own language."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import translation

from huikuan.accounts.models import Role
from huikuan.accounts.services import user_create, user_set_language

pytestmark = pytest.mark.django_db

PASSWORD = "plum-blossom-2024"
LOGIN = "/accounts/login/"


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.HUIKUAN_LOGIN_MAX_FAILURES = 3
    settings.HUIKUAN_LOGIN_MAX_FAILURES_PER_ADDRESS = 5
    settings.HUIKUAN_LOGIN_LOCK_SECONDS = 600


@pytest.fixture
def wang():
    return user_create(username="wang", role=Role.COLLECTOR, password=PASSWORD)


def sign_in(client: Client, username: str, password: str, address: str = "10.0.0.1"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)


def test_a_user_signs_in_with_their_password_and_lands_on_the_worklist(wang):
    client = Client()

    response = sign_in(client, "wang", PASSWORD)

    assert response.status_code == 302 and response["Location"] == "/"
    assert client.session["_auth_user_id"] == str(wang.pk)


def test_the_stored_password_hash_is_argon2(wang):
    assert get_user_model().objects.get(pk=wang.pk).password.startswith("argon2$argon2id$")


def test_a_wrong_password_says_so_without_saying_which_part_was_wrong(wang):
    response = sign_in(Client(), "wang", "wrong")

    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()


def test_after_too_many_failures_the_username_is_locked_even_for_the_right_password(wang):
    client = Client()
    for attempt in range(3):
        response = sign_in(client, "wang", f"wrong-{attempt}", address=f"10.0.0.{attempt}")

    locked = sign_in(client, "wang", PASSWORD, address="10.9.9.9")

    assert "Too many failed sign-ins" in response.content.decode()  # the third failure says so
    assert "Too many failed sign-ins" in locked.content.decode()
    assert "Try again in 10 minutes" in locked.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_locked_username_is_locked_whatever_its_case(wang):
    for attempt in range(3):
        sign_in(Client(), "WANG", f"wrong-{attempt}", address=f"10.0.1.{attempt}")

    assert (
        "Too many failed sign-ins" in sign_in(Client(), "wang", PASSWORD, address="10.9.9.9").content.decode()
    )


def test_a_lock_on_one_username_leaves_colleagues_free(wang):
    user_create(username="li", role=Role.COLLECTOR, password=PASSWORD)
    for attempt in range(3):
        sign_in(Client(), "wang", f"wrong-{attempt}", address=f"10.0.2.{attempt}")

    assert sign_in(Client(), "li", PASSWORD, address="10.0.2.9").status_code == 302


def test_one_address_guessing_many_usernames_is_locked_for_all_of_them(wang):
    for n in range(5):
        sign_in(Client(), f"guess-{n}", "wrong", address="192.0.2.7")

    from_there = sign_in(Client(), "wang", PASSWORD, address="192.0.2.7")
    from_elsewhere = sign_in(Client(), "wang", PASSWORD, address="198.51.100.1")

    assert "Too many failed sign-ins" in from_there.content.decode()
    assert from_elsewhere.status_code == 302


def test_a_successful_sign_in_clears_the_usernames_failures(wang):
    for attempt in range(2):
        sign_in(Client(), "wang", f"wrong-{attempt}")
    assert sign_in(Client(), "wang", PASSWORD).status_code == 302

    for attempt in range(2):
        sign_in(Client(), "wang", f"again-{attempt}", address="10.0.3.1")

    assert sign_in(Client(), "wang", PASSWORD, address="10.0.3.1").status_code == 302


def test_the_lock_message_is_translated(wang):
    for attempt in range(3):
        sign_in(Client(), "wang", f"wrong-{attempt}", address=f"10.0.4.{attempt}")

    with translation.override("zh-hans"):
        client = Client(headers={"Accept-Language": "zh-hans"})
        client.cookies["django_language"] = "zh-hans"
        response = sign_in(client, "wang", PASSWORD, address="10.0.4.9")

    assert "登录" in response.content.decode()  # the page is in Chinese
    alert = re.search(r'<p class="error" role="alert">(.*?)</p>', response.content.decode(), re.S)
    assert alert is not None
    assert "Too many failed sign-ins" not in alert.group(1)
    assert re.search(r"[\u4e00-\u9fff]", alert.group(1)), alert.group(1)  # said in Chinese
    assert "10" in alert.group(1)  # with the minutes to wait


def test_a_deactivated_user_cannot_sign_in(wang):
    wang.is_active = False
    wang.save()

    client = Client()
    response = sign_in(client, "wang", PASSWORD)

    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_signing_in_opens_the_app_in_the_users_own_language(wang):
    user_set_language(user=wang, language="zh-hans")

    response = sign_in(Client(), "wang", PASSWORD)

    assert response.cookies["django_language"].value == "zh-hans"


def test_a_user_without_a_language_keeps_the_one_chosen_on_the_page(wang):
    response = sign_in(Client(), "wang", PASSWORD)

    assert "django_language" not in response.cookies
