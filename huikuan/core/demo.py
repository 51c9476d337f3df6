"""A realistic demo portfolio: customers, 18 months of invoices, and payers that behave like real ones.

The portfolio is planned in plain Python first (:func:`demo_portfolio_plan`, no database, one
``random.Random(seed)``) so that the same seed always gives the same books; the plan replays
payments through the ledger's own allocation rule (:mod:`huikuan.ledger.allocation`) and then
:func:`demo_portfolio_build` writes it with set-based bulk inserts and lets the ledger services
recompute every derived balance. Payer behaviours:

- ``prompt``: pays each invoice around its due date;
- ``slow``: pays 30-90 days late, several invoices at a time;
- ``partial``: pays 80-95 % of the invoices it names (short payments), settling some later;
- ``disputing``: gets credit notes on some invoices and leaves others open for a long time;
- ``silent``: paid late for a while, then stopped paying altogether.
"""

from __future__ import annotations

import itertools
import random
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from time import perf_counter
from typing import Any, TypeVar

from django.contrib.auth import get_user_model
from django.db import transaction

from huikuan.core.money import exponent
from huikuan.customers.models import Channel, Contact, ContactRole, Customer, CustomerStatus
from huikuan.ledger.allocation import OpenItem, allocation_order, plan_allocation
from huikuan.ledger.models import (
    AdjustmentKind,
    Allocation,
    Invoice,
    InvoiceAdjustment,
    InvoiceStatus,
    Payment,
    PaymentMethod,
    ShortPayment,
)
from huikuan.ledger.services import invoice_balances_refresh, payment_balances_refresh

T = TypeVar("T")

DEMO_TAG = "demo"
DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo"
DEMO_MANAGER = "manager"
# The demo runs dunning this many times, a week apart, up to its date: customers climb the ladder.
DEMO_RUNS = 8
DEMO_RUN_EVERY_DAYS = 7
DEMO_ADMIN = "admin"
HISTORY_MONTHS = 18
BEHAVIOURS = ("prompt", "slow", "partial", "disputing", "silent")

# (username, first name, last name, e-mail): the collectors customers are assigned to.
COLLECTORS = (
    ("alice", "Alice", "Chen", "alice@example.com"),
    ("bob", "Bob", "Li", "bob@example.com"),
    ("wangfang", "芳", "王", "wangfang@example.cn"),
)

# --- word lists ----------------------------------------------------------------------------

CN_CITIES = (
    "上海 北京 深圳 广州 苏州 杭州 宁波 无锡 东莞 佛山 天津 重庆 成都 武汉 南京 青岛 厦门 合肥 长沙 郑州 "
    "常州 温州 嘉兴 绍兴 昆山 中山 珠海 泉州 济南 西安"
).split()
CN_BRANDS = (
    "华东 恒信 永泰 鑫达 瑞丰 宏远 金桥 博通 众诚 天成 中联 新锐 国泰 凯盛 利华 海纳 正泰 德信 盛世 远航 "
    "华宇 新兴 嘉禾 联创 汇丰 长城 东方 宝利 兴业 恒通 立信 万达 启明 精诚 顺发 和信"
).split()
CN_TRADES = (
    "机电设备 精密机械 电子科技 化工材料 汽车零部件 包装材料 医疗器械 建材 物流 纺织品 食品 环保科技 "
    "新能源 五金制品 塑胶制品 光电科技 自动化设备 电气 钢结构 印刷"
).split()
CN_SUFFIXES = ("有限公司", "有限公司", "有限公司", "股份有限公司", "实业有限公司")
CN_REGION_CODES = ("310115", "110105", "440300", "440106", "320505", "330106", "330203", "320214")

EN_FIRST = (
    "Northwind Bluewater Summit Redwood Silverline Harbor Crestview Ironbridge Oakridge Pinnacle "
    "Brightstone Meridian Evergreen Atlas Keystone Lakeside Granite Westfield Falcon Horizon Riverside "
    "Sterling Beacon Cobalt"
).split()
EN_TRADES = (
    "Components Industrial Trading Electronics Logistics Precision Materials Systems Supplies "
    "Packaging Machinery Instruments"
).split()
EN_SUFFIXES = {
    "HK": ("Limited", "Trading Co., Ltd."),
    "SG": ("Pte. Ltd.",),
    "US": ("Inc.", "LLC", "Corp."),
    "DE": ("GmbH", "AG"),
    "GB": ("Ltd", "plc"),
}

CN_SURNAMES = "王 李 张 刘 陈 杨 黄 赵 周 吴 徐 孙 马 朱 胡 郭 何 林 高 罗".split()
CN_GIVEN = "伟 芳 娜 敏 静 丽 强 磊 军 洋 勇 艳 杰 娟 涛 明 超 秀英 海燕 建华 晓东 丽华".split()
EN_GIVEN = "James Emma Oliver Sophie Daniel Hannah Lukas Anna Michael Sarah Wei Grace Thomas Chloe".split()
EN_FAMILY = "Smith Brown Mueller Schmidt Taylor Wilson Tan Lim Chan Wong Johnson Clark Fischer Evans".split()

CN_GOODS = ("货款", "设备款", "配件款", "加工费", "服务费", "材料款")
EN_GOODS = ("Goods", "Spare parts", "Machining services", "Equipment", "Materials", "Maintenance")
DISPUTE_REASONS = (
    "价格差异 / price difference",
    "质量问题 / quality complaint",
    "少发货 / short delivery",
    "运输损坏 / damaged in transit",
)

# Country -> (weight, [(currency, weight), ...]). Mostly CNY, some USD/EUR/HKD/JPY.
COUNTRIES = {
    "CN": (70, (("CNY", 92), ("USD", 4), ("JPY", 4))),
    "HK": (8, (("HKD", 60), ("CNY", 20), ("USD", 20))),
    "SG": (5, (("USD", 100),)),
    "US": (8, (("USD", 100),)),
    "DE": (5, (("EUR", 100),)),
    "GB": (4, (("EUR", 50), ("USD", 50))),
}
# Typical invoice size in major units per currency (log-uniform between the two).
INVOICE_SIZE = {
    "CNY": (3_000, 400_000),
    "USD": (800, 60_000),
    "EUR": (800, 50_000),
    "HKD": (5_000, 400_000),
    "JPY": (100_000, 8_000_000),
}
# The first customers: one of each behaviour, in several countries and currencies.
SHOWCASE = (
    ("CN", "CNY"),
    ("US", "USD"),
    ("CN", "CNY"),
    ("DE", "EUR"),
    ("HK", "HKD"),
    ("CN", "JPY"),
    ("CN", "CNY"),
)
BEHAVIOUR_WEIGHTS = (("prompt", 40), ("slow", 25), ("partial", 15), ("disputing", 10), ("silent", 10))
GRADES = {
    "prompt": (("A", 60), ("B", 40)),
    "slow": (("B", 50), ("C", 50)),
    "partial": (("B", 40), ("C", 60)),
    "disputing": (("B", 30), ("C", 70)),
    "silent": (("C", 30), ("D", 70)),
}
SILENT_STATUSES = ((CustomerStatus.HOLD, 50), (CustomerStatus.LEGAL, 20), (CustomerStatus.ACTIVE, 30))
MONTHLY_INVOICES = ((1, 15), (2, 25), (3, 25), (4, 15), (6, 12), (10, 8))
TERMS_DAYS = ((30, 35), (45, 20), (60, 30), (90, 15))

_TAX_ID_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_TAX_ID_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


# --- the plan (pure) -----------------------------------------------------------------------


@dataclass
class PlannedContact:
    role: str
    name: str
    email: str
    phone: str
    preferred_channel: str
    preferred_hours: str
    language: str
    is_primary: bool


@dataclass
class PlannedCustomer:
    code: str
    name: str
    legal_name: str
    tax_id: str
    country: str
    language: str
    currency: str
    payment_terms_days: int
    credit_limit_minor: int
    grade: str
    status: str
    collector: str | None
    behaviour: str
    contacts: list[PlannedContact] = field(default_factory=list)


@dataclass
class PlannedInvoice:
    number: str
    customer_code: str
    issue_date: date
    due_date: date
    currency: str
    amount_minor: int
    description: str
    po_number: str
    open_minor: int = 0  # after every event up to the as-of date


@dataclass
class PlannedPayment:
    external_id: str
    customer_code: str
    received_date: date
    currency: str
    amount_minor: int
    method: str
    reference: str
    payer_name: str
    invoice_numbers: tuple[str, ...] = ()  # quoted with the payment (remittance advice)
    allocations: list[tuple[str, int]] = field(default_factory=list)  # (invoice number, minor)
    shorts: list[tuple[str, int]] = field(default_factory=list)  # (invoice number, still open)


@dataclass
class PlannedAdjustment:
    invoice_number: str
    kind: str
    amount_minor: int
    adjustment_date: date
    reason: str
    reference: str


@dataclass
class DemoPlan:
    as_of: date
    customers: list[PlannedCustomer]
    invoices: list[PlannedInvoice]
    payments: list[PlannedPayment]
    adjustments: list[PlannedAdjustment]


@dataclass(frozen=True)
class DemoSummary:
    """What the demo wrote, for the command to print and tests to check."""

    as_of: date
    first_issue_date: date
    customers: int
    contacts: int
    invoices: int
    payments: int
    allocations: int
    adjustments: int
    short_payments: int
    seconds: float


def _weighted(rng: random.Random, pairs: Sequence[tuple[T, int]]) -> T:
    values = [value for value, _weight in pairs]
    return rng.choices(values, weights=[weight for _value, weight in pairs])[0]


def _months_before(day: date, months: int) -> date:
    """Return the same day ``months`` months earlier (clamped to the month's last day)."""
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    month += 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def _weekday_on_or_after(day: date) -> date:
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def _cn_tax_id(rng: random.Random) -> str:
    """Return a well-formed 统一社会信用代码 (18 characters with its GB 32100 check character)."""
    body = "91" + rng.choice(CN_REGION_CODES) + "".join(rng.choice(_TAX_ID_CHARS) for _ in range(9))
    total = sum(
        _TAX_ID_CHARS.index(char) * weight for char, weight in zip(body, _TAX_ID_WEIGHTS, strict=True)
    )
    return body + _TAX_ID_CHARS[(31 - total % 31) % 31]


def _tax_id(rng: random.Random, country: str) -> str:
    if country == "CN":
        return _cn_tax_id(rng)
    if country in {"DE", "GB"}:
        return country + "".join(rng.choice("0123456789") for _ in range(9))
    if country == "SG":
        return f"20{rng.randint(10, 23)}{rng.randint(10000, 99999)}{rng.choice('KMNRWZ')}"
    return ""


def _company_name(rng: random.Random, country: str, used: set[str]) -> str:
    for _attempt in range(1000):
        if country == "CN":
            name = (
                rng.choice(CN_CITIES)
                + rng.choice(CN_BRANDS)
                + rng.choice(CN_TRADES)
                + rng.choice(CN_SUFFIXES)
            )
        else:
            name = f"{rng.choice(EN_FIRST)} {rng.choice(EN_TRADES)} {rng.choice(EN_SUFFIXES[country])}"
        if name not in used:
            used.add(name)
            return name
    raise RuntimeError("ran out of demo company names")


def _contacts(rng: random.Random, *, code: str, country: str) -> list[PlannedContact]:
    domain = f"{code.lower()}.example.{'cn' if country == 'CN' else 'com'}"
    contacts = []
    for role, primary in ((ContactRole.FINANCE, True), (ContactRole.BUSINESS, False)):
        if country == "CN":
            name = rng.choice(CN_SURNAMES) + rng.choice(CN_GIVEN)
            phone = f"+86 1{rng.choice('3578')}{rng.randint(0, 9)} {rng.randint(1000, 9999)} {rng.randint(1000, 9999)}"
            local = "caiwu" if role == ContactRole.FINANCE else "sales"
            language = "zh-hans"
        else:
            given, family = rng.choice(EN_GIVEN), rng.choice(EN_FAMILY)
            name = f"{given} {family}"
            prefix = {"HK": "+852", "SG": "+65", "US": "+1", "DE": "+49", "GB": "+44"}[country]
            phone = f"{prefix} {rng.randint(200, 999)} {rng.randint(1000, 9999)}"
            local = f"{given}.{family}".lower()
            language = "en"
        contacts.append(
            PlannedContact(
                role=role,
                name=name,
                email=f"{local}@{domain}",
                phone=phone,
                preferred_channel=str(
                    _weighted(rng, ((Channel.EMAIL, 70), (Channel.PHONE, 25), (Channel.SMS, 5)))
                ),
                preferred_hours=rng.choice(("09:00-11:30", "09:30-12:00", "14:00-17:00")),
                language=language,
                is_primary=primary,
            )
        )
    return contacts


def _plan_customers(rng: random.Random, count: int) -> list[PlannedCustomer]:
    used: set[str] = set()
    country_pairs = tuple((country, weight) for country, (weight, _c) in COUNTRIES.items())
    customers = []
    for n in range(1, count + 1):
        code = f"C{n:04d}"
        country = str(_weighted(rng, country_pairs))
        currency = str(_weighted(rng, COUNTRIES[country][1]))
        behaviour = str(_weighted(rng, BEHAVIOUR_WEIGHTS))
        if n <= len(SHOWCASE):  # even a small demo shows every behaviour and several currencies
            country, currency = SHOWCASE[n - 1]
            behaviour = BEHAVIOURS[(n - 1) % len(BEHAVIOURS)]
        terms = _weighted(rng, TERMS_DAYS)
        low, high = INVOICE_SIZE[currency]
        monthly_major = int(rng.uniform(low, high) * 3)
        status: str = CustomerStatus.ACTIVE
        if behaviour == "silent":
            status = _weighted(rng, SILENT_STATUSES)
        name = _company_name(rng, country, used)
        customers.append(
            PlannedCustomer(
                code=code,
                name=name,
                legal_name=name,
                tax_id=_tax_id(rng, country),
                country=country,
                language="zh-hans" if country == "CN" else "en",
                currency=currency,
                payment_terms_days=terms,
                credit_limit_minor=int(round(monthly_major * terms / 30, -3)) * 10 ** exponent(currency),
                grade=str(_weighted(rng, GRADES[behaviour])),
                status=str(status),
                collector=None if rng.random() < 0.1 else rng.choice(COLLECTORS)[0],
                behaviour=behaviour,
                contacts=_contacts(rng, code=code, country=country),
            )
        )
    return customers


def _month_starts(first: date, last: date) -> Iterator[date]:
    month = first.replace(day=1)
    while month <= last:
        yield month
        month = (month + timedelta(days=32)).replace(day=1)


def _plan_invoices(
    rng: random.Random, customers: list[PlannedCustomer], *, first: date, as_of: date
) -> tuple[list[PlannedInvoice], dict[str, date]]:
    """Return every invoice (numbered in issue order, like an ERP would) and when silent payers stop."""
    drafts: list[tuple[date, int, PlannedInvoice]] = []
    stops: dict[str, date] = {}
    for position, customer in enumerate(customers):
        rate = _weighted(rng, MONTHLY_INVOICES)
        low, high = INVOICE_SIZE[customer.currency]
        size = rng.uniform(low, high)
        places = exponent(customer.currency)
        last_issue = as_of
        if customer.behaviour == "silent":
            stops[customer.code] = as_of - timedelta(days=rng.randint(90, 200))
            # No new deal until the old bill is settled: deliveries stop a while after payments do.
            last_issue = min(as_of, stops[customer.code] + timedelta(days=rng.randint(30, 75)))
        goods = CN_GOODS if customer.country == "CN" else EN_GOODS
        for month in _month_starts(first, last_issue):
            count = max(0, round(rng.gauss(rate, rate * 0.35)))
            for _ in range(count):
                issue = _weekday_on_or_after(month + timedelta(days=rng.randint(0, 27)))
                if issue < first or issue > last_issue:
                    continue
                major = max(1, int(size * rng.lognormvariate(0, 0.55)))
                minor = major * 10**places + (rng.randrange(10**places) if places else 0)
                invoice = PlannedInvoice(
                    number="",
                    customer_code=customer.code,
                    issue_date=issue,
                    due_date=issue + timedelta(days=customer.payment_terms_days),
                    currency=customer.currency,
                    amount_minor=minor,
                    description=rng.choice(goods),
                    po_number=f"PO{issue:%y%m}{rng.randint(1000, 9999)}",
                )
                drafts.append((issue, position, invoice))
    drafts.sort(key=lambda row: (row[0], row[1]))
    sequence: dict[int, Iterator[int]] = defaultdict(lambda: itertools.count(1))
    invoices = []
    for issue, _position, invoice in drafts:
        invoice.number = f"INV-{issue:%Y%m}-{next(sequence[issue.year * 100 + issue.month]):05d}"
        invoice.open_minor = invoice.amount_minor
        invoices.append(invoice)
    return invoices, stops


# An event: (date, order within the day, tiebreak, kind, payload). Adjustments come before payments.
_Event = tuple[date, int, int, str, tuple]


def _events_for(
    rng: random.Random, customer: PlannedCustomer, invoices: list[PlannedInvoice], stop: date | None
) -> list[_Event]:
    """Return what the customer does about each invoice: pay, short-pay, dispute, go silent."""
    events: list[_Event] = []
    tiebreak = itertools.count()
    batches: dict[date, list[str]] = defaultdict(list)

    def pay(on: date, numbers: list[str], share: int = 10_000, named: bool = True) -> None:
        events.append((_weekday_on_or_after(on), 1, next(tiebreak), "pay", (tuple(numbers), share, named)))

    for invoice in invoices:
        due, number = invoice.due_date, invoice.number
        if rng.random() < 0.004:  # issued in error, cancelled within days
            events.append(
                (
                    invoice.issue_date + timedelta(days=rng.randint(2, 10)),
                    0,
                    next(tiebreak),
                    "cancel",
                    (number,),
                )
            )
            continue
        behaviour = customer.behaviour
        if behaviour == "prompt":
            pay(due + timedelta(days=rng.randint(-7, 5)), [number], named=rng.random() < 0.85)
        elif behaviour == "slow" or (behaviour == "silent" and stop is not None):
            intended = due + timedelta(
                days=rng.randint(30, 90) if behaviour == "slow" else rng.randint(15, 60)
            )
            if stop is not None and intended > stop:
                if rng.random() < 0.3:  # given up on some months later
                    write_off = due + timedelta(days=rng.randint(120, 180))
                    events.append((write_off, 0, next(tiebreak), "write_off", (number,)))
                continue  # the silent customer never pays it
            batches[intended.replace(day=25)].append(number)
        elif behaviour == "partial":
            on = due + timedelta(days=rng.randint(0, 20))
            if rng.random() < 0.45:
                pay(on, [number], share=rng.randint(8000, 9500))
                if rng.random() < 0.4:
                    pay(on + timedelta(days=rng.randint(30, 75)), [number])
            else:
                pay(on, [number])
        else:  # disputing
            if rng.random() < 0.25:
                raised = due + timedelta(days=rng.randint(15, 60))
                share = rng.randint(500, 3000)
                reason = rng.choice(DISPUTE_REASONS)
                events.append((raised, 0, next(tiebreak), "credit", (number, share, reason)))
                if rng.random() < 0.6:
                    pay(raised + timedelta(days=rng.randint(10, 40)), [number])
            elif rng.random() < 0.12:
                continue  # disputed and left open: nothing agreed yet
            else:
                pay(due + timedelta(days=rng.randint(5, 40)), [number])
    for on, numbers in sorted(batches.items()):
        pay(on, numbers, named=rng.random() < 0.8)
    return events


def _replay(
    rng: random.Random,
    customer: PlannedCustomer,
    invoices: list[PlannedInvoice],
    events: list[_Event],
    *,
    as_of: date,
    payment_numbers: Iterator[int],
) -> tuple[list[PlannedPayment], list[PlannedAdjustment]]:
    """Apply the customer's events in date order with the ledger's allocation rule."""
    by_number = {invoice.number: invoice for invoice in invoices}
    payments: list[PlannedPayment] = []
    adjustments: list[PlannedAdjustment] = []
    for on, _order, _tiebreak, kind, payload in sorted(events):
        if on > as_of:
            continue  # has not happened yet
        if kind in {"credit", "write_off", "cancel"}:
            invoice = by_number[payload[0]]
            if kind == "credit":
                amount = min(invoice.open_minor, invoice.amount_minor * payload[1] // 10_000)
                reason, adjustment_kind, reference = (
                    payload[2],
                    AdjustmentKind.CREDIT_NOTE,
                    f"CN-{invoice.number[4:]}",
                )
            elif kind == "write_off":
                amount = invoice.open_minor
                reason, adjustment_kind, reference = "无法收回 / uncollectable", AdjustmentKind.WRITE_OFF, ""
            else:
                amount = invoice.open_minor if invoice.open_minor == invoice.amount_minor else 0
                reason, adjustment_kind, reference = (
                    "开票错误 / issued in error",
                    AdjustmentKind.CANCELLATION,
                    "",
                )
            if amount > 0:
                invoice.open_minor -= amount
                adjustments.append(
                    PlannedAdjustment(invoice.number, adjustment_kind, amount, on, reason, reference)
                )
            continue
        numbers, share, named = payload
        owed = [by_number[n] for n in numbers if by_number[n].open_minor > 0]
        amount = sum(invoice.open_minor * share // 10_000 for invoice in owed)
        if amount <= 0:
            continue
        if share == 10_000 and customer.behaviour == "prompt" and rng.random() < 0.03:
            step = 1000 * 10 ** exponent(customer.currency)
            # A round sum: the excess settles older items or stays on account.
            amount = -(-amount // step) * step
        # The same candidates and order as ledger.services.payment_allocate.
        candidates = [
            inv
            for inv in invoices
            if inv.open_minor > 0 and (inv.issue_date <= on or (named and inv.number in numbers))
        ]
        items = [
            OpenItem(key=inv.number, open_minor=inv.open_minor, due_date=inv.due_date) for inv in candidates
        ]
        plan = plan_allocation(amount, allocation_order(items, list(numbers) if named else []))
        for number, take in plan:
            by_number[number].open_minor -= take
        method = PaymentMethod.BANK_TRANSFER
        if customer.country == "CN" and rng.random() < 0.12:
            method = PaymentMethod.BANK_ACCEPTANCE_BILL
        elif customer.country in {"HK", "US"} and rng.random() < 0.08:
            method = PaymentMethod.CHEQUE
        serial = next(payment_numbers)
        payments.append(
            PlannedPayment(
                external_id=f"DEMO-{serial:06d}",
                customer_code=customer.code,
                received_date=on,
                currency=customer.currency,
                amount_minor=amount,
                method=method,
                reference=(
                    f"TT{on:%Y%m%d}{serial % 10_000:04d}" + (f" {' '.join(numbers)}" if named else "")
                )[:255],
                payer_name=customer.legal_name,
                invoice_numbers=tuple(numbers) if named else (),
                allocations=plan,
                shorts=[
                    (number, by_number[number].open_minor)
                    for number, _ in plan
                    if by_number[number].open_minor > 0
                ],
            )
        )
    return payments, adjustments


def demo_portfolio_plan(*, as_of: date, seed: int = 7, customers: int = 200) -> DemoPlan:
    """Plan the whole demo portfolio in memory; the same arguments always give the same plan."""
    rng = random.Random(seed)
    first = _months_before(as_of, HISTORY_MONTHS) + timedelta(days=1)
    planned_customers = _plan_customers(rng, customers)
    invoices, stops = _plan_invoices(rng, planned_customers, first=first, as_of=as_of)
    by_customer: dict[str, list[PlannedInvoice]] = defaultdict(list)
    for invoice in invoices:
        by_customer[invoice.customer_code].append(invoice)
    payments: list[PlannedPayment] = []
    adjustments: list[PlannedAdjustment] = []
    payment_numbers = itertools.count(1)
    for customer in planned_customers:
        own = by_customer[customer.code]
        events = _events_for(rng, customer, own, stops.get(customer.code))
        paid, adjusted = _replay(rng, customer, own, events, as_of=as_of, payment_numbers=payment_numbers)
        payments.extend(paid)
        adjustments.extend(adjusted)
    return DemoPlan(
        as_of=as_of,
        customers=planned_customers,
        invoices=invoices,
        payments=payments,
        adjustments=adjustments,
    )


# --- writing it (services) -----------------------------------------------------------------


def demo_customers():
    """Return the customers the demo created (tagged ``demo``)."""
    return Customer.objects.filter(tags__icontains=f'"{DEMO_TAG}"')


def demo_data_exists() -> bool:
    """Tell whether the database already holds a demo portfolio."""
    return demo_customers().exists()


@transaction.atomic
def demo_data_delete() -> int:
    """Delete the demo customers and everything recorded against them; other data stays.

    The demo bank account's statements go too, so that a new portfolio gets its month imported
    again; a line of another account that was matched to a demo customer goes back to unmatched.
    """
    from huikuan.banking.demo import DEMO_BANK_ACCOUNT_NAME, DEMO_BANK_IBAN
    from huikuan.banking.models import BankStatement, BankStatementLine, LineStatus
    from huikuan.collections.incentive_models import Incentive
    from huikuan.collections.legal_models import LegalHandover
    from huikuan.collections.models import Dispute, InstalmentPlan, Interaction, PromiseToPay, Task
    from huikuan.customers.models import Order
    from huikuan.dunning.models import Charge, DunningAction, DunningActionInvoice, DunningRun
    from huikuan.ledger.models import Statement
    from huikuan.messaging.models import OutboxMessage

    customer_ids = list(demo_customers().values_list("pk", flat=True))
    demo_account = {"account__name": DEMO_BANK_ACCOUNT_NAME, "account__account_number": DEMO_BANK_IBAN}
    BankStatementLine.objects.filter(**demo_account).delete()
    BankStatement.objects.filter(**demo_account).delete()
    BankStatementLine.objects.filter(customer_id__in=customer_ids).update(
        customer=None, payment=None, status=LineStatus.NEW, matched_at=None, matched_by=None
    )
    Incentive.objects.filter(customer_id__in=customer_ids).delete()
    LegalHandover.objects.filter(customer_id__in=customer_ids).delete()
    Order.objects.filter(customer_id__in=customer_ids).delete()
    Task.objects.filter(customer_id__in=customer_ids).delete()
    PromiseToPay.objects.filter(customer_id__in=customer_ids).delete()
    Dispute.objects.filter(invoice__customer_id__in=customer_ids).delete()
    InstalmentPlan.objects.filter(customer_id__in=customer_ids).delete()
    Interaction.objects.filter(customer_id__in=customer_ids).delete()
    Statement.objects.filter(customer_id__in=customer_ids).delete()
    OutboxMessage.objects.filter(customer_id__in=customer_ids).delete()
    Charge.objects.filter(customer_id__in=customer_ids).delete()
    DunningActionInvoice.objects.filter(action__customer_id__in=customer_ids).delete()
    DunningAction.objects.filter(customer_id__in=customer_ids).delete()
    ShortPayment.objects.filter(invoice__customer_id__in=customer_ids).delete()
    Allocation.objects.filter(invoice__customer_id__in=customer_ids, reverses__isnull=False).delete()
    Allocation.objects.filter(invoice__customer_id__in=customer_ids).delete()
    Allocation.objects.filter(payment__customer_id__in=customer_ids).delete()
    InvoiceAdjustment.objects.filter(invoice__customer_id__in=customer_ids).delete()
    Invoice.objects.filter(customer_id__in=customer_ids).delete()
    Payment.objects.filter(customer_id__in=customer_ids).delete()
    Contact.objects.filter(customer_id__in=customer_ids).delete()
    deleted, _ = Customer.objects.filter(pk__in=customer_ids).delete()
    if not Customer.objects.exists():
        # Only the demo was here: its run log goes too, so the new portfolio's days are run again.
        DunningRun.objects.all().delete()
    return deleted


def demo_collectors_ensure() -> dict[str, Any]:
    """Create the demo collectors (alice, bob, wangfang) if missing; they cannot log in."""
    user_model = get_user_model()
    users = {}
    for username, first_name, last_name, email in COLLECTORS:
        user, created = user_model.objects.get_or_create(
            username=username, defaults={"first_name": first_name, "last_name": last_name, "email": email}
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        users[username] = user
    return users


def _login_ensure(*, username: str, password: str, name: tuple[str, str], superuser: bool = False):
    user_model = get_user_model()
    user, _created = user_model.objects.get_or_create(
        username=username,
        defaults={"email": f"{username}@example.com", "first_name": name[0], "last_name": name[1]},
    )
    user.is_staff = superuser
    user.is_superuser = superuser
    user.is_active = True
    if not user.check_password(password):  # keeps existing sessions valid on a re-run
        user.set_password(password)
    user.save()
    return user


def demo_login_ensure(*, username: str = DEMO_USERNAME, password: str = DEMO_PASSWORD):
    """Create (or reset) the demo logins, all with the demo password, and give everyone a role.

    ``demo`` is a collector (a superuser too, so that the admin works); ``manager`` is a manager
    who sees every customer and may look at other dates; ``admin`` administers users. The
    collectors the portfolio is assigned to (alice, bob, wangfang) get the collector role.
    """
    from huikuan.accounts.models import Role
    from huikuan.accounts.services import user_set_role

    admin = _login_ensure(username=DEMO_ADMIN, password=password, name=("Admin", ""), superuser=True)
    user_set_role(user=admin, role=Role.ADMIN)
    manager = _login_ensure(username=DEMO_MANAGER, password=password, name=("Mia", "Manager"))
    user_set_role(user=manager, role=Role.MANAGER)
    user = _login_ensure(username=username, password=password, name=("Demo", "Collector"), superuser=True)
    user_set_role(user=user, role=Role.COLLECTOR)
    for collector in demo_collectors_ensure().values():
        user_set_role(user=collector, role=Role.COLLECTOR)
    return user


def demo_customers_assign(*, collector: Any) -> int:
    """Give the demo collector every fourth demo customer (by code) that has a collector, so that
    its worklist holds every kind of payer; the others keep theirs. Returns how many it has."""
    codes = list(
        demo_customers().filter(collector__isnull=False).order_by("code").values_list("code", flat=True)
    )
    mine = codes[::4]
    Customer.objects.filter(code__in=mine).update(collector=collector)
    return len(mine)


def demo_moment(day: date, hour: int) -> Any:
    from django.utils import timezone

    return timezone.make_aware(datetime.combine(day, time(hour, 0)))


@transaction.atomic
def demo_collections_seed(*, collector: Any, as_of: date) -> dict[str, int]:
    """Give the demo collector's customers a history of collections work, through the services:
    calls and visits, a promise due today, one broken, a dispute, an instalment plan, follow-ups.

    Runs once: a database that already has promises for demo customers is left as it is. The
    day's review then marks the broken promise and turns short payments into tasks.
    """
    from huikuan.collections.models import PromiseMethod, PromiseToPay
    from huikuan.collections.services import dispute_open, interaction_log, plan_create, promise_create

    if PromiseToPay.objects.filter(customer__in=demo_customers()).exists():
        return {}
    overdue_rows = (
        Invoice.objects.filter(
            customer__collector=collector,
            customer__in=demo_customers(),
            open_minor__gt=0,
            settled_date__isnull=True,
            due_date__lt=as_of - timedelta(days=14),
        )
        .select_related("customer")
        .order_by("customer__code", "due_date", "number")
    )
    first_overdue: dict[str, Invoice] = {}
    for invoice in overdue_rows:
        if invoice.currency == invoice.customer.currency:
            first_overdue.setdefault(invoice.customer.code, invoice)
    invoices = list(first_overdue.values())
    made = {"interactions": 0, "promises": 0, "disputes": 0, "plans": 0}

    def contact_of(customer: Customer) -> Contact | None:
        return Contact.objects.filter(customer=customer).order_by("-is_primary", "id").first()

    def money(invoice: Invoice, share: int = 100) -> Any:
        from huikuan.core.money import Money

        return Money(max(1, invoice.open_minor * share // 100), invoice.currency)

    # A promise given on a call two weeks ago, due five days ago and not kept: the review breaks it.
    if invoices:
        invoice = invoices[0]
        call = interaction_log(
            customer=invoice.customer,
            user=collector,
            kind="CALL",
            occurred_at=demo_moment(as_of - timedelta(days=14), 10),
            outcome="PROMISED",
            notes="财务答应下周付清。 / Finance promised to pay in full next week.",
            contact=contact_of(invoice.customer),
        )
        promise_create(
            customer=invoice.customer,
            user=collector,
            amount=money(invoice),
            promised_date=as_of - timedelta(days=5),
            invoices=[invoice],
            promised_by=getattr(contact_of(invoice.customer), "name", ""),
            method=PromiseMethod.PHONE,
            if_broken="停止供货 / supply stops",
            grace_days=2,
            interaction=call,
            made_date=as_of - timedelta(days=14),
        )
        made["interactions"] += 1
        made["promises"] += 1
    # A promise due today.
    if len(invoices) > 1:
        invoice = invoices[1]
        promise_create(
            customer=invoice.customer,
            user=collector,
            amount=money(invoice, 50),
            promised_date=as_of,
            invoices=[invoice],
            promised_by=getattr(contact_of(invoice.customer), "name", ""),
            method=PromiseMethod.WRITTEN,
            if_broken="正式催款函 / a formal notice follows",
            made_date=as_of - timedelta(days=6),
        )
        made["promises"] += 1
    # A dispute raised three days ago: the invoice leaves dunning.
    if len(invoices) > 2:
        dispute_open(
            invoice=invoices[2],
            reason="QUALITY",
            opened_date=as_of - timedelta(days=3),
            user=collector,
            notes="客户称部分货物有质量问题。 / The customer reports a quality problem.",
        )
        made["disputes"] += 1
    # An instalment plan (分期付款) for a customer short of cash, starting next week.
    if len(invoices) > 3:
        plan_create(
            customer=invoices[3].customer,
            invoices=[invoices[3]],
            start_date=as_of + timedelta(days=7),
            count=3,
            grace_days=5,
            user=collector,
            notes="资金紧张，分三期。 / Short of cash: three instalments.",
        )
        made["plans"] += 1
    # A visit whose next step is today, and a call that reached nobody.
    if len(invoices) > 4:
        interaction_log(
            customer=invoices[4].customer,
            user=collector,
            kind="VISIT",
            occurred_at=demo_moment(as_of - timedelta(days=7), 9),
            outcome="ASKED_FOR_DOCUMENTS",
            notes="带合同和对账单上门；对方要求补发发票复印件。 / Visited with the contract; they asked for invoice copies.",
            next_action_date=as_of,
            contact=contact_of(invoices[4].customer),
        )
        made["interactions"] += 1
    for invoice in invoices[5:8]:
        interaction_log(
            customer=invoice.customer,
            user=collector,
            kind="CALL",
            occurred_at=demo_moment(as_of - timedelta(days=2), 11),
            outcome="NO_ANSWER",
            next_action_date=as_of,
        )
        made["interactions"] += 1
    return made


class DemoDataConflict(RuntimeError):
    """The database holds customers that are not demo data; the demo will not mix with them."""


@transaction.atomic
def demo_portfolio_build(*, as_of: date, seed: int = 7, customers: int = 200) -> DemoSummary:
    """Write the demo portfolio with bulk inserts, then recompute every derived balance set-based."""
    started = perf_counter()
    clash = Customer.objects.exclude(pk__in=demo_customers().values("pk"))
    if clash.exists():
        raise DemoDataConflict(
            f"the database already holds {clash.count()} customers that are not demo data; "
            "point HUIKUAN_HOME or HUIKUAN_DATABASE_URL at an empty database for the demo"
        )
    plan = demo_portfolio_plan(as_of=as_of, seed=seed, customers=customers)
    collectors = demo_collectors_ensure()
    Customer.objects.bulk_create(
        [
            Customer(
                code=c.code,
                name=c.name,
                legal_name=c.legal_name,
                tax_id=c.tax_id,
                country=c.country,
                language=c.language,
                currency=c.currency,
                payment_terms_days=c.payment_terms_days,
                credit_limit_minor=c.credit_limit_minor,
                grade=c.grade,
                status=c.status,
                collector=collectors[c.collector] if c.collector else None,
                tags=[DEMO_TAG, c.behaviour],
            )
            for c in plan.customers
        ],
        batch_size=500,
    )
    customer_ids = dict(demo_customers().values_list("code", "pk"))
    Contact.objects.bulk_create(
        [
            Contact(customer_id=customer_ids[c.code], **contact.__dict__)
            for c in plan.customers
            for contact in c.contacts
        ],
        batch_size=500,
    )
    Invoice.objects.bulk_create(
        [
            Invoice(
                number=i.number,
                customer_id=customer_ids[i.customer_code],
                issue_date=i.issue_date,
                due_date=i.due_date,
                currency=i.currency,
                amount_minor=i.amount_minor,
                open_minor=i.amount_minor,
                status=InvoiceStatus.OPEN,
                description=i.description,
                po_number=i.po_number,
            )
            for i in plan.invoices
        ],
        batch_size=1000,
    )
    own_invoices = Invoice.objects.filter(customer_id__in=customer_ids.values())
    invoice_ids = dict(own_invoices.values_list("number", "pk"))
    Payment.objects.bulk_create(
        [
            Payment(
                customer_id=customer_ids[p.customer_code],
                received_date=p.received_date,
                currency=p.currency,
                amount_minor=p.amount_minor,
                unapplied_minor=p.amount_minor,
                method=p.method,
                reference=p.reference,
                payer_name=p.payer_name,
                external_id=p.external_id,
            )
            for p in plan.payments
        ],
        batch_size=1000,
    )
    own_payments = Payment.objects.filter(customer_id__in=customer_ids.values())
    payment_ids = dict(own_payments.values_list("external_id", "pk"))
    allocations = [
        Allocation(
            payment_id=payment_ids[p.external_id],
            invoice_id=invoice_ids[number],
            amount_minor=amount,
            allocation_date=p.received_date,
        )
        for p in plan.payments
        for number, amount in p.allocations
    ]
    Allocation.objects.bulk_create(allocations, batch_size=2000)
    InvoiceAdjustment.objects.bulk_create(
        [
            InvoiceAdjustment(
                invoice_id=invoice_ids[a.invoice_number],
                kind=a.kind,
                amount_minor=a.amount_minor,
                adjustment_date=a.adjustment_date,
                reason=a.reason,
                reference=a.reference,
            )
            for a in plan.adjustments
        ],
        batch_size=1000,
    )
    shorts = [
        ShortPayment(
            payment_id=payment_ids[p.external_id],
            invoice_id=invoice_ids[number],
            currency=p.currency,
            short_minor=short,
            event_date=p.received_date,
        )
        for p in plan.payments
        for number, short in p.shorts
    ]
    ShortPayment.objects.bulk_create(shorts, batch_size=1000)
    invoice_balances_refresh(own_invoices)
    payment_balances_refresh(own_payments)
    return DemoSummary(
        as_of=as_of,
        first_issue_date=min((i.issue_date for i in plan.invoices), default=as_of),
        customers=len(plan.customers),
        contacts=sum(len(c.contacts) for c in plan.customers),
        invoices=len(plan.invoices),
        payments=len(plan.payments),
        allocations=len(allocations),
        adjustments=len(plan.adjustments),
        short_payments=len(shorts),
        seconds=perf_counter() - started,
    )
