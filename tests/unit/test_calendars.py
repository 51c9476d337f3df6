"""Business days of China (with 调休) and other countries, customer zones and send windows."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from huikuan.core.calendars import (
    SendWindowError,
    business_day_countries,
    customer_zone,
    is_business_day,
    next_business_day,
    send_window_start,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
MORNING = {"window_start": time(9), "window_end": time(12)}

# The State Council's 2026 schedule as chinese_calendar carries it: these Saturdays are worked
# in exchange for longer Spring Festival, Labour Day and National Day holidays.
MAKE_UP_SATURDAYS_2026 = [date(2026, 2, 14), date(2026, 2, 28), date(2026, 5, 9), date(2026, 10, 10)]
GOLDEN_WEEK_2026 = [date(2026, 10, 1) + timedelta(days=n) for n in range(7)]


@pytest.mark.parametrize("day", MAKE_UP_SATURDAYS_2026, ids=str)
def test_a_chinese_make_up_saturday_is_a_business_day(day):
    assert day.weekday() == 5
    assert is_business_day(day, "CN")


def test_a_chinese_make_up_sunday_is_a_business_day():
    assert date(2026, 9, 20).weekday() == 6
    assert is_business_day(date(2026, 9, 20), "CN")


@pytest.mark.parametrize("day", GOLDEN_WEEK_2026, ids=str)
def test_no_day_of_golden_week_is_a_business_day_in_china(day):
    assert not is_business_day(day, "CN")


def test_an_ordinary_saturday_is_not_a_business_day_in_china_and_a_weekday_is():
    assert not is_business_day(date(2026, 3, 7), "CN")
    assert is_business_day(date(2026, 3, 9), "CN")


def test_a_make_up_saturday_in_china_is_a_weekend_elsewhere():
    assert not is_business_day(date(2026, 10, 10), "GB")
    assert not is_business_day(date(2026, 10, 10), "DE")


def test_a_uk_bank_holiday_is_not_a_business_day_but_the_next_day_is():
    assert not is_business_day(date(2026, 5, 25), "GB")  # spring bank holiday
    assert not is_business_day(date(2026, 8, 31), "GB")  # summer bank holiday (England and Wales)
    assert is_business_day(date(2026, 5, 26), "GB")
    assert is_business_day(date(2026, 5, 25), "CN")


def test_country_codes_are_read_in_any_case_and_uk_means_great_britain():
    assert not is_business_day(date(2026, 12, 25), "gb")
    assert not is_business_day(date(2026, 12, 28), " UK ")  # Boxing Day observed


def test_a_blank_or_unknown_country_uses_the_company_country(settings):
    settings.HUIKUAN_COUNTRY = "GB"
    assert not is_business_day(date(2026, 5, 25), "")
    assert not is_business_day(date(2026, 5, 25), "ZZ")
    settings.HUIKUAN_COUNTRY = "CN"
    assert is_business_day(date(2026, 10, 10), "")
    assert not is_business_day(date(2026, 10, 5), "ZZ")


def test_a_year_chinese_calendar_does_not_know_yet_falls_back_to_public_holidays_and_weekends():
    assert not is_business_day(date(2027, 10, 1), "CN")
    assert not is_business_day(date(2027, 2, 8), "CN")  # Spring Festival
    assert not is_business_day(date(2027, 3, 6), "CN")  # a Saturday
    assert is_business_day(date(2027, 3, 3), "CN")


def test_business_day_countries_answers_with_the_strings_it_was_given(settings):
    settings.HUIKUAN_COUNTRY = "CN"
    assert business_day_countries(date(2026, 10, 10), ["CN", "GB", "", "US"]) == {"CN", ""}
    assert business_day_countries(date(2026, 10, 5), ["CN", "GB", ""]) == {"GB"}
    # 25 May 2026: spring bank holiday, Memorial Day, Whit Monday; an ordinary Monday in Japan.
    assert business_day_countries(date(2026, 5, 25), ["GB", "US", "DE", "JP"]) == {"JP"}
    assert business_day_countries(date(2026, 5, 26), []) == set()


def test_next_business_day_skips_golden_week():
    assert next_business_day(date(2026, 10, 1), "CN") == date(2026, 10, 8)
    assert next_business_day(date(2026, 10, 8), "CN") == date(2026, 10, 8)


# --- zones


def test_an_explicit_valid_zone_wins_over_the_country():
    assert customer_zone(country="CN", time_zone="Europe/Berlin") == ZoneInfo("Europe/Berlin")


def test_a_country_without_an_explicit_zone_gets_its_main_zone():
    assert customer_zone(country="US", time_zone="") == NEW_YORK
    assert customer_zone(country="gb", time_zone="") == LONDON
    assert customer_zone(country="UK", time_zone="") == LONDON
    assert customer_zone(country="AU", time_zone="  ") == ZoneInfo("Australia/Sydney")


def test_an_invalid_zone_falls_back_to_the_country_zone():
    assert customer_zone(country="JP", time_zone="Mars/Olympus") == ZoneInfo("Asia/Tokyo")
    assert customer_zone(country="JP", time_zone="../etc/passwd") == ZoneInfo("Asia/Tokyo")


def test_no_zone_and_no_known_country_means_the_company_zone(settings):
    settings.TIME_ZONE = "Europe/Paris"
    assert customer_zone(country="", time_zone="") == ZoneInfo("Europe/Paris")
    assert customer_zone(country="ZZ", time_zone="nowhere") == ZoneInfo("Europe/Paris")


# --- send windows


def _at(zone: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=zone)


def test_a_moment_inside_the_window_on_a_business_day_is_kept_and_returned_in_utc():
    after = _at(SHANGHAI, 2026, 3, 10, 10, 30)
    result = send_window_start(after=after, zone=SHANGHAI, country="CN", **MORNING)
    assert result == after
    assert result.tzinfo == UTC
    assert result == datetime(2026, 3, 10, 2, 30, tzinfo=UTC)


def test_a_moment_before_the_window_waits_for_the_window_to_open_the_same_day():
    result = send_window_start(after=_at(SHANGHAI, 2026, 3, 10, 6, 0), zone=SHANGHAI, country="CN", **MORNING)
    assert result == datetime(2026, 3, 10, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai


def test_the_window_end_is_excluded():
    result = send_window_start(
        after=_at(SHANGHAI, 2026, 3, 10, 12, 0), zone=SHANGHAI, country="CN", **MORNING
    )
    assert result == _at(SHANGHAI, 2026, 3, 11, 9, 0)


def test_friday_afternoon_lands_on_monday_morning():
    result = send_window_start(after=_at(LONDON, 2026, 3, 13, 15, 0), zone=LONDON, country="GB", **MORNING)
    assert result == datetime(2026, 3, 16, 9, 0, tzinfo=UTC)  # GMT: London is on UTC in March


def test_friday_afternoon_before_a_bank_holiday_lands_on_tuesday_morning():
    result = send_window_start(after=_at(LONDON, 2026, 5, 22, 15, 0), zone=LONDON, country="GB", **MORNING)
    assert result == datetime(2026, 5, 26, 8, 0, tzinfo=UTC)  # 09:00 BST


def test_friday_afternoon_before_a_make_up_saturday_lands_on_saturday_in_china():
    result = send_window_start(
        after=_at(SHANGHAI, 2026, 10, 9, 15, 0), zone=SHANGHAI, country="CN", **MORNING
    )
    assert result == datetime(2026, 10, 10, 1, 0, tzinfo=UTC)


def test_the_eve_of_golden_week_lands_on_the_first_working_day_after_it():
    result = send_window_start(
        after=_at(SHANGHAI, 2026, 9, 30, 14, 0), zone=SHANGHAI, country="CN", **MORNING
    )
    assert result == _at(SHANGHAI, 2026, 10, 8, 9, 0)


def test_the_customer_day_counts_not_the_utc_day():
    # Monday 01:00 in Shanghai is still Sunday in UTC: the window opens Monday 09:00 Shanghai.
    after = datetime(2026, 3, 8, 17, 0, tzinfo=UTC)
    result = send_window_start(after=after, zone=SHANGHAI, country="CN", **MORNING)
    assert result == _at(SHANGHAI, 2026, 3, 9, 9, 0)


def test_a_new_york_customer_of_a_chinese_company_is_written_to_in_new_york_mornings():
    after = _at(SHANGHAI, 2026, 3, 10, 9, 0)  # Monday 21:00 in New York
    result = send_window_start(after=after, zone=NEW_YORK, country="US", **MORNING)
    assert result == _at(NEW_YORK, 2026, 3, 10, 9, 0)
    assert result == datetime(2026, 3, 10, 13, 0, tzinfo=UTC)  # EDT since 8 March


def test_a_naive_moment_is_refused():
    with pytest.raises(ValueError, match="aware"):
        send_window_start(after=datetime(2026, 3, 10, 9), zone=SHANGHAI, country="CN", **MORNING)


def test_an_empty_window_is_refused():
    with pytest.raises(SendWindowError):
        send_window_start(
            after=_at(SHANGHAI, 2026, 3, 10, 9), zone=SHANGHAI, country="CN",
            window_start=time(12), window_end=time(9),
        )  # fmt: skip


ZONES = ["Asia/Shanghai", "Europe/London", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "UTC"]
COUNTRIES = ["CN", "GB", "US", "DE", "AU", "JP", ""]


@st.composite
def windows(draw) -> tuple[time, time]:
    start = draw(st.integers(min_value=0, max_value=24 * 60 - 2))
    end = draw(st.integers(min_value=start + 1, max_value=24 * 60 - 1))
    return time(start // 60, start % 60), time(end // 60, end % 60)


@given(
    after=st.datetimes(
        min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
    ),
    zone_name=st.sampled_from(ZONES),
    country=st.sampled_from(COUNTRIES),
    window=windows(),
)
def test_the_window_start_is_never_early_always_inside_the_window_and_on_a_business_day(
    after, zone_name, country, window
):
    zone = ZoneInfo(zone_name)
    window_start, window_end = window
    result = send_window_start(
        after=after, zone=zone, country=country, window_start=window_start, window_end=window_end
    )
    local = result.astimezone(zone)
    assert result.tzinfo == UTC
    assert result >= after
    assert window_start <= local.time() < window_end
    assert is_business_day(local.date(), country)


@given(
    after=st.datetimes(
        min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
    ),
    zone_name=st.sampled_from(ZONES),
    country=st.sampled_from(COUNTRIES),
)
def test_no_earlier_minute_after_the_moment_is_a_sendable_one(after, zone_name, country):
    zone = ZoneInfo(zone_name)
    result = send_window_start(after=after, zone=zone, country=country, **MORNING)
    # Walk back in whole minutes from the result: none of them (at or after `after`) is sendable.
    moment = result - timedelta(minutes=1)
    steps = 0
    while moment >= after and steps < 200:
        local = moment.astimezone(zone)
        assert not (time(9) <= local.time() < time(12) and is_business_day(local.date(), country))
        moment -= timedelta(minutes=1)
        steps += 1
