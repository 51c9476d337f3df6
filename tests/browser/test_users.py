"""In a real browser: an administrator adds a collector, who then signs in with the password shown."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.browser.support import sign_in, switch_language

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def admin(make_user):
    return make_user("admin", role="ADMIN", first_name="Min", last_name="Zhao")


def test_an_administrator_adds_a_collector_who_signs_in_with_the_password_shown(new_page, admin, screenshot):
    page = new_page()
    sign_in(page, "admin", next_url="/users/")
    screenshot(page, "users.en")
    page.get_by_role("link", name="Add a user").click()
    page.get_by_label("Username").fill("liu.yang")
    page.get_by_label("Full name").fill("刘洋")
    page.get_by_label("Role").select_option("COLLECTOR")
    screenshot(page, "user-add.en")

    page.get_by_role("button", name="Add").click()

    page.get_by_role("heading", name="User liu.yang added").wait_for()
    password = page.locator("[data-password]").inner_text().strip()
    assert len(password) >= 12
    page.get_by_role("link", name="Back to the users").click()
    row = page.locator("tr", has_text="liu.yang")
    assert "刘洋" in row.inner_text() and "collector" in row.inner_text()

    collector_page = new_page()
    sign_in(collector_page, "liu.yang", password)
    assert urlsplit(collector_page.url).path == "/"
    assert collector_page.locator("header .user").inner_text() == "刘洋"
    # A collector does not manage users: the page is as missing as any other they may not see.
    response = collector_page.goto("/users/")
    assert response is not None and response.status == 404


def test_the_user_pages_read_in_chinese(page, admin, screenshot):
    sign_in(page, "admin", next_url="/users/")

    switch_language(page, "简体中文")

    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert page.get_by_role("heading", name="用户").is_visible()
    assert page.get_by_role("link", name="admin", exact=True).is_visible()
    screenshot(page, "users.zh-hans")
    page.goto("/users/add/")
    assert page.get_by_role("heading", name="添加用户").is_visible()
    screenshot(page, "user-add.zh-hans")
