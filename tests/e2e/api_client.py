"""Fixtures for the REST API tests: a user, their token and an HTTP client that sends it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from huikuan.core.auth import api_token_create

BASE = "/api/v1"


class ApiClient:
    """A django.test.Client speaking JSON to /api/v1, with or without a bearer token."""

    def __init__(self, token: str | None = None) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = Client(headers=headers)

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self.http.get(f"{BASE}{path}", params or {})

    def post(self, path: str, body: Any = None, *, raw: str | bytes | None = None) -> Any:
        data = raw if raw is not None else json.dumps(body)
        return self.http.post(f"{BASE}{path}", data=data, content_type="application/json")

    def patch(self, path: str, body: Any = None, *, raw: str | bytes | None = None) -> Any:
        data = raw if raw is not None else json.dumps(body)
        return self.http.patch(f"{BASE}{path}", data=data, content_type="application/json")


@pytest.fixture
def api_user(db):
    """A credit controller: an integration's token reaches every customer and may write."""
    from huikuan.accounts.models import Profile, Role

    user = get_user_model().objects.create_user(username="clerk")  # no password: no slow hashing
    Profile.objects.create(user=user, role=Role.CREDIT_CONTROLLER)
    return user


@pytest.fixture
def api_token(api_user) -> str:
    _token, key = api_token_create(user=api_user, name="tests")
    return key


@pytest.fixture
def api(api_token) -> ApiClient:
    return ApiClient(api_token)


@pytest.fixture
def anonymous() -> ApiClient:
    return ApiClient()


def assert_error(response: Any, status: int, code: str | None = None) -> dict[str, str]:
    """Assert the response is the API's error shape with this status (and code), return the body."""
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"code", "message"}, body
    assert body["message"]
    if code is not None:
        assert body["code"] == code, body
    return body
