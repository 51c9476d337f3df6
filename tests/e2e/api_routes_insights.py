"""The insights area's API routes, checked by tests/e2e/test_api_auth.py: (method, template, url)."""

ROUTES: list[tuple[str, str, str]] = [
    ("get", "/insights/customers/{code}/debtor-type", "/insights/customers/C1/debtor-type"),
    ("get", "/insights/customers/{code}/debtor-type/history", "/insights/customers/C1/debtor-type/history"),
    ("post", "/insights/customers/{code}/debtor-type/confirm", "/insights/customers/C1/debtor-type/confirm"),
    ("post", "/insights/customers/{code}/debtor-type/correct", "/insights/customers/C1/debtor-type/correct"),
    ("get", "/insights/customers/{code}/script", "/insights/customers/C1/script"),
    ("get", "/insights/scripts", "/insights/scripts"),
    ("post", "/insights/scripts", "/insights/scripts"),
    ("get", "/insights/scripts/variables", "/insights/scripts/variables"),
    ("get", "/insights/scripts/{script_id}", "/insights/scripts/1"),
    ("patch", "/insights/scripts/{script_id}", "/insights/scripts/1"),
]
