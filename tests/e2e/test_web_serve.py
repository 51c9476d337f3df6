"""`huikuan serve` as a real process: static files collected and served, gunicorn answering, a
user signing in through it."""

from __future__ import annotations

import http.cookiejar
import re
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.processes import BIN, ROOT, free_port, huikuan, migrated_database, worker_database, worker_env  # noqa: F401

START_TIMEOUT = 90.0


class Browser:
    """Just enough of a browser: cookies kept, redirects followed, the last page's address known."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def get(self, path: str) -> tuple[int, str, bytes, dict[str, str]]:
        return self._open(urllib.request.Request(self.base + path))

    def post(self, path: str, fields: dict[str, str]) -> tuple[int, str, bytes, dict[str, str]]:
        data = urllib.parse.urlencode(fields).encode()
        request = urllib.request.Request(self.base + path, data=data, headers={"Referer": self.base + path})
        return self._open(request)

    def _open(self, request: urllib.request.Request) -> tuple[int, str, bytes, dict[str, str]]:
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, response.geturl(), response.read(), dict(response.headers)
        except urllib.error.HTTPError as error:
            return error.code, error.geturl(), error.read(), dict(error.headers)


@contextmanager
def started(
    args: list[str], *, env: dict[str, str], log: Path, timeout: float = START_TIMEOUT
) -> Iterator[str]:
    """Start `huikuan ARGS --port P` and wait until it answers; yield its address, then stop it."""
    port = free_port()
    with log.open("w") as output:
        process = subprocess.Popen(  # noqa: S603 - fixed arguments
            [str(BIN / "huikuan"), *args, "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                urllib.request.urlopen(base + "/accounts/login/", timeout=2).close()  # noqa: S310 - local
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"huikuan {args[0]} did not start:\n{log.read_text(errors='replace')}")
                time.sleep(0.3)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def server(worker_database, tmp_path: Path):
    env = worker_env(worker_database.url, tmp_path, broker="")
    env["HUIKUAN_CACHE_URL"] = ""
    added = huikuan(["user", "add", "lin", "--role", "collector", "--password", "s3cret-pass-123"], env=env)
    assert added.returncode == 0, added.stderr
    log = tmp_path / "serve.log"
    with started(["serve", "--workers", "2", "--threads", "2"], env=env, log=log) as base:
        yield {"base": base, "home": Path(env["HUIKUAN_HOME"]), "log": log}


def sign_in(browser: Browser, username: str, password: str) -> tuple[int, str, bytes, dict[str, str]]:
    _status, _url, page, _headers = browser.get("/accounts/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.decode()).group(1)
    return browser.post(
        "/accounts/login/",
        {"csrfmiddlewaretoken": token, "username": username, "password": password, "next": "/"},
    )


def test_serve_collects_the_static_files_and_serves_them_under_hashed_names(server):
    browser = Browser(server["base"])

    status, _url, page, _headers = browser.get("/accounts/login/")

    assert status == 200
    html = page.decode()
    stylesheet = re.search(r'href="(/static/web/huikuan\.[0-9a-f]{12}\.css)"', html)
    script = re.search(r'src="(/static/django_htmx/htmx-2\.min\.[0-9a-f]{12}\.js)"', html)
    assert stylesheet and script, html
    css_status, _url, css, headers = browser.get(stylesheet.group(1))
    assert css_status == 200 and b".topbar" in css
    assert "max-age=315360000" in headers.get("Cache-Control", "")  # hashed names are cached for good
    assert browser.get(script.group(1))[0] == 200
    assert (server["home"] / "static" / "staticfiles.json").is_file()
    assert "gunicorn" in server["log"].read_text(errors="replace").lower()


def test_a_user_signs_in_through_the_server_and_lands_on_the_worklist(server):
    status, url, page, _headers = sign_in(Browser(server["base"]), "lin", "s3cret-pass-123")

    assert status == 200
    assert url == server["base"] + "/"
    assert "Today's work" in page.decode()


def test_the_demo_serves_the_demo_collectors_populated_worklist(worker_database, tmp_path):
    env = worker_env(worker_database.url, tmp_path, broker="")
    env["HUIKUAN_CACHE_URL"] = ""
    log = tmp_path / "demo.log"

    with started(["demo", "--customers", "24", "--seed", "5"], env=env, log=log, timeout=300) as base:
        status, url, page, _headers = sign_in(Browser(base), "demo", "demo")

        assert (status, url) == (200, base + "/")
        html = page.decode()
        assert "Today's work" in html and html.count("data-row") >= 5
        assert "Demo login: username demo, password demo" in log.read_text()
