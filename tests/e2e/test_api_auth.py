"""The API refuses every request without a live token, with the same JSON error each time."""

import pytest
from django.test import Client

from config.api import api as ninja_api
from huikuan.core.auth import api_token_create, api_token_revoke
from tests.e2e import api_routes_credit, api_routes_insights, api_routes_legal
from tests.e2e.api_client import ApiClient, anonymous, api, api_token, api_user, assert_error  # noqa: F401

pytestmark = pytest.mark.django_db

# Every operation of the API, with its OpenAPI path and a concrete URL to call.
ROUTES = [
    ("get", "/customers", "/customers"),
    ("post", "/customers", "/customers"),
    ("get", "/customers/{code}", "/customers/C1"),
    ("patch", "/customers/{code}", "/customers/C1"),
    ("get", "/customers/{code}/contacts", "/customers/C1/contacts"),
    ("post", "/customers/{code}/contacts", "/customers/C1/contacts"),
    ("get", "/contacts/{contact_id}", "/contacts/1"),
    ("patch", "/contacts/{contact_id}", "/contacts/1"),
    ("get", "/invoices", "/invoices"),
    ("post", "/invoices", "/invoices"),
    ("get", "/invoices/{number}", "/invoices/INV-1"),
    ("patch", "/invoices/{number}", "/invoices/INV-1"),
    ("get", "/payments", "/payments"),
    ("post", "/payments", "/payments"),
    ("get", "/payments/{payment_id}", "/payments/1"),
    ("patch", "/payments/{payment_id}", "/payments/1"),
    ("get", "/aging", "/aging"),
    ("get", "/customers/{code}/credit-status", "/customers/C1/credit-status"),
    ("get", "/customers/{code}/dunning-preview", "/customers/C1/dunning-preview"),
    ("get", "/dunning/runs", "/dunning/runs"),
    ("post", "/dunning/runs", "/dunning/runs"),
    ("get", "/dunning/policies", "/dunning/policies"),
    ("get", "/customers/{code}/interactions", "/customers/C1/interactions"),
    ("post", "/customers/{code}/interactions", "/customers/C1/interactions"),
    ("get", "/customers/{code}/promises", "/customers/C1/promises"),
    ("post", "/customers/{code}/promises", "/customers/C1/promises"),
    ("get", "/customers/{code}/disputes", "/customers/C1/disputes"),
    ("post", "/customers/{code}/disputes", "/customers/C1/disputes"),
    ("get", "/disputes/{dispute_id}", "/disputes/1"),
    ("post", "/disputes/{dispute_id}/status", "/disputes/1/status"),
    ("get", "/customers/{code}/plans", "/customers/C1/plans"),
    ("post", "/customers/{code}/plans", "/customers/C1/plans"),
    ("get", "/plans/{plan_id}", "/plans/1"),
    ("get", "/plans/{plan_id}/agreement.pdf", "/plans/1/agreement.pdf"),
    ("get", "/tasks", "/tasks"),
    ("post", "/tasks/{task_id}/complete", "/tasks/1/complete"),
    ("post", "/tasks/{task_id}/skip", "/tasks/1/skip"),
    ("get", "/bank/statements", "/bank/statements"),
    ("get", "/bank/statements/{statement_id}", "/bank/statements/1"),
    ("get", "/bank/statements/{statement_id}/lines", "/bank/statements/1/lines"),
    ("get", "/bank/lines", "/bank/lines"),
    ("get", "/bank/lines/{line_id}", "/bank/lines/1"),
    ("get", "/bank/review", "/bank/review"),
    ("get", "/bank/unmatched", "/bank/unmatched"),
    ("get", "/bank/unmatched/totals", "/bank/unmatched/totals"),
    ("post", "/bank/lines/{line_id}/accept", "/bank/lines/1/accept"),
    ("post", "/bank/lines/{line_id}/apply", "/bank/lines/1/apply"),
    ("post", "/bank/lines/{line_id}/split", "/bank/lines/1/split"),
    ("post", "/bank/lines/{line_id}/on-account", "/bank/lines/1/on-account"),
    ("post", "/bank/lines/{line_id}/exclude", "/bank/lines/1/exclude"),
    ("post", "/bank/lines/{line_id}/reinstate", "/bank/lines/1/reinstate"),
    ("post", "/bank/match", "/bank/match"),
]
# Each area keeps its own list beside this file.
ROUTES += api_routes_credit.ROUTES + api_routes_insights.ROUTES + api_routes_legal.ROUTES


def _call(client: ApiClient, method: str, url: str):
    if method == "get":
        return client.get(url)
    return getattr(client, method)(url, {})


def test_the_route_list_covers_every_operation_in_the_openapi_document():
    documented = {
        (method, path.removeprefix("/api/v1"))
        for path, operations in ninja_api.get_openapi_schema()["paths"].items()
        for method in operations
    }

    assert documented == {(method, template) for method, template, _url in ROUTES}


@pytest.mark.parametrize(("method", "template", "url"), ROUTES)
def test_a_request_without_a_token_is_refused_with_401(anonymous, method, template, url):
    response = _call(anonymous, method, url)

    assert_error(response, 401, "unauthorized")
    assert response["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(("method", "template", "url"), ROUTES)
def test_a_request_with_a_revoked_token_is_refused_with_401(api_user, method, template, url):
    token, key = api_token_create(user=api_user)
    api_token_revoke(token=token)

    assert_error(_call(ApiClient(key), method, url), 401, "unauthorized")


@pytest.mark.parametrize(
    "header",
    ["Bearer not-a-token", "Bearer ", "Token {key}", "Basic {key}", "{key}", "Bearer {key}x"],
)
def test_a_wrong_or_malformed_authorization_header_is_refused(api_token, header):
    client = Client(headers={"Authorization": header.format(key=api_token)})

    assert_error(client.get("/api/v1/customers"), 401, "unauthorized")


def test_a_live_token_is_accepted(api):
    assert api.get("/customers").status_code == 200


def test_a_token_stops_working_the_moment_it_is_revoked(api_user):
    token, key = api_token_create(user=api_user)
    client = ApiClient(key)
    assert client.get("/customers").status_code == 200

    api_token_revoke(token=token)

    assert_error(client.get("/customers"), 401, "unauthorized")


def test_the_token_of_a_deactivated_user_is_refused(api, api_user):
    api_user.is_active = False
    api_user.save()

    assert_error(api.get("/customers"), 401, "unauthorized")


def test_the_openapi_document_and_the_docs_page_need_no_token(anonymous):
    assert anonymous.get("/openapi.json").status_code == 200
    assert anonymous.get("/docs").status_code == 200


def test_an_unknown_endpoint_is_a_json_404(api):
    assert_error(api.get("/no-such-thing"), 404, "not_found")
