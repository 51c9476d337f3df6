"""In a real browser: signing in through the form, switching the language, the main pages."""

from __future__ import annotations

from datetime import date
from urllib.parse import urlsplit

import pytest

from tests.browser.support import sign_in, switch_language
from tests.factories import make_customer, make_invoice

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def collector(make_user):
    return make_user("wang.li", role="COLLECTOR", first_name="Li", last_name="Wang")


@pytest.fixture
def customer(collector):
    customer = make_customer(code="C-1001", name="上海华东机电设备有限公司", collector=collector)
    make_invoice(customer, "12000.00", issue_date=date(2024, 1, 10), due_days=30, number="INV-1001")
    return customer


def test_a_visitor_is_sent_to_the_login_form_and_signed_in_through_it(page, collector):
    page.goto("/")
    assert "/accounts/login/" in page.url

    sign_in(page, "wang.li")

    assert urlsplit(page.url).path == "/"
    assert page.locator("header .user").inner_text() == "Li Wang"
    assert page.locator("#id_password").count() == 0


def test_a_wrong_password_keeps_the_visitor_on_the_form_with_a_message(page, collector):
    sign_in(page, "wang.li", "not-the-password")

    assert "/accounts/login/" in page.url
    assert page.get_by_role("alert").is_visible()
    assert page.locator("header .user").count() == 0


def test_the_language_switch_turns_the_pages_into_chinese_and_back(page, collector, screenshot):
    sign_in(page, "wang.li", next_url="/customers/")
    nav = page.locator("header nav.mainnav")
    assert nav.get_by_role("link", name="Customers").is_visible()

    switch_language(page, "简体中文")

    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert nav.get_by_role("link", name="客户").is_visible()
    assert page.get_by_role("button", name="退出").is_visible()
    assert "/customers/" in page.url

    switch_language(page, "English")

    assert page.locator("html").get_attribute("lang") == "en"
    assert nav.get_by_role("link", name="Customers").is_visible()
    assert page.get_by_role("button", name="Log out").is_visible()


def test_a_browser_asking_for_chinese_gets_the_login_form_in_chinese(new_page):
    page = new_page(locale="zh-CN")

    page.goto("/accounts/login/")

    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert page.get_by_role("heading", name="登录").is_visible()


MAIN_PAGES = [
    ("worklist", "/"),
    ("customers", "/customers/"),
    ("customer-360", "/customers/C-1001/"),
    ("aging", "/aging/?as_of=2024-06-30"),
]


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_main_pages_open_without_error_and_are_photographed(new_page, customer, screenshot, language):
    page = new_page(locale="zh-CN" if language == "zh-hans" else "en-US")
    page.goto("/accounts/login/")
    screenshot(page, f"login.{language}")
    sign_in(page, "wang.li")

    for name, url in MAIN_PAGES:
        response = page.goto(url)
        assert response is not None and response.status == 200, (
            f"{url} answered {response and response.status}"
        )
        assert page.locator("html").get_attribute("lang") == language
        screenshot(page, f"{name}.{language}")


def test_the_main_pages_fit_a_phone_screen(new_page, customer, screenshot):
    page = new_page(width=390, height=844)
    sign_in(page, "wang.li")

    for name, url in MAIN_PAGES:
        page.goto(url)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        screenshot(page, f"{name}.phone.en")
        assert overflow <= 0, f"{url} is {overflow} px wider than the screen"
