import hashlib
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.utils import timezone

from huikuan.core.auth import (
    PREFIX_LENGTH,
    TokenNotFound,
    TokenPrefixAmbiguous,
    api_token_authenticate,
    api_token_create,
    api_token_revoke,
    api_token_revoke_by_prefix,
)
from huikuan.core.models import ApiToken

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice():
    return get_user_model().objects.create_user(username="alice")


def test_a_new_token_is_stored_only_as_its_sha256_digest_and_prefix(alice):
    token, key = api_token_create(user=alice, name="ERP sync")

    stored = ApiToken.objects.get(pk=token.pk)
    assert stored.key_digest == hashlib.sha256(key.encode()).hexdigest()
    assert stored.prefix == key[:PREFIX_LENGTH]
    assert stored.name == "ERP sync"
    assert key not in {getattr(stored, field.attname) for field in ApiToken._meta.fields}
    assert len(key) >= 40


def test_two_tokens_are_different(alice):
    assert api_token_create(user=alice)[1] != api_token_create(user=alice)[1]


def test_a_live_token_authenticates_its_user_and_a_wrong_one_nobody(alice):
    _token, key = api_token_create(user=alice)

    assert api_token_authenticate(key) == alice
    assert api_token_authenticate(key[:-1]) is None
    assert api_token_authenticate("") is None


def test_a_revoked_token_no_longer_authenticates(alice):
    token, key = api_token_create(user=alice)

    api_token_revoke(token=token)

    assert api_token_authenticate(key) is None


def test_the_token_of_a_deactivated_user_no_longer_authenticates(alice):
    _token, key = api_token_create(user=alice)
    alice.is_active = False
    alice.save()

    assert api_token_authenticate(key) is None


def test_last_used_is_written_at_most_once_a_minute(alice):
    token, key = api_token_create(user=alice)
    start = timezone.now()

    api_token_authenticate(key, now=start)
    api_token_authenticate(key, now=start + timedelta(seconds=30))
    token.refresh_from_db()
    assert token.last_used_at == start

    later = start + timedelta(seconds=61)
    api_token_authenticate(key, now=later)
    token.refresh_from_db()
    assert token.last_used_at == later


def test_repeated_use_within_the_minute_costs_one_query(alice, django_assert_num_queries):
    _token, key = api_token_create(user=alice)
    api_token_authenticate(key)

    with django_assert_num_queries(1):
        api_token_authenticate(key)


def test_revoking_by_prefix_revokes_exactly_that_token(alice):
    first, first_key = api_token_create(user=alice)
    _second, second_key = api_token_create(user=alice)

    revoked = api_token_revoke_by_prefix(prefix=first_key[:PREFIX_LENGTH])

    assert revoked.pk == first.pk
    assert api_token_authenticate(first_key) is None
    assert api_token_authenticate(second_key) == alice


def test_revoking_an_unknown_or_already_revoked_prefix_says_so(alice):
    token, key = api_token_create(user=alice)
    api_token_revoke(token=token)

    with pytest.raises(TokenNotFound):
        api_token_revoke_by_prefix(prefix=key[:PREFIX_LENGTH])


def test_an_ambiguous_prefix_revokes_nothing(alice):
    for key in ("samepfx1-aaaa", "samepfx1-bbbb"):
        ApiToken.objects.create(
            user=alice, key_digest=hashlib.sha256(key.encode()).hexdigest(), prefix=key[:PREFIX_LENGTH]
        )

    with pytest.raises(TokenPrefixAmbiguous):
        api_token_revoke_by_prefix(prefix="samepfx1")

    assert ApiToken.objects.filter(revoked_at__isnull=True).count() == 2


# --- the command -------------------------------------------------------------------------


def _run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("token", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_token_create_prints_a_working_token_as_the_last_line_of_stdout(alice):
    out, err = _run("create", "alice", "--name", "ERP sync")

    key = out.strip().splitlines()[-1]
    assert api_token_authenticate(key) == alice
    assert ApiToken.objects.get().name == "ERP sync"
    assert "only this once" in err


def test_token_list_shows_prefixes_and_status_but_never_the_token(alice):
    first, first_key = api_token_create(user=alice, name="ERP sync")
    _second, second_key = api_token_create(user=alice, name="BI")
    api_token_revoke(token=first)

    out, _err = _run("list", "alice")

    assert first_key[:PREFIX_LENGTH] in out and second_key[:PREFIX_LENGTH] in out
    assert first_key not in out and second_key not in out
    assert "revoked" in out and "active" in out and "ERP sync" in out


def test_token_revoke_by_prefix_stops_the_token(alice):
    _token, key = api_token_create(user=alice)

    out, _err = _run("revoke", key[:PREFIX_LENGTH])

    assert "revoked" in out
    assert api_token_authenticate(key) is None


@pytest.mark.parametrize("args", [("create", "nobody"), ("list", "nobody")])
def test_an_unknown_user_is_one_clear_line_and_exit_code_2(args):
    with pytest.raises(CommandError) as raised:
        _run(*args)

    assert raised.value.returncode == 2
    assert str(raised.value) == "there is no user 'nobody'"


def test_revoking_an_unknown_prefix_exits_with_code_2():
    with pytest.raises(CommandError) as raised:
        _run("revoke", "zzzzzzzz")

    assert raised.value.returncode == 2
    assert "zzzzzzzz" in str(raised.value)
