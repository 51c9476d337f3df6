"""Simulated collectors for benchmarks/workbench.py: each signs in, opens the worklist, then customers.

Run by the benchmark (``locust -f benchmarks/workbench_locustfile.py --headless ...``) with
WORKBENCH_COLLECTORS, WORKBENCH_CUSTOMERS, WORKBENCH_PASSWORD and WORKBENCH_THINK_S set. Each
simulated user signs in as a different collector (collector001, collector002, …) and, after
each page, waits a think time drawn around WORKBENCH_THINK_S. Two customer pages are opened for
each worklist: mostly customers linked from the worklist, otherwise another of the collector's.
Figures count from the moment the last user has signed in.
"""

from __future__ import annotations

import itertools
import os
import random
import re

from locust import HttpUser, between, task

COLLECTORS = int(os.environ.get("WORKBENCH_COLLECTORS", "100"))
CUSTOMERS = int(os.environ.get("WORKBENCH_CUSTOMERS", "100000"))
PASSWORD = os.environ.get("WORKBENCH_PASSWORD", "")
THINK = float(os.environ.get("WORKBENCH_THINK_S", "1.0"))
SHARE = -(-CUSTOMERS // COLLECTORS)
CUSTOMER_LINK = re.compile(r'href="/customers/(D\d{7})/"')
CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')

_numbers = itertools.count()
_signed_in = itertools.count(1)


class Collector(HttpUser):
    wait_time = between(THINK * 0.5, THINK * 1.5)

    def on_start(self) -> None:
        self.number = next(_numbers) % COLLECTORS
        self.username = f"collector{self.number + 1:03d}"
        self.linked: list[str] = []
        form = self.client.get("/accounts/login/", name="sign-in form")
        token = CSRF_FIELD.search(form.text)
        self.client.post(
            "/accounts/login/",
            data={
                "username": self.username,
                "password": PASSWORD,
                "csrfmiddlewaretoken": token.group(1) if token else "",
                "next": "/",
            },
            headers={"Referer": f"{self.host}/accounts/login/"},
            name="sign in",
            allow_redirects=False,
        )
        # Signing in hashes a password (Argon2, slow on purpose): the pages are measured from the
        # moment every user is signed in, not while some still are.
        if next(_signed_in) == self.environment.parsed_options.num_users:
            self.environment.runner.stats.reset_all()

    def own_customer(self) -> str:
        if self.linked and random.random() < 0.8:
            return random.choice(self.linked)
        return f"D{self.number * SHARE + random.randrange(SHARE):07d}"

    @task(1)
    def worklist(self) -> None:
        with self.client.get("/", name="worklist", catch_response=True, allow_redirects=False) as answer:
            if answer.status_code != 200:
                answer.failure(f"worklist answered {answer.status_code}")
                return
            self.linked = sorted(set(CUSTOMER_LINK.findall(answer.text)))

    @task(2)
    def customer(self) -> None:
        code = self.own_customer()
        with self.client.get(
            f"/customers/{code}/", name="customer 360", catch_response=True, allow_redirects=False
        ) as answer:
            if answer.status_code != 200:
                answer.failure(f"customer {code} answered {answer.status_code}")
