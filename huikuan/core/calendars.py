"""Business days and send windows: when a customer may be contacted.

Stages fire only on business days of the customer's country (PLAYBOOK §6), and messages go out
inside the stage's send window in the customer's local time. China follows the State Council's
yearly schedule through ``chinese_calendar``: official holidays are off, and the make-up working
days (调休) — usually a Saturday or Sunday next to a long holiday — are working days. Other
countries use the ``holidays`` package for public holidays, with Saturday and Sunday off.

Everything here is pure (no database); the results depend only on the arguments, the two
holiday packages and three settings (HUIKUAN_COUNTRY, TIME_ZONE).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import chinese_calendar
import holidays
from django.conf import settings

# The zone most of a country's businesses keep; a customer elsewhere in a country with several
# zones sets its own zone explicitly.
COUNTRY_ZONES: dict[str, str] = {
    "CN": "Asia/Shanghai",
    "HK": "Asia/Hong_Kong",
    "MO": "Asia/Macau",
    "TW": "Asia/Taipei",
    "SG": "Asia/Singapore",
    "MY": "Asia/Kuala_Lumpur",
    "TH": "Asia/Bangkok",
    "VN": "Asia/Ho_Chi_Minh",
    "ID": "Asia/Jakarta",
    "PH": "Asia/Manila",
    "JP": "Asia/Tokyo",
    "KR": "Asia/Seoul",
    "IN": "Asia/Kolkata",
    "AE": "Asia/Dubai",
    "SA": "Asia/Riyadh",
    "IL": "Asia/Jerusalem",
    "TR": "Europe/Istanbul",
    "RU": "Europe/Moscow",
    "GB": "Europe/London",
    "IE": "Europe/Dublin",
    "DE": "Europe/Berlin",
    "FR": "Europe/Paris",
    "NL": "Europe/Amsterdam",
    "BE": "Europe/Brussels",
    "LU": "Europe/Luxembourg",
    "IT": "Europe/Rome",
    "ES": "Europe/Madrid",
    "PT": "Europe/Lisbon",
    "AT": "Europe/Vienna",
    "CH": "Europe/Zurich",
    "PL": "Europe/Warsaw",
    "CZ": "Europe/Prague",
    "SE": "Europe/Stockholm",
    "NO": "Europe/Oslo",
    "DK": "Europe/Copenhagen",
    "FI": "Europe/Helsinki",
    "US": "America/New_York",
    "CA": "America/Toronto",
    "MX": "America/Mexico_City",
    "BR": "America/Sao_Paulo",
    "AU": "Australia/Sydney",
    "NZ": "Pacific/Auckland",
    "ZA": "Africa/Johannesburg",
}

# Common spellings that are not ISO 3166 codes.
COUNTRY_ALIASES: dict[str, str] = {"UK": "GB", "EL": "GR"}

# Where a country's public holidays differ by region, the region most businesses follow; a
# customer elsewhere differs by a day or two a year at most.
COUNTRY_SUBDIVISIONS: dict[str, str] = {"GB": "ENG"}

SATURDAY = 5

# A run of non-business days longer than this is a calendar error, not a holiday.
MAX_SEARCH_DAYS = 60


class SendWindowError(ValueError):
    """The send window is empty (it ends at or before it starts)."""


def company_country() -> str:
    """Return the company's own country (HUIKUAN_COUNTRY), used for customers without one."""
    return normalize_country(getattr(settings, "HUIKUAN_COUNTRY", "") or "CN", fallback="CN")


def normalize_country(country: str | None, *, fallback: str | None = None) -> str:
    """Return the ISO code this country string means, or the company's country when blank or unknown."""
    code = (country or "").strip().upper()
    code = COUNTRY_ALIASES.get(code, code)
    if code == "CN" or code in _supported_countries():
        return code
    return fallback if fallback is not None else company_country()


@lru_cache(maxsize=1)
def _supported_countries() -> frozenset[str]:
    return frozenset(holidays.list_supported_countries())


@lru_cache(maxsize=512)
def _public_holidays(country: str, year: int) -> frozenset[date]:
    """Public holidays of one country and year, computed once per process."""
    table = holidays.country_holidays(country, subdiv=COUNTRY_SUBDIVISIONS.get(country), years=year)
    return frozenset(table.keys())


def _weekday_and_not_holiday(day: date, country: str) -> bool:
    return day.weekday() < SATURDAY and day not in _public_holidays(country, day.year)


def is_business_day(day: date, country: str) -> bool:
    """Tell whether people in this country work on this day (blank or unknown: the company's country)."""
    return _is_business_day(day, normalize_country(country))


# The run asks once per customer; chinese_calendar re-checks its year range on every call.
@lru_cache(maxsize=16384)
def _is_business_day(day: date, code: str) -> bool:
    if code == "CN":
        try:
            # Knows the 调休 swaps: a make-up Saturday is a workday, a Golden Week Monday is not.
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            # The State Council publishes each year's schedule in late autumn; until the package
            # carries it, the fixed-date holidays and weekends are the best available guess.
            return _weekday_and_not_holiday(day, "CN")
    return _weekday_and_not_holiday(day, code)


def business_day_countries(day: date, countries: Iterable[str]) -> set[str]:
    """Return those of the given country strings (as given) whose country works on this day.

    The engine passes the distinct country values of its customers and then filters customers
    with ``country__in`` on the answer, so a blank value stands for the company's country.
    """
    return {country for country in set(countries) if is_business_day(day, country)}


def next_business_day(day: date, country: str) -> date:
    """Return this day if it is a business day of the country, else the next one."""
    return _nearest_business_day(day, country, step=1)


def previous_business_day(day: date, country: str) -> date:
    """Return this day if it is a business day of the country, else the one before."""
    return _nearest_business_day(day, country, step=-1)


def _nearest_business_day(day: date, country: str, *, step: int) -> date:
    for offset in range(MAX_SEARCH_DAYS + 1):
        candidate = day + timedelta(days=offset * step)
        if is_business_day(candidate, country):
            return candidate
    raise RuntimeError(
        f"no business day in {country or company_country()} within {MAX_SEARCH_DAYS} days of {day}"
    )


def _zone_or_none(name: str) -> ZoneInfo | None:
    name = (name or "").strip()
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def customer_zone(*, country: str, time_zone: str) -> ZoneInfo:
    """Return the customer's zone: its own if valid, else its country's usual one, else the company's."""
    zone = _zone_or_none(time_zone)
    if zone is not None:
        return zone
    code = COUNTRY_ALIASES.get((country or "").strip().upper(), (country or "").strip().upper())
    if code in COUNTRY_ZONES:
        return ZoneInfo(COUNTRY_ZONES[code])
    return ZoneInfo(settings.TIME_ZONE)


def _inside(moment: datetime, zone: ZoneInfo, day: date, window_start: time, window_end: time) -> bool:
    local = moment.astimezone(zone)
    return local.date() == day and window_start <= local.time().replace(tzinfo=None) < window_end


def send_window_start(
    *, after: datetime, zone: ZoneInfo, country: str, window_start: time, window_end: time
) -> datetime:
    """Return the first moment at or after ``after`` inside the daily window on a business day, in UTC.

    The window is ``[window_start, window_end)`` in the customer's local time. A window start
    that falls into a daylight-saving gap begins when the clocks have jumped.
    """
    if after.tzinfo is None or after.utcoffset() is None:
        raise ValueError("send_window_start needs an aware datetime")
    if window_end <= window_start:
        raise SendWindowError(f"the send window {window_start:%H:%M}-{window_end:%H:%M} is empty")
    local = after.astimezone(zone)
    day = local.date()
    if is_business_day(day, country) and _inside(after, zone, day, window_start, window_end):
        return after.astimezone(UTC)
    if local.time().replace(tzinfo=None) >= window_start:
        day += timedelta(days=1)
    for _ in range(MAX_SEARCH_DAYS):
        day = next_business_day(day, country)
        # fold=0 is the first of two repeated times and, in a gap, lands just after the jump.
        opening = datetime.combine(day, window_start, tzinfo=zone).astimezone(UTC)
        if opening >= after and _inside(opening, zone, day, window_start, window_end):
            return opening
        day += timedelta(days=1)
    raise RuntimeError(f"no send window found within {MAX_SEARCH_DAYS} days after {after.isoformat()}")


def company_date(moment: datetime) -> date:
    """Return the company's calendar date at this moment (the local date in settings.TIME_ZONE)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("company_date needs an aware datetime")
    return moment.astimezone(ZoneInfo(settings.TIME_ZONE)).date()
