"""The credit area's API routes, checked by tests/e2e/test_api_auth.py: (method, template, url)."""

ROUTES: list[tuple[str, str, str]] = [
    ("post", "/credit/check", "/credit/check"),
    ("post", "/credit/ratings", "/credit/ratings"),
    ("get", "/credit/orders", "/credit/orders"),
    ("post", "/credit/orders", "/credit/orders"),
    ("patch", "/credit/orders/{number}", "/credit/orders/SO-1"),
    ("get", "/credit/customers/{code}/ratings", "/credit/customers/C1/ratings"),
    ("post", "/credit/customers/{code}/override", "/credit/customers/C1/override"),
    ("post", "/credit/customers/{code}/override/end", "/credit/customers/C1/override/end"),
    ("get", "/credit/customers/{code}", "/credit/customers/C1"),
]
