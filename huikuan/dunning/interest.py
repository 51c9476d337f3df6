"""Late-payment interest and fixed compensation: the pure calculation, no database.

Everything here is exact: amounts and rates become ``Fraction``s, every period's interest is
summed without rounding, and the total is rounded once, half-up, to the currency's minor unit
through :func:`huikuan.core.money.to_minor`. Splitting a period in two therefore never changes the
total. The services (``dunning/charges.py``) and the ``huikuan interest`` command feed this module
with the reference-rate table, the contract terms and the payments; it reads nothing itself.

Days. Interest runs from the day after the due date (after the grace days, when the contract gives
some) through the until date, both included: a debt due 31 January and paid 30 April bears
interest for 1 February .. 30 April, ``until - due`` = 90 days. Each period's ``start`` and
``end`` are both inclusive, so ``days = end - start + 1`` and the periods' days add up to
``until - due - grace``. A payment dated D still bears interest on D (as the final payment does)
and lowers the base from D + 1.

Rules (see docs/interest.md for the sources):

- ``uk-late-payment``: Bank of England base rate in force on 31 December (debts that became late
  1 January .. 30 June) or 30 June (late 1 July .. 31 December), plus 8 %. The rate is fixed for
  the debt by the half-year in which it became late, as the UK guidance applies the Act; simple
  interest, principal x rate / 365 per day. Compensation £40 / £70 / £100.
- ``eu-late-payment``: ECB main refinancing rate in force on 1 January (for January .. June) or
  1 July (for July .. December) plus 8 points, or the country's margin (DE 9, FR 10). The rate
  follows each half-year of the delay, so a period is split at every 1 January / 1 July whose
  rate differs. Compensation €40.
- ``cn-lpr``: the one-year LPR in force on the day of breach (the day after the due date) times
  (1 + markup), markup 50 % unless the contract says otherwise.
- ``cn-sme-daily``: 0.05 % of the amount per day; shown as 18.25 % a year (0.05 x 365).
- ``CONTRACT``: the annual rate in the contract; the only rule that may compound monthly.
"""

from __future__ import annotations

import bisect
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_DOWN, Context, Decimal, InvalidOperation
from fractions import Fraction
from typing import Any, NamedTuple

from huikuan.core.errors import HuikuanError
from huikuan.core.money import exponent, format_minor, normalise_currency, to_minor

# The rule values of dunning.models.InterestRule, repeated here so that this core needs no Django.
RULE_NONE = "NONE"
RULE_CONTRACT = "CONTRACT"
RULE_UK = "uk-late-payment"
RULE_EU = "eu-late-payment"
RULE_CN_LPR = "cn-lpr"
RULE_CN_SME = "cn-sme-daily"
RULES = (RULE_NONE, RULE_CONTRACT, RULE_UK, RULE_EU, RULE_CN_LPR, RULE_CN_SME)

# The series codes of dunning.models.RateSeries.
SERIES_BOE = "BOE_BASE"
SERIES_ECB = "ECB_MRO"
SERIES_LPR = "CN_LPR_1Y"

ACT_365 = "ACT/365"
ACT_360 = "ACT/360"
DAY_COUNTS = {ACT_365: 365, ACT_360: 360}

UK_MARGIN = Decimal(8)
EU_DEFAULT_MARGIN = Decimal(8)
# Directive 2011/7/EU lets member states set a higher margin; Germany (BGB §288(2)) and France
# (Code de commerce L441-10) do for business debts.
EU_COUNTRY_MARGINS: Mapping[str, Decimal] = {"DE": Decimal(9), "FR": Decimal(10)}
DEFAULT_LPR_MARKUP = Decimal("0.5")
CN_SME_DAILY_PERCENT = Decimal("0.05")

# Fixed compensation per invoice, in minor units, by currency. The UK Act states pounds and the
# Directive euros; a debt in another currency gets no automatic compensation (its equivalent in
# national currency depends on an exchange rate the user must choose), see docs/interest.md.
UK_COMPENSATION_BANDS: tuple[tuple[int | None, int], ...] = (
    (100_000, 4_000),  # debt < £1,000: £40
    (1_000_000, 7_000),  # debt < £10,000: £70
    (None, 10_000),  # otherwise £100
)
EU_COMPENSATION: Mapping[str, Decimal] = {"EUR": Decimal(40)}

RateTable = Mapping[str, Sequence[tuple[date, Decimal]]]
_Ratio = tuple[int, int]

# Turning an exact fraction into a Decimal before rounding: 60 digits make the Decimal exact for
# any value that can sit on a half minor unit (such a value has a terminating expansion), and far
# closer than rounding can notice for any other.
_EXACT = Context(prec=60)


class InterestError(HuikuanError):
    """The calculation cannot be made with what it was given."""

    code = "interest_invalid"


class InterestInputInvalid(InterestError):
    code = "interest_input_invalid"


class RateMissing(InterestError):
    """No reference rate of the series is in force on the date the rule needs."""

    code = "reference_rate_missing"


@dataclass(frozen=True, slots=True)
class InterestPeriod:
    """Days at one rate on one base. ``start`` and ``end`` are both included."""

    start: date
    end: date
    annual_rate: Decimal  # percent a year
    base: Fraction  # major units the rate applies to (principal less payments, plus capitalised interest)
    exact: Fraction  # major units, unrounded
    interest_minor: int  # this period's share of the rounded total (see interest_compute)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


@dataclass(frozen=True, slots=True)
class InterestResult:
    principal_minor: int
    currency: str
    rule: str
    due_date: date
    until_date: date
    periods: tuple[InterestPeriod, ...]
    exact: Fraction  # the unrounded sum of the periods, major units
    interest_minor: int
    compensation_minor: int

    @property
    def total_minor(self) -> int:
        """Interest plus compensation: what is claimed on top of the debt itself."""
        return self.interest_minor + self.compensation_minor

    @property
    def days(self) -> int:
        return sum(period.days for period in self.periods)

    def to_json(self) -> dict[str, Any]:
        """Return the ``huikuan interest`` JSON contract: amounts as decimal strings, dates ISO."""
        money = self.currency
        return {
            "principal": format_minor(self.principal_minor, money),
            "currency": money,
            "rule": self.rule,
            "periods": [
                {
                    "from": period.start.isoformat(),
                    "to": period.end.isoformat(),
                    "days": period.days,
                    "annual_rate": rate_text(period.annual_rate),
                    "interest": format_minor(period.interest_minor, money),
                }
                for period in self.periods
            ],
            "interest": format_minor(self.interest_minor, money),
            "compensation": format_minor(self.compensation_minor, money),
            "total": format_minor(self.total_minor, money),
        }

    def detail(self) -> dict[str, Any]:
        """Return the evidence kept on an interest charge: the contract plus bases and exact sums."""
        data = self.to_json()
        data["due_date"] = self.due_date.isoformat()
        data["until"] = self.until_date.isoformat()
        data["exact_interest"] = decimal_text(self.exact, places=10)
        for row, period in zip(data["periods"], self.periods, strict=True):
            row["base"] = decimal_text(period.base, places=exponent(self.currency) + 4)
        return data


def rate_text(rate: Decimal) -> str:
    """Return a percent without exponent or trailing zeros: "13.25", "5.175", "8"."""
    text = f"{rate:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def decimal_text(value: Fraction, *, places: int) -> str:
    """Return a fraction as decimal text cut (not rounded) to ``places``, for evidence only."""
    exact = _EXACT.divide(Decimal(value.numerator), Decimal(value.denominator))
    return f"{exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_DOWN):f}"


def parse_percent(text: str | Decimal | int, *, what: str) -> Decimal:
    """Return a finite Decimal from rate text such as "12" or "5.25", or raise InterestInputInvalid."""
    try:
        value = text if isinstance(text, Decimal) else Decimal(str(text).strip())
    except InvalidOperation:
        raise InterestInputInvalid(f"{what}: {text!r} is not a number")
    if not value.is_finite():
        raise InterestInputInvalid(f"{what}: {text!r} is not a number")
    return value


def _effective(entry: tuple[date, Decimal]) -> date:
    return entry[0]


def rate_in_force(rates: RateTable, series: str, day: date) -> Decimal:
    """Return the rate of ``series`` in force on ``day``: the latest one effective on or before it."""
    entries = rates.get(series) or ()
    index = bisect.bisect_right(entries, day, key=_effective) - 1
    if index < 0:
        first = f"; the table starts {entries[0][0].isoformat()}" if entries else " (the table is empty)"
        raise RateMissing(
            f"no {series} rate is in force on {day.isoformat()}{first}: "
            f"add it with `huikuan rates set {series} DATE RATE`"
        )
    return entries[index][1]


def half_year_start(day: date) -> date:
    return date(day.year, 1 if day.month <= 6 else 7, 1)


def uk_reference_date(breach: date) -> date:
    """Return the day whose base rate fixes the UK statutory rate of a debt late from ``breach``."""
    return date(breach.year - 1, 12, 31) if breach.month <= 6 else date(breach.year, 6, 30)


def eu_margin(country: str, margins: Mapping[str, Decimal] | None = None) -> Decimal:
    table = EU_COUNTRY_MARGINS if margins is None else margins
    return Decimal(table.get((country or "").strip().upper(), EU_DEFAULT_MARGIN))


def compensation_minor(
    *, rule: str, currency: str, debt_minor: int, eu_amounts: Mapping[str, Decimal] | None = None
) -> int:
    """Return the fixed compensation per invoice the rule grants for a late debt, in minor units."""
    currency = normalise_currency(currency)
    if rule == RULE_UK and currency == "GBP":
        for below, amount in UK_COMPENSATION_BANDS:
            if below is None or debt_minor < below:
                return amount
    if rule == RULE_EU:
        amount_major = (EU_COMPENSATION if eu_amounts is None else eu_amounts).get(currency)
        if amount_major is not None:
            return to_minor(amount_major, currency)
    return 0


def _first_days_of_months(after: date, through: date) -> list[date]:
    """Return every 1st of a month in (after, through]."""
    days: list[date] = []
    month = date(after.year, after.month, 1)
    while True:
        month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
        if month > through:
            return days
        days.append(month)


def _half_year_starts(after: date, through: date) -> list[date]:
    return [day for day in _first_days_of_months(after, through) if day.month in (1, 7)]


def _round_minor(value: _Ratio, currency: str) -> int:
    """Round an exact amount in minor units once, half-up, through core.money."""
    minor = _EXACT.divide(Decimal(value[0]), Decimal(value[1]))
    return to_minor(minor.scaleb(-exponent(currency)), currency)


def _plus(a: _Ratio, b: _Ratio) -> _Ratio:
    if a[0] == 0:
        return b
    if a[1] == b[1]:
        return (a[0] + b[0], a[1])
    return (a[0] * b[1] + b[0] * a[1], a[1] * b[1])


def _reduced(value: _Ratio) -> _Ratio:
    divisor = math.gcd(value[0], value[1])
    return (value[0] // divisor, value[1] // divisor)


def interest_compute(
    *,
    principal_minor: int,
    currency: str,
    due_date: date,
    until_date: date,
    rule: str,
    rates: RateTable | None = None,
    contract_rate: Decimal | None = None,
    lpr_markup: Decimal | None = None,
    country: str = "",
    eu_margins: Mapping[str, Decimal] | None = None,
    eu_compensation: Mapping[str, Decimal] | None = None,
    day_count: str = ACT_365,
    grace_days: int = 0,
    compound_monthly: bool = False,
    payments: Sequence[tuple[date, int]] = (),
) -> InterestResult:
    """Return the interest and compensation a debt bears from its due date through ``until_date``.

    ``payments`` are (date, minor units) that lower the base from the day after their date; a
    negative amount (a reversed allocation) raises it again. Raises InterestInputInvalid for
    inconsistent input and RateMissing when the rate table does not reach back far enough.
    """
    currency = normalise_currency(currency)
    rates = rates or {}
    if rule not in RULES:
        raise InterestInputInvalid(f"unknown interest rule {rule!r}; choose one of {', '.join(RULES)}")
    if day_count not in DAY_COUNTS:
        raise InterestInputInvalid(f"unknown day count {day_count!r}; choose ACT/365 or ACT/360")
    if grace_days < 0:
        raise InterestInputInvalid("grace days cannot be negative")
    if principal_minor < 0:
        raise InterestInputInvalid("the principal cannot be negative")
    if compound_monthly and rule != RULE_CONTRACT:
        raise InterestInputInvalid("only contractual interest can compound; statutory interest is simple")
    if rule == RULE_CONTRACT:
        if contract_rate is None:
            raise InterestInputInvalid("contractual interest needs the contract's annual rate")
        if contract_rate < 0:
            raise InterestInputInvalid("the contractual rate cannot be negative")
    markup = DEFAULT_LPR_MARKUP if lpr_markup is None else lpr_markup
    if markup < 0:
        raise InterestInputInvalid("the LPR markup cannot be negative")

    breach = due_date + timedelta(days=1)
    start = due_date + timedelta(days=grace_days + 1)
    end = until_date
    ordered_payments = sorted(payments)
    # The debt the compensation bands look at: what was still owed when interest began.
    owed_at_start = principal_minor - sum(minor for day, minor in ordered_payments if day < start)
    late = rule != RULE_NONE and end >= start

    if not late:
        return InterestResult(principal_minor, currency, rule, due_date, until_date, (), Fraction(0), 0, 0)

    # The rate of each day, and the days (after the start) on which it may change.
    divisor = DAY_COUNTS[day_count]
    rate_changes: list[date] = []
    rate_of: Callable[[date], Decimal]
    if rule == RULE_CONTRACT:
        fixed = Decimal(contract_rate)  # type: ignore[arg-type]
        rate_of = lambda day: fixed  # noqa: E731
    elif rule == RULE_UK:
        fixed = rate_in_force(rates, SERIES_BOE, uk_reference_date(breach)) + UK_MARGIN
        rate_of = lambda day: fixed  # noqa: E731
        divisor = 365  # the Act: principal x rate / 365 per day, whatever the contract says
    elif rule == RULE_EU:
        margin = eu_margin(country, eu_margins)
        rate_of = lambda day: rate_in_force(rates, SERIES_ECB, half_year_start(day)) + margin  # noqa: E731
        rate_changes = _half_year_starts(start, end)
    elif rule == RULE_CN_LPR:
        fixed = rate_in_force(rates, SERIES_LPR, breach) * (1 + markup)
        rate_of = lambda day: fixed  # noqa: E731
    else:  # RULE_CN_SME: 0.05 % a day is 18.25 % over 365 days.
        fixed = CN_SME_DAILY_PERCENT * 365
        rate_of = lambda day: fixed  # noqa: E731
        divisor = 365

    payment_days = [day + timedelta(days=1) for day, _ in ordered_payments]
    capitalise_days = _first_days_of_months(start, end) if compound_monthly else []
    boundaries = sorted(
        {start, *rate_changes, *capitalise_days, *(day for day in payment_days if start < day <= end)}
    )
    capitalise_set = set(capitalise_days)

    # Exact amounts are kept in minor units as (numerator, denominator) pairs of ints: Fraction
    # would take a gcd at every step, which costs more than all the rest of the calculation.
    capitalised: _Ratio = (0, 1)
    since_capitalised: _Ratio = (0, 1)
    paid = 0
    paid_index = 0
    raw: list[tuple[date, date, Decimal, _Ratio, _Ratio]] = []
    for index, first in enumerate(boundaries):
        last = boundaries[index + 1] - timedelta(days=1) if index + 1 < len(boundaries) else end
        if first in capitalise_set:
            capitalised = _reduced(_plus(capitalised, since_capitalised))
            since_capitalised = (0, 1)
        while paid_index < len(ordered_payments) and ordered_payments[paid_index][0] < first:
            paid += ordered_payments[paid_index][1]
            paid_index += 1
        base = _plus((principal_minor - paid, 1), capitalised)
        if base[0] < 0:
            base = (0, 1)
        rate = rate_of(first)
        rate_numerator, rate_denominator = rate.as_integer_ratio()
        days = (last - first).days + 1
        # base x rate / 100 x days / divisor, as one ratio of integers.
        exact = (base[0] * rate_numerator * days, base[1] * rate_denominator * 100 * divisor)
        if compound_monthly:
            since_capitalised = _plus(since_capitalised, exact)
        previous = raw[-1] if raw else None
        if previous and previous[2] == rate and previous[3][0] * base[1] == base[0] * previous[3][1]:
            raw[-1] = (previous[0], last, rate, previous[3], _plus(previous[4], exact))
        else:
            raw.append((first, last, rate, base, exact))

    # Each period shows its share of the once-rounded total: the rounded running sum less the
    # rounded running sum before it. The shares add up to the total and each is within one minor
    # unit of its exact value, so the table a customer reads sums to what is claimed.
    scale = 10 ** exponent(currency)
    periods = []
    running: _Ratio = (0, 1)
    shown = 0
    for first, last, rate, base, exact in raw:
        running = _plus(running, exact)
        rounded = _round_minor(running, currency)
        periods.append(
            InterestPeriod(
                first,
                last,
                rate,
                Fraction(base[0], base[1] * scale),
                Fraction(exact[0], exact[1] * scale),
                rounded - shown,
            )
        )
        shown = rounded

    compensation = 0
    if owed_at_start > 0:
        compensation = compensation_minor(
            rule=rule, currency=currency, debt_minor=owed_at_start, eu_amounts=eu_compensation
        )
    return InterestResult(
        principal_minor=principal_minor,
        currency=currency,
        rule=rule,
        due_date=due_date,
        until_date=until_date,
        periods=tuple(periods),
        exact=Fraction(running[0], running[1] * scale),
        interest_minor=shown,
        compensation_minor=compensation,
    )


# --- the fast path: one rate on the whole principal -------------------------------------------
#
# Most late invoices in a dunning run have no payment yet and a rate that does not change during
# the delay. Their interest is a single product, principal x rate x days / (100 x day count), and
# the general computation's Fractions, Decimals and period bookkeeping cost far more than that
# product. interest_simple computes exactly the same result (the same rounding, the same evidence
# text) in integers, and declines (returns None) whenever the general computation is needed.


def _half_up(numerator: int, denominator: int) -> int:
    """Return numerator / denominator (denominator > 0) rounded half away from zero, as ROUND_HALF_UP."""
    if numerator >= 0:
        return (2 * numerator + denominator) // (2 * denominator)
    return -((-2 * numerator + denominator) // (2 * denominator))


_MINOR_FORMATS = {places: f"%s%d.%0{places}d" for places in range(1, 10)}


def minor_text(minor: int, places: int) -> str:
    """Return integer minor units as format_minor writes them ("1234.50", "-0.05", "1000" for JPY)."""
    if places == 0:
        return str(minor)
    whole, fraction = divmod(abs(minor), 10**places)
    return _MINOR_FORMATS[places] % ("-" if minor < 0 else "", whole, fraction)


def _cut_text(numerator: int, denominator: int, places: int) -> str:
    """Return a non-negative ratio as decimal text cut to ``places``, as decimal_text writes it."""
    whole, fraction = divmod(numerator * 10**places // denominator, 10**places)
    return f"{whole}.{fraction:0{places}d}"


_JSON_STRINGS: dict[str, str] = {}


def _json_string(text: str) -> str:
    quoted = _JSON_STRINGS.get(text)
    if quoted is None:
        quoted = _JSON_STRINGS[text] = json.dumps(text)
    return quoted


class SimpleInterest(NamedTuple):
    """Interest at one rate on the whole principal for the whole delay, in integers.

    ``exact_numerator / exact_denominator`` is the unrounded interest in minor units. ``detail()``
    is identical to ``InterestResult.detail()`` for the same debt, so a charge's evidence does not
    depend on which path computed it.
    """

    principal_minor: int
    currency: str
    places: int
    rule: str
    due_date: date
    until_date: date
    start: date
    annual_rate: str  # as rate_text writes it
    exact_numerator: int
    exact_denominator: int
    interest_minor: int
    compensation_minor: int
    # The dates as ISO text, made once per due date rather than once per invoice.
    texts: tuple[str, str, str] = ("", "", "")  # start, until, due date

    @property
    def days(self) -> int:
        return (self.until_date - self.start).days + 1

    def _texts(self) -> tuple[str, str, str]:
        return self.start.isoformat(), self.until_date.isoformat(), self.due_date.isoformat()

    def detail(self) -> dict[str, Any]:
        places = self.places
        interest = minor_text(self.interest_minor, places)
        return {
            "principal": minor_text(self.principal_minor, places),
            "currency": self.currency,
            "rule": self.rule,
            "periods": [
                {
                    "from": self.start.isoformat(),
                    "to": self.until_date.isoformat(),
                    "days": self.days,
                    "annual_rate": self.annual_rate,
                    "interest": interest,
                    "base": _cut_text(self.principal_minor, 10**places, places + 4),
                }
            ],
            "interest": interest,
            "compensation": minor_text(self.compensation_minor, places),
            "total": minor_text(self.interest_minor + self.compensation_minor, places),
            "due_date": self.due_date.isoformat(),
            "until": self.until_date.isoformat(),
            "exact_interest": _cut_text(self.exact_numerator, self.exact_denominator * 10**places, 10),
        }

    def detail_json(self, **extra: str) -> str:
        """Return ``json.dumps({**self.detail(), **extra})``, written directly: a run writes many."""
        places = self.places
        principal = minor_text(self.principal_minor, places)
        interest = minor_text(self.interest_minor, places)
        compensation = self.compensation_minor
        start, until, due = self.texts if self.texts[0] else self._texts()
        text = (
            f'{{"principal": "{principal}", '
            f'"currency": {_json_string(self.currency)}, "rule": {_json_string(self.rule)}, '
            f'"periods": [{{"from": "{start}", "to": "{until}", "days": {self.days}, '
            f'"annual_rate": "{self.annual_rate}", "interest": "{interest}", '
            # the principal cut to four more places: its own digits and four zeros
            f'"base": "{principal}{"0000" if places else ".0000"}"}}], '
            f'"interest": "{interest}", "compensation": "{minor_text(compensation, places)}", '
            f'"total": "{minor_text(self.interest_minor + compensation, places) if compensation else interest}", '
            f'"due_date": "{due}", "until": "{until}", '
            f'"exact_interest": "{_cut_text(self.exact_numerator, self.exact_denominator * 10**places, 10)}"'
        )
        for key, value in extra.items():
            text += f", {_json_string(key)}: {_json_string(value)}"
        return text + "}"


# start, the rate as text, the exact interest per minor unit of principal as a ratio, the date texts
_Plan = tuple[date, str, int, int, tuple[str, str, str]]
_CURRENCY_PLACES: dict[str, tuple[str, int]] = {}


def _simple_plan(
    *,
    due_date: date,
    until_date: date,
    rule: str,
    rates: RateTable,
    contract_rate: Decimal | None,
    lpr_markup: Decimal | None,
    country: str,
    eu_margins: Mapping[str, Decimal] | None,
    day_count: str,
    grace_days: int,
) -> _Plan | None:
    if rule not in RULES or rule == RULE_NONE or day_count not in DAY_COUNTS or grace_days < 0:
        return None
    start = due_date + timedelta(days=grace_days + 1)
    if until_date < start:
        return None
    breach = due_date + timedelta(days=1)
    divisor = DAY_COUNTS[day_count]
    if rule == RULE_CONTRACT:
        if contract_rate is None or contract_rate < 0:
            return None
        rate = Decimal(contract_rate)
    elif rule == RULE_UK:
        rate = rate_in_force(rates, SERIES_BOE, uk_reference_date(breach)) + UK_MARGIN
        divisor = 365
    elif rule == RULE_EU:
        margin = eu_margin(country, eu_margins)
        rate = rate_in_force(rates, SERIES_ECB, half_year_start(start)) + margin
        for change in _half_year_starts(start, until_date):
            if rate_in_force(rates, SERIES_ECB, change) + margin != rate:
                return None
    elif rule == RULE_CN_LPR:
        markup = DEFAULT_LPR_MARKUP if lpr_markup is None else lpr_markup
        if markup < 0:
            return None
        rate = rate_in_force(rates, SERIES_LPR, breach) * (1 + markup)
    else:  # RULE_CN_SME
        rate = CN_SME_DAILY_PERCENT * 365
        divisor = 365
    if not rate.is_finite() or rate < 0:  # a negative rate: rare enough for the general computation
        return None
    rate_numerator, rate_denominator = rate.as_integer_ratio()
    days = (until_date - start).days + 1
    texts = (start.isoformat(), until_date.isoformat(), due_date.isoformat())
    return start, rate_text(rate), rate_numerator * days, rate_denominator * 100 * divisor, texts


def interest_simple(
    *,
    principal_minor: int,
    currency: str,
    due_date: date,
    until_date: date,
    rule: str,
    rates: RateTable | None = None,
    contract_rate: Decimal | None = None,
    lpr_markup: Decimal | None = None,
    country: str = "",
    eu_margins: Mapping[str, Decimal] | None = None,
    eu_compensation: Mapping[str, Decimal] | None = None,
    day_count: str = ACT_365,
    grace_days: int = 0,
    memo: dict[Any, Any] | None = None,
) -> SimpleInterest | None:
    """Return the interest of a debt with no payments and no compounding when one rate covers it all.

    The result equals :func:`interest_compute` for the same arguments (without ``payments`` and
    ``compound_monthly``). Returns None, so that the caller uses interest_compute, when the rule's
    rate changes during the delay (EU half-years with different rates), when nothing is late yet,
    and for any input interest_compute would refuse; raises RateMissing as interest_compute does.

    ``memo`` is a dict the caller keeps while ``rates`` and ``eu_margins`` stay the same: invoices
    that share terms, due date and until date then share the rate lookup.
    """
    if principal_minor < 0:
        return None
    known = _CURRENCY_PLACES.get(currency)
    if known is None:
        try:
            known = _CURRENCY_PLACES[currency] = (normalise_currency(currency), exponent(currency))
        except ValueError:
            return None
    code, places = known
    key = (rule, contract_rate, lpr_markup, country, day_count, grace_days, due_date, until_date)
    if memo is not None and key in memo:
        plan = memo[key]
    else:
        plan = _simple_plan(
            due_date=due_date,
            until_date=until_date,
            rule=rule,
            rates=rates or {},
            contract_rate=contract_rate,
            lpr_markup=lpr_markup,
            country=country,
            eu_margins=eu_margins,
            day_count=day_count,
            grace_days=grace_days,
        )
        if memo is not None:
            memo[key] = plan
    if plan is None:
        return None
    start, rate, per_minor, denominator, texts = plan
    numerator = principal_minor * per_minor
    compensation = 0
    if principal_minor > 0 and rule in (RULE_UK, RULE_EU):
        compensation = compensation_minor(
            rule=rule, currency=code, debt_minor=principal_minor, eu_amounts=eu_compensation
        )
    return SimpleInterest(
        principal_minor,
        code,
        places,
        rule,
        due_date,
        until_date,
        start,
        rate,
        numerator,
        denominator,
        _half_up(numerator, denominator),
        compensation,
        texts,
    )
