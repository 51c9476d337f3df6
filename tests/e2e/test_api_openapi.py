"""The OpenAPI document loads without a token and never declares money as a number."""

from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.api_client import anonymous  # noqa: F401

pytestmark = pytest.mark.django_db

MONEY_FIELDS = {"amount", "open_amount", "unapplied_amount", "credit_limit"}


def _walk(node: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, f"{path}/{index}")


def _types(schema: dict[str, Any]) -> set[str]:
    """Return every JSON type a property schema allows, looking inside anyOf/oneOf."""
    found = {schema["type"]} if "type" in schema else set()
    for option in schema.get("anyOf", []) + schema.get("oneOf", []):
        found |= _types(option)
    return found


@pytest.fixture
def document(anonymous) -> dict[str, Any]:
    response = anonymous.get("/openapi.json")
    assert response.status_code == 200
    return response.json()


def test_the_document_lists_every_resource(document):
    paths = set(document["paths"])

    assert {"/api/v1/customers", "/api/v1/invoices", "/api/v1/payments", "/api/v1/aging"} <= paths
    assert "/api/v1/customers/{code}/contacts" in paths and "/api/v1/contacts/{contact_id}" in paths


def test_every_money_field_is_a_string_in_requests_and_responses(document):
    schemas = document["components"]["schemas"]
    seen = 0
    for name, schema in schemas.items():
        for field, prop in schema.get("properties", {}).items():
            if field in MONEY_FIELDS:
                seen += 1
                assert _types(prop) <= {"string", "null"} and "string" in _types(prop), (name, field, prop)

    assert seen >= 8  # amounts of invoices and payments in and out, credit limits, allocations


def test_no_schema_anywhere_uses_the_number_type(document):
    numbers = [
        path for path, node in _walk(document) if isinstance(node, dict) and node.get("type") == "number"
    ]

    assert numbers == []


def test_every_operation_needs_the_bearer_token_and_documents_its_errors(document):
    assert document["components"]["securitySchemes"]["BearerToken"] == {"type": "http", "scheme": "bearer"}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            assert operation["security"] == [{"BearerToken": []}], (method, path)
            if method in {"post", "patch"}:
                assert "400" in operation["responses"], (method, path)
