"""The credit area's API routes, checked by tests/e2e/test_api_auth.py: (method, template, url)."""

ROUTES: list[tuple[str, str, str]] = []
