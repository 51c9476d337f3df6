"""Users and their roles: created with argon2 hashes, given roles, deactivated, given new passwords,
by the services and by ``huikuan user``."""

from io import StringIO

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import CommandError, call_command
from django.test import Client

from huikuan.accounts.access import user_role
from huikuan.accounts.models import Profile, Role
from huikuan.accounts.services import (
    LastAdmin,
    PasswordInvalid,
    RoleInvalid,
    UsernameTaken,
    password_generate,
    role_parse,
    user_create,
    user_deactivate,
    user_password_reset,
    user_set_role,
    user_update,
)
from huikuan.core.auth import api_token_authenticate, api_token_create
from huikuan.core.models import AuditEntry

pytestmark = pytest.mark.django_db

PASSWORD = "plum-blossom-2024"


def test_a_new_users_password_is_hashed_with_argon2():
    user = user_create(username="wang", role=Role.COLLECTOR, password=PASSWORD)

    stored = get_user_model().objects.get(pk=user.pk)
    assert stored.password.startswith("argon2$")
    assert PASSWORD not in stored.password
    assert authenticate(username="wang", password=PASSWORD) == stored


def test_a_new_user_gets_the_role_their_e_mail_and_full_name():
    user = user_create(
        username="wang", role="credit-controller", password=PASSWORD, email=" wang@example.cn ", name="王芳"
    )

    assert Profile.objects.get(user=user).role == Role.CREDIT_CONTROLLER
    assert user.email == "wang@example.cn"
    assert user.get_full_name() == "王芳"
    assert user.is_active


def test_creating_a_user_is_in_the_audit_trail_without_the_password_hash():
    admin = user_create(username="boss", role=Role.ADMIN, password=PASSWORD)
    user = user_create(username="wang", role=Role.COLLECTOR, password=PASSWORD, actor=admin)

    entry = AuditEntry.objects.get(entity="auth.user", entity_id=str(user.pk), action="CREATE")
    assert entry.actor == admin
    assert entry.after["role"] == "COLLECTOR" and entry.after["username"] == "wang"
    assert "argon2" not in str(entry.after) and "password" not in entry.after


def test_a_username_is_taken_whatever_its_case():
    user_create(username="wang", role=Role.COLLECTOR, password=PASSWORD)

    with pytest.raises(UsernameTaken) as taken:
        user_create(username="WANG", role=Role.COLLECTOR, password=PASSWORD)
    assert taken.value.code == "username_taken"


def test_a_weak_password_is_refused_and_no_user_is_left_behind():
    with pytest.raises(PasswordInvalid) as weak:
        user_create(username="wang", role=Role.COLLECTOR, password="123")

    assert "too short" in weak.value.message
    assert not get_user_model().objects.filter(username="wang").exists()


@pytest.mark.parametrize(
    ("text", "role"),
    [("collector", Role.COLLECTOR), ("Sales Rep", Role.SALES_REP), ("credit-controller", Role.CREDIT_CONTROLLER),
     ("AUDITOR", Role.AUDITOR)],
)  # fmt: skip
def test_a_role_is_read_in_any_case_with_hyphens_or_spaces(text, role):
    assert role_parse(text) == role


def test_an_unknown_role_says_which_roles_there_are():
    with pytest.raises(RoleInvalid) as unknown:
        role_parse("boss")

    assert "collector, sales_rep, credit_controller, manager, admin, auditor" in unknown.value.message


def test_a_generated_password_is_long_random_and_passes_the_rules():
    first, second = password_generate(), password_generate()

    assert first != second and len(first) == 16
    user_create(username="wang", role=Role.COLLECTOR, password=first)


def test_a_user_created_before_roles_existed_is_given_a_role():
    old = get_user_model().objects.create_user(username="old")

    user_set_role(user=old, role=Role.MANAGER)

    assert user_role(get_user_model().objects.get(pk=old.pk)) == Role.MANAGER
    assert user_role(old) == Role.MANAGER  # the object in hand knows too


def test_the_last_active_administrator_can_be_neither_demoted_nor_deactivated():
    boss = user_create(username="boss", role=Role.ADMIN, password=PASSWORD)

    with pytest.raises(LastAdmin):
        user_set_role(user=boss, role=Role.MANAGER)
    with pytest.raises(LastAdmin):
        user_deactivate(user=boss)
    assert user_role(get_user_model().objects.get(pk=boss.pk)) == Role.ADMIN


def test_an_administrator_can_step_down_once_there_is_another():
    boss = user_create(username="boss", role=Role.ADMIN, password=PASSWORD)
    get_user_model().objects.create_superuser(username="root", email="")  # an admin by default

    user_set_role(user=boss, role=Role.MANAGER)

    assert user_role(get_user_model().objects.get(pk=boss.pk)) == Role.MANAGER


def test_a_deactivated_user_can_neither_sign_in_nor_use_an_api_token():
    user = user_create(username="wang", role=Role.COLLECTOR, password=PASSWORD)
    _token, key = api_token_create(user=user)

    user_deactivate(user=user)

    assert not Client().login(username="wang", password=PASSWORD)
    assert api_token_authenticate(key) is None
    assert AuditEntry.objects.filter(entity="auth.user", entity_id=str(user.pk), action="UPDATE").exists()


def test_a_reset_password_replaces_the_old_one():
    user = user_create(username="wang", role=Role.COLLECTOR, password=PASSWORD)

    new = user_password_reset(user=user)

    assert authenticate(username="wang", password=PASSWORD) is None
    assert authenticate(username="wang", password=new) is not None


def test_an_update_changes_only_what_is_given():
    user = user_create(username="wang", role=Role.COLLECTOR, password=PASSWORD, email="w@example.cn")

    user_update(user=user, name="王芳", role=Role.SALES_REP)

    stored = get_user_model().objects.get(pk=user.pk)
    assert stored.get_full_name() == "王芳" and stored.email == "w@example.cn"
    assert user_role(stored) == Role.SALES_REP and stored.is_active


# --- huikuan user -------------------------------------------------------------------------


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("user", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_user_add_without_a_password_prints_a_generated_one_that_signs_in():
    out, err = run("add", "wang", "--role", "collector", "--email", "wang@example.cn", "--name", "王芳")

    password = out.strip()
    assert len(password) == 16
    assert "wang added as collector" in err
    assert authenticate(username="wang", password=password) is not None


def test_user_add_with_a_password_prints_no_password():
    out, _err = run("add", "li", "--role", "auditor", "--password", PASSWORD)

    assert out == ""
    assert user_role(get_user_model().objects.get(username="li")) == Role.AUDITOR


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("add", "wang", "--role", "boss"), "boss is not a role"),
        (("add", "wang", "--role", "collector", "--password", "123"), "too short"),
        (("role", "nobody", "manager"), "there is no user 'nobody'"),
        (("deactivate", "nobody"), "there is no user 'nobody'"),
    ],
)
def test_user_commands_say_what_is_wrong_in_one_line_and_exit_with_2(args, message):
    with pytest.raises(CommandError) as failed:
        run(*args)

    assert failed.value.returncode == 2
    assert message in str(failed.value) and "\n" not in str(failed.value)


def test_user_list_shows_roles_and_hides_deactivated_users_unless_asked():
    run("add", "wang", "--role", "collector", "--password", PASSWORD, "--name", "王芳")
    run("add", "li", "--role", "manager", "--password", PASSWORD)
    run("deactivate", "li")

    active, _ = run("list")
    everyone, _ = run("list", "--all")

    assert active.splitlines()[0].split() == ["username", "role", "name", "e-mail", "status"]
    assert active.splitlines()[1].split() == ["wang", "collector", "王芳", "-", "active"]
    assert "li" not in active.split()
    assert ["li", "manager", "-", "-", "deactivated"] in [line.split() for line in everyone.splitlines()]


def test_user_role_and_password_change_a_user():
    run("add", "wang", "--role", "collector", "--password", PASSWORD)

    out, _ = run("role", "wang", "credit_controller")
    new_password, _ = run("password", "wang")

    assert "wang is now credit controller" in out
    assert authenticate(username="wang", password=new_password.strip()) is not None
