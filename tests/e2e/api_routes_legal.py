"""The legal area's API routes, checked by tests/e2e/test_api_auth.py: (method, template, url)."""

ROUTES: list[tuple[str, str, str]] = [
    ("get", "/legal/handovers", "/legal/handovers"),
    ("get", "/legal/customers/{code}/handovers", "/legal/customers/C1/handovers"),
    ("post", "/legal/customers/{code}/handovers", "/legal/customers/C1/handovers"),
    ("get", "/legal/handovers/{handover_id}", "/legal/handovers/1"),
    ("post", "/legal/handovers/{handover_id}/recoveries", "/legal/handovers/1/recoveries"),
    ("post", "/legal/handovers/{handover_id}/end", "/legal/handovers/1/end"),
    ("get", "/legal/customers/{code}/evidence-pack.zip", "/legal/customers/C1/evidence-pack.zip"),
    ("get", "/legal/customers/{code}/demand-letter.pdf", "/legal/customers/C1/demand-letter.pdf"),
    ("get", "/legal/incentives", "/legal/incentives"),
    ("get", "/legal/customers/{code}/incentives", "/legal/customers/C1/incentives"),
    ("post", "/legal/customers/{code}/incentives", "/legal/customers/C1/incentives"),
    ("post", "/legal/incentives/{incentive_id}/approve", "/legal/incentives/1/approve"),
    ("post", "/legal/incentives/{incentive_id}/withdraw", "/legal/incentives/1/withdraw"),
    ("post", "/legal/incentives/{incentive_id}/reject", "/legal/incentives/1/reject"),
    ("post", "/legal/incentives/{incentive_id}/send", "/legal/incentives/1/send"),
]
