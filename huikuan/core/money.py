"""Money: integer minor units in the database, an immutable (Decimal, currency) pair in Python.

Rounding happens in one place (:data:`ROUNDING`, half-up) and only when an amount is turned
into minor units. Amounts of different currencies are never added together.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

ROUNDING = ROUND_HALF_UP

# ISO 4217 minor-unit exponents. Currencies not listed under another exponent use 2.
_EXPONENT_0 = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_EXPONENT_3 = "BHD IQD JOD KWD LYD OMR TND"
_EXPONENT_4 = "CLF UYW"
_EXPONENT_2 = (
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP BYN "
    "BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP "
    "GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK "
    "LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK "
    "NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD "
    "SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS VED VES WST XCD YER "
    "ZAR ZMW ZWL"
)

CURRENCY_EXPONENTS: dict[str, int] = {
    **{code: 2 for code in _EXPONENT_2.split()},
    **{code: 0 for code in _EXPONENT_0.split()},
    **{code: 3 for code in _EXPONENT_3.split()},
    **{code: 4 for code in _EXPONENT_4.split()},
}


class UnknownCurrency(ValueError):
    """The code is not an ISO 4217 currency Huikuan knows."""


class CurrencyMismatch(ValueError):
    """Two amounts of different currencies were combined."""


class TooManyDecimals(ValueError):
    """An amount has more decimal places than its currency allows, and exact input was required."""


def normalise_currency(code: str) -> str:
    """Return the upper-case ISO code, or raise UnknownCurrency."""
    normalised = (code or "").strip().upper()
    if normalised not in CURRENCY_EXPONENTS:
        raise UnknownCurrency(f"unknown currency {code!r}")
    return normalised


def exponent(currency: str) -> int:
    """Return the number of decimal places the currency's minor unit has (JPY 0, CNY 2, KWD 3)."""
    return CURRENCY_EXPONENTS[normalise_currency(currency)]


def quantum(currency: str) -> Decimal:
    """Return the smallest amount of the currency as a Decimal (0.01 for CNY)."""
    return Decimal(1).scaleb(-exponent(currency))


def to_minor(amount: Decimal | int | str, currency: str, *, exact: bool = False) -> int:
    """Convert a major-unit amount to integer minor units, rounding half-up.

    With ``exact=True`` an amount that would need rounding raises TooManyDecimals instead.
    """
    try:
        value = amount if isinstance(amount, Decimal) else Decimal(str(amount))
    except InvalidOperation:
        raise ValueError(f"not an amount: {amount!r}")
    if not value.is_finite():
        raise ValueError(f"not an amount: {amount!r}")
    scaled = value.scaleb(exponent(currency))
    rounded = scaled.to_integral_value(rounding=ROUNDING)
    if exact and rounded != scaled:
        raise TooManyDecimals(f"{amount} has more than {exponent(currency)} decimal places for {currency}")
    return int(rounded)


def from_minor(minor: int, currency: str) -> Decimal:
    """Convert integer minor units to a Decimal with the currency's exact number of places."""
    return Decimal(int(minor)).scaleb(-exponent(currency))


def format_minor(minor: int, currency: str) -> str:
    """Return the plain decimal string used in JSON and CSV ("1234.50", "1000" for JPY)."""
    return f"{from_minor(minor, currency):f}"


@dataclass(frozen=True, slots=True)
class Money:
    """An exact amount in one currency, held as minor units so that it can never drift."""

    minor: int
    currency: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "currency", normalise_currency(self.currency))
        if isinstance(self.minor, bool) or not isinstance(self.minor, int):
            raise TypeError("Money.minor must be an int")

    @classmethod
    def of(cls, amount: Decimal | int | str, currency: str) -> Money:
        """Return Money for a major-unit amount, rounded half-up to the currency's minor unit."""
        return cls(to_minor(amount, currency), currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    @property
    def amount(self) -> Decimal:
        return from_minor(self.minor, self.currency)

    def _same_currency(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyMismatch(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.minor - other.minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.minor, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.minor < other.minor

    def __le__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.minor <= other.minor

    def __bool__(self) -> bool:
        return self.minor != 0

    def __str__(self) -> str:
        return f"{format_minor(self.minor, self.currency)} {self.currency}"

    def to_json(self) -> str:
        """Return the amount as a decimal string, the form every JSON contract uses."""
        return format_minor(self.minor, self.currency)


def sum_money(amounts: list[Money], currency: str) -> Money:
    """Add amounts that must all be in ``currency``."""
    total = Money.zero(currency)
    for item in amounts:
        total = total + item
    return total
