"""Benchmark bank matching: its speed at scale, and how right its automatic decisions are.

Both parts generate a portfolio and a month of bank credits with the noise real statements have,
each credit labelled with who paid and for which invoices:

- references typed cleanly, without their prefix ("202606-00012", "20260600012"), without zero
  padding ("INV-202606-12"), in full-width characters or with spaces, with a digit wrong;
- several invoices paid by one transfer (all named, or the first and "等"), bank charges deducted,
  short and over payments, no reference at all;
- payer names as the bank shows them: the legal name, shortened or truncated, a parent company, the
  owner himself; accounts the system learned from earlier months or not;
- credits that are not customer payments (interest, tax refunds, transfers between own accounts).

For each database (SQLite always; PostgreSQL when HUIKUAN_BENCH_POSTGRES_URL names a server whose
user may create databases) it builds a fresh database, imports customers and invoices through
``huikuan import``, stores the statement lines and the aliases learned earlier, and then, in a
process of its own, times ``bank_match`` and compares each line's outcome with its label:

- precision of automatic application: of the lines applied at once, the share applied to the right
  customer (and the share whose invoices are exactly those the payer meant);
- recall: of the customer credits, the share applied at once to the right customer and invoices;
- what went to review and to unapplied cash, per kind of noise.

(a) scale: --lines 100000 against --invoices 1000000 open invoices of --customers 100000;
(b) quality: a month of --month-lines 3000 credits for --month-customers 2000 customers.

Usage: python benchmarks/banking.py [--part scale|quality] [--only sqlite|postgresql] [--workdir DIR]
                                   [--reuse] [--repeat N]
Each database is loaded once (kept as banking_<part>_loaded) and matched on a copy, so that with
--workdir DIR --reuse a later run skips generating and importing the same data again. With
--repeat N the matching runs N times, each on a fresh copy, and the run of median time is
reported (with every run's time): on a shared machine one run's time varies by a fifth.
Prints a table and writes benchmarks/results/banking.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import shutil
import sys
import tempfile
from collections import Counter
from contextlib import closing
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
HUIKUAN = [sys.executable, "-m", "huikuan.cli"]
AS_OF = date(2026, 6, 30)
MONTH_START = date(2026, 6, 1)

CITIES = "上海 北京 深圳 广州 杭州 苏州 宁波 东莞 佛山 天津 南京 无锡 青岛 厦门 成都 武汉".split()
WORDS = (
    "华润 鑫达 宏远 金泰 东方 恒通 瑞丰 嘉禾 博远 新锐 永盛 德信 天成 中联 富源 万豪 盛世 长城 海峰 汇通 "
    "联创 正大 明珠 荣华 泰和 安信 广源 国泰 隆基 星河 宝丰 丰华 兴业 鸿运 凯达 合力 远航 精工 同创 华美 "
    "金鼎 银河 华夏 中信 瑞祥 福临 祥和 昌盛 建华 立信 卓越 宏达 宏图 金源 和顺 东升 永利 信达 佳诚 润泽"
).split()
TRADES = "贸易 电子 机械 科技 化工 物流 建材 纺织 食品 医药 五金 塑胶".split()
EN_WORDS = (
    "Golden Pacific Eastern Summit Harbor Lotus Dragon Phoenix Silver Jade Orient Pearl Crown Star Atlas "
    "Bright Coastal Delta Emerald Falcon Grand Horizon Imperial Keystone Liberty Maple Noble Oak Prime Royal "
    "Sterling Titan Unity Vista Western Zenith Apex Beacon Cedar"
).split()
EN_TRADES = "Trading Electronics Machinery Logistics Industries Textiles Foods Chemicals".split()
SURNAMES = "王 李 张 刘 陈 杨 黄 赵 吴 周 徐 孙 马 朱 胡 郭 何 高 林 罗".split()
GIVEN = "伟 芳 娜 敏 静 丽 强 磊 军 洋 勇 艳 杰 娟 涛 明 超 秀英 霞 平".split()
FULL_WIDTH = str.maketrans({chr(code): chr(code + 0xFEE0) for code in range(0x21, 0x7F)})

# Kinds of credit in a month, with their share (per cent); see the module docstring.
SCENARIOS = {
    "clean": 40,
    "no_prefix": 7,
    "no_zero_padding": 4,
    "full_width_or_spaced": 4,
    "typo": 3,
    "several": 10,
    "bank_charges": 6,
    "no_reference": 12,
    "partial": 3,
    "overpaid": 1,
    "new_payer_no_reference": 3,
    "not_a_customer": 7,
}


@dataclass
class Customer:
    code: str
    name: str
    legal_name: str
    account: str
    english: bool
    other_payer: str = ""  # a parent company or the owner, who pays for it now and then
    other_account: str = ""
    invoices: list[tuple[str, int, date, date]] = field(default_factory=list)  # (number, minor, due, issued)


def _company(rng: random.Random, english: bool) -> tuple[str, str]:
    if english:
        short = (
            f"{rng.choice(EN_WORDS)} {rng.choice(EN_WORDS)} {rng.choice(EN_WORDS)} {rng.choice(EN_TRADES)}"
        )
        return short, f"{short} Co., Ltd."
    short = f"{rng.choice(WORDS)}{rng.choice(WORDS)}{rng.choice(TRADES)}"
    return short, f"{rng.choice(CITIES)}{short}有限公司"


def _account(rng: random.Random) -> str:
    return "62" + "".join(rng.choice("0123456789") for _ in range(17))


def portfolio(
    rng: random.Random, *, customers: int, invoices: int, first_month: date, as_of: date
) -> list[Customer]:
    """Customers with their open invoices, numbered INV-yyyymm-nnnnn in issue order per month."""
    people = []
    for n in range(customers):
        english = rng.random() < 0.2
        name, legal = _company(rng, english)
        customer = Customer(f"K{n:06d}", name, legal, _account(rng), english)
        if rng.random() < 0.2:
            if rng.random() < 0.5:
                customer.other_payer = f"{rng.choice(SURNAMES)}{rng.choice(GIVEN)}"
            else:
                customer.other_payer = (
                    f"{rng.choice(CITIES)}{rng.choice(WORDS)}{rng.choice(WORDS)}集团有限公司"
                )
            customer.other_account = _account(rng)
        people.append(customer)
    months = (as_of.year - first_month.year) * 12 + as_of.month - first_month.month + 1
    sequence: Counter[str] = Counter()
    sizes = [rng.lognormvariate(9.5, 1.0) for _ in range(customers)]  # typical invoice, CNY
    drafts = []
    for _ in range(invoices):
        owner = rng.randrange(customers)
        month = rng.randrange(months)
        issued = date(
            first_month.year + (first_month.month - 1 + month) // 12,
            (first_month.month - 1 + month) % 12 + 1,
            1,
        )
        issued += timedelta(days=rng.randrange(28))
        issued = min(issued, as_of)
        minor = max(10_000, int(sizes[owner] * rng.lognormvariate(0, 0.5) * 100))
        drafts.append((issued, owner, minor))
    drafts.sort(key=lambda row: row[0])
    for issued, owner, minor in drafts:
        month = f"{issued:%Y%m}"
        sequence[month] += 1
        number = f"INV-{month}-{sequence[month]:05d}"
        due = issued + timedelta(days=rng.choice((30, 45, 60)))
        people[owner].invoices.append((number, minor, due, issued))
    for customer in people:
        customer.invoices.sort(key=lambda invoice: (invoice[2], invoice[0]))
    return people


def _mangle(rng: random.Random, number: str, how: str) -> str:
    prefix, month, serial = number.split("-")
    if how == "no_prefix":
        return rng.choice((f"{month}-{serial}", f"{month}{serial}", f"{month}/{serial}"))
    if how == "no_zero_padding":
        return f"{prefix}-{month}-{int(serial)}"
    if how == "full_width_or_spaced":
        return number.translate(FULL_WIDTH) if rng.random() < 0.5 else f"{prefix} {month} {serial}"
    if how == "typo":
        digits = list(serial)
        position = rng.randrange(len(digits))
        digits[position] = rng.choice([d for d in "0123456789" if d != digits[position]])
        return f"{prefix}-{month}-{''.join(digits)}"
    return number


def _remittance(rng: random.Random, refs: list[str], english: bool, etc: bool = False) -> str:
    joined = rng.choice((" ", ",", "、", "/", "; ")).join(refs) + ("等" if etc else "")
    if english:
        return rng.choice(
            (f"PAYMENT FOR INVOICE {joined}", f"INV {joined}", f"/INV/{joined}", f"RE {joined} THANK YOU")
        )
    return rng.choice((f"货款 {joined}", f"付{joined}货款", f"发票号：{joined}", joined, f"支付货款{joined}"))


def _payer_name(rng: random.Random, customer: Customer) -> tuple[str, str]:
    """The payer's name and account as the bank shows them."""
    roll = rng.random()
    if customer.other_payer and roll < 0.4:
        return customer.other_payer, customer.other_account
    account = customer.account if rng.random() < 0.95 else ""
    if roll < 0.65:
        return customer.legal_name, account
    if roll < 0.8:
        name = (
            customer.legal_name.upper() if customer.english else customer.legal_name.replace("有限公司", "")
        )
        return name[:35], account
    if roll < 0.95:
        return customer.name, account
    return "", account


@dataclass
class Credit:
    """A statement line and its label: who paid and which invoices they meant (None: nobody)."""

    booking_date: date
    amount_minor: int
    payer: str
    account: str
    remittance: str
    scenario: str
    customer: str | None
    invoices: list[str]


def month_of_credits(rng: random.Random, people: list[Customer], *, lines: int, start: date) -> list[Credit]:
    """Credits over the working days of one month, each of one scenario (see SCENARIOS)."""
    names = list(SCENARIOS)
    weights = list(SCENARIOS.values())
    days = [start + timedelta(days=n) for n in range(28) if (start + timedelta(days=n)).weekday() < 5]
    free = {customer.code: list(customer.invoices) for customer in people}
    credits = []
    attempts = 0
    while len(credits) < lines and attempts < lines * 20:
        attempts += 1
        scenario = rng.choices(names, weights)[0]
        day = rng.choice(days)
        if scenario == "not_a_customer":
            kind = rng.random()
            if kind < 0.4:
                payer, text = "中国工商银行", rng.choice(("利息", "结息", "存款利息 INTEREST"))
            elif kind < 0.7:
                payer, text = (
                    "国家税务总局上海市税务局",
                    f"出口退税 {rng.randrange(2024, 2027)}{rng.randrange(1, 13):02d}",
                )
            else:
                payer, text = "本公司基本户", "资金调拨"
            credits.append(
                Credit(day, rng.randrange(100, 5_000_000), payer, _account(rng), text, scenario, None, [])
            )
            continue
        customer = rng.choice(people)
        available = [invoice for invoice in free[customer.code] if invoice[3] < day]
        if not available:
            continue
        # Customers mostly pay what is due first.
        oldest = available[: max(1, min(len(available), 4))]
        count = rng.choice((2, 2, 3, 4)) if scenario == "several" else 1
        if scenario == "no_reference" and rng.random() < 0.3:
            count = 2
        if len(oldest) < count:
            continue
        chosen = sorted(rng.sample(oldest, count), key=lambda invoice: (invoice[2], invoice[0]))
        owed = sum(invoice[1] for invoice in chosen)
        amount = owed
        numbers = [invoice[0] for invoice in chosen]
        payer, account = _payer_name(rng, customer)
        refs = numbers
        etc = False
        if scenario in ("no_prefix", "no_zero_padding", "full_width_or_spaced", "typo"):
            refs = [_mangle(rng, numbers[0], scenario)]
        elif scenario == "several" and rng.random() < 0.3:
            refs, etc = numbers[:1], True
        elif scenario == "bank_charges":
            amount = owed - rng.randrange(500, 5_001)
        elif scenario == "partial":
            amount = owed * rng.randrange(30, 81) // 100
        elif scenario == "overpaid":
            amount = owed + rng.randrange(100, 100_000)
        elif scenario == "new_payer_no_reference":
            payer, account = f"{rng.choice(SURNAMES)}{rng.choice(GIVEN)}", _account(rng)
        if scenario in ("no_reference", "new_payer_no_reference"):
            text = rng.choice(("货款", "付款", "PAYMENT", "", "转账"))
        else:
            text = _remittance(rng, refs, customer.english, etc)
        for invoice in chosen:
            free[customer.code].remove(invoice)
        credits.append(Credit(day, amount, payer, account, text, scenario, customer.code, numbers))
    credits.sort(key=lambda credit: credit.booking_date)
    return credits


def learned_aliases(rng: random.Random, people: list[Customer]) -> list[tuple[str, str, str, int]]:
    """(kind, raw value, customer code, confirmations) the system learned from earlier months."""
    aliases = []
    for customer in people:
        if rng.random() < 0.7:
            aliases.append(("ACCOUNT", customer.account, customer.code, rng.randrange(1, 12)))
            aliases.append(("NAME", customer.legal_name, customer.code, rng.randrange(1, 12)))
        if customer.other_payer and rng.random() < 0.6:
            aliases.append(("ACCOUNT", customer.other_account, customer.code, rng.randrange(1, 5)))
            aliases.append(("NAME", customer.other_payer, customer.code, rng.randrange(1, 5)))
    return aliases


def write_data(folder: Path, *, customers: int, invoices: int, lines: int, seed: int) -> dict:
    """Write customers.csv and invoices.csv (for ``huikuan import``), credits.json and aliases.json."""
    rng = random.Random(seed)
    people = portfolio(rng, customers=customers, invoices=invoices, first_month=date(2025, 1, 1), as_of=AS_OF)
    credits = month_of_credits(rng, people, lines=lines, start=MONTH_START)
    aliases = learned_aliases(rng, people)
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "customers.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["code", "name", "legal_name", "country"])
        writer.writerows([c.code, c.name, c.legal_name, "CN"] for c in people)
    with (folder / "invoices.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["invoice_number", "customer_code", "issue_date", "due_date", "currency", "amount"])
        for customer in people:
            for number, minor, due, issued in customer.invoices:
                writer.writerow([number, customer.code, issued.isoformat(), due.isoformat(), "CNY",
                                 f"{minor // 100}.{minor % 100:02d}"])  # fmt: skip
    (folder / "credits.json").write_text(
        json.dumps(
            [
                [
                    c.booking_date.isoformat(),
                    c.amount_minor,
                    c.payer,
                    c.account,
                    c.remittance,
                    c.scenario,
                    c.customer,
                    c.invoices,
                ]
                for c in credits
            ],  # fmt: skip
            ensure_ascii=False,
        )
    )
    (folder / "aliases.json").write_text(json.dumps(aliases, ensure_ascii=False))
    return {"customers": customers, "invoices": sum(len(c.invoices) for c in people), "lines": len(credits)}


# --- the measuring process -------------------------------------------------------------------

PROBE = """
import json, os, resource, sys, time
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
from datetime import date
import django
django.setup()
from benchmarks.banking import lines_store, outcome_measure
from huikuan.banking.matching_service import bank_match
folder, as_of = sys.argv[1], date.fromisoformat(sys.argv[2])
lines_store(folder)
started, cpu = time.perf_counter(), time.process_time()
summary = bank_match(as_of=as_of, decisions_limit=0)
seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
result = outcome_measure(folder)
summary.pop("decisions")
print(json.dumps({"match_s": seconds, "match_cpu_s": cpu, "summary": summary, **result,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def lines_store(folder: str) -> None:
    """Store the month's credits as statement lines of one account, and the aliases learned earlier."""
    from django.db import transaction

    from huikuan.banking.matching import account_key, payer_name_key
    from huikuan.banking.models import BankAccount, BankStatement, BankStatementLine, PayerAlias
    from huikuan.customers.models import Customer as CustomerRow

    credits = json.loads((Path(folder) / "credits.json").read_text())
    aliases = json.loads((Path(folder) / "aliases.json").read_text())
    ids = dict(CustomerRow.objects.values_list("code", "pk"))
    with transaction.atomic():
        account = BankAccount.objects.create(name="Bench bank", account_number="CN0000BENCH", currency="CNY")
        statements = {}
        for day in sorted({credit[0] for credit in credits}):
            statements[day] = BankStatement.objects.create(
                account=account, format="camt.053", identification=day, file_sha256=day.ljust(64, "0"),
                currency="CNY", period_start=date.fromisoformat(day), period_end=date.fromisoformat(day),
            )  # fmt: skip
        BankStatementLine.objects.bulk_create(
            [
                BankStatementLine(
                    account=account,
                    statement=statements[day],
                    identity=f"ref:{n}",
                    booking_date=date.fromisoformat(day),
                    currency="CNY",
                    amount_minor=minor,
                    counterparty_name=payer,
                    counterparty_account=number,
                    remittance=text,
                )  # fmt: skip
                for n, (day, minor, payer, number, text, *_label) in enumerate(credits)
            ],
            batch_size=5000,
        )
        unique = {}
        for kind, value, code, confirmations in aliases:
            key = account_key(value) if kind == "ACCOUNT" else payer_name_key(value)
            unique[(kind, key, ids[code])] = confirmations
        PayerAlias.objects.bulk_create(
            [PayerAlias(kind=k, value=v, customer_id=c, confirmations=n) for (k, v, c), n in unique.items()],
            batch_size=5000,
        )


def outcome_measure(folder: str) -> dict:
    """Compare each line's outcome with its label: precision, recall, and where the rest went."""
    from huikuan.banking.models import BankStatementLine, MatchProposal

    credits = json.loads((Path(folder) / "credits.json").read_text())
    codes = dict(
        BankStatementLine.objects.filter(customer__isnull=False).values_list("identity", "customer__code")
    )
    statuses = dict(BankStatementLine.objects.values_list("identity", "status"))
    proposed = {
        identity: ({item["number"] for item in invoices}, code)
        for identity, invoices, code in MatchProposal.objects.values_list(
            "line__identity", "invoices", "customer__code"
        )
    }
    by_scenario: dict[str, Counter[str]] = {}
    totals: Counter[str] = Counter()
    for n, (_day, _minor, _payer, _account, _text, scenario, customer, invoices) in enumerate(credits):
        identity = f"ref:{n}"
        status = statuses[identity]
        counts = by_scenario.setdefault(scenario, Counter())
        counts["lines"] += 1
        counts[status.lower()] += 1
        invoices_proposed, proposed_customer = proposed.get(identity, (set(), None))
        if customer is not None:
            totals["customer_credits"] += 1
        if status == "APPLIED":
            totals["applied"] += 1
            right_customer = customer is not None and codes.get(identity) == customer
            right_invoices = right_customer and invoices_proposed == set(invoices)
            totals["applied_right_customer"] += right_customer
            totals["applied_right_invoices"] += right_invoices
            counts["applied_right"] += right_invoices
            if not right_customer:
                counts["applied_wrong_customer"] += 1
        elif status == "REVIEW":
            totals["review"] += 1
            totals["review_proposal_right"] += customer is not None and proposed_customer == customer
        else:
            totals[status.lower()] += 1
    applied = max(1, totals["applied"])
    return {
        "lines": len(credits),
        "customer_credits": totals["customer_credits"],
        "applied": totals["applied"],
        "review": totals["review"],
        "unmatched": totals["unmatched"],
        "precision_customer": totals["applied_right_customer"] / applied,
        "precision_invoices": totals["applied_right_invoices"] / applied,
        "recall": totals["applied_right_invoices"] / max(1, totals["customer_credits"]),
        "review_proposal_right": totals["review_proposal_right"] / max(1, totals["review"]),
        "by_scenario": {name: dict(counts) for name, counts in sorted(by_scenario.items())},
    }


# --- databases --------------------------------------------------------------------------------


def database_url(kind: str, workdir: Path, name: str) -> str:
    if kind == "sqlite":
        return f"sqlite:///{workdir / (name + '.sqlite3')}"
    return urlunsplit(
        urlsplit(os.environ["HUIKUAN_BENCH_POSTGRES_URL"])._replace(path=f"/huikuan_bench_{name}")
    )


def fresh_database(kind: str, workdir: Path, name: str, *, template: str | None = None) -> str:
    """Return the URL of database ``name``, empty or (with ``template``) a copy of that one."""
    if kind == "sqlite":
        target = workdir / (name + ".sqlite3")
        for suffix in ("", "-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        if template is not None:
            shutil.copyfile(workdir / (template + ".sqlite3"), target)
        return database_url(kind, workdir, name)
    import psycopg

    copy = f" TEMPLATE huikuan_bench_{template} STRATEGY FILE_COPY" if template is not None else ""
    with psycopg.connect(os.environ["HUIKUAN_BENCH_POSTGRES_URL"], autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS huikuan_bench_{name}")
        connection.execute(f"CREATE DATABASE huikuan_bench_{name}{copy}")
    return database_url(kind, workdir, name)


def _loaded_mark(kind: str, workdir: Path, name: str) -> Path:
    """A file written once database ``name`` is completely loaded (an interrupted load has none)."""
    return workdir / f"{name}.{kind}.loaded"


def generated_with(data: Path) -> dict:
    made = data / "made.json"
    return json.loads(made.read_text()) if made.exists() else {}


def bench(kind: str, part: str, data: Path, workdir: Path, *, reuse: bool = False, repeat: int = 1) -> dict:
    """Load the portfolio into a database kept as ``<part>_loaded`` (with ``reuse``, the one an
    earlier run left), copy it, and time the matching on the copy (``repeat`` times, each on a
    fresh copy: the result is the run of median time, with every run's time beside it)."""
    sys.path.insert(0, str(ROOT))
    from benchmarks.foundation import run_measured

    name = f"banking_{part}"
    loaded = f"{name}_loaded"
    env = {**os.environ, "HUIKUAN_HOME": str(workdir), "PYTHONPATH": str(ROOT)}
    mark = _loaded_mark(kind, workdir, loaded)
    if not (reuse and mark.exists()):
        mark.unlink(missing_ok=True)
        url = fresh_database(kind, workdir, loaded)
        env["HUIKUAN_DATABASE_URL"] = url
        run_measured([*HUIKUAN, "migrate", "-v0"], env)
        for what in ("customers", "invoices"):
            run_measured([*HUIKUAN, "import", what, str(data / f"{what}.csv"), "--no-progress"], env)
        if kind == "postgresql":
            import psycopg

            with psycopg.connect(url, autocommit=True) as connection:
                connection.execute("VACUUM (ANALYZE)")
        else:
            import sqlite3

            with closing(sqlite3.connect(workdir / (loaded + ".sqlite3"))) as connection:
                connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        mark.write_text(json.dumps(generated_with(data)))
    runs = []
    for _run in range(max(1, repeat)):
        env["HUIKUAN_DATABASE_URL"] = fresh_database(kind, workdir, name, template=loaded)
        _seconds, peak, out = run_measured([sys.executable, "-c", PROBE, str(data), AS_OF.isoformat()], env)
        runs.append({"database": kind, "part": part, "peak_mb": round(peak), **json.loads(out)})
    runs.sort(key=lambda run: run["match_s"])
    return {**runs[len(runs) // 2], "runs_match_s": [round(run["match_s"], 2) for run in runs]}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--part", choices=("scale", "quality"), help="run one part only")
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--invoices", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--month-lines", type=int, default=3_000)
    parser.add_argument("--month-invoices", type=int, default=20_000)
    parser.add_argument("--month-customers", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--only", choices=("sqlite", "postgresql"), help="benchmark one database only")
    parser.add_argument(
        "--repeat", type=int, default=1, help="match this many times, each on a fresh copy; report the median"
    )
    parser.add_argument(
        "--workdir", type=Path, help="keep data and databases here (default: a temporary folder)"
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="with --workdir: use the data and loaded databases an earlier run with the same sizes "
        "and seed left there, instead of generating and importing them again",
    )
    args = parser.parse_args()
    workdir = (args.workdir or Path(tempfile.mkdtemp(prefix="huikuan-banking-bench-"))).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    kinds = ["sqlite"] + (["postgresql"] if os.environ.get("HUIKUAN_BENCH_POSTGRES_URL") else [])
    if args.only:
        kinds = [args.only]
    parts = [args.part] if args.part else ["quality", "scale"]
    sizes = {
        "scale": (args.customers, args.invoices, args.lines),
        "quality": (args.month_customers, args.month_invoices, args.month_lines),
    }
    results, generated = [], {}
    for part in parts:
        customers, invoices, lines = sizes[part]
        data = workdir / part
        print(
            f"{part}: {customers:,} customers, {invoices:,} invoices, {lines:,} credits…",
            file=sys.stderr,
        )
        wanted = {"customers": customers, "invoices": invoices, "lines": lines, "seed": args.seed}
        made = data / "made.json"
        reuse = args.reuse and made.exists() and json.loads(made.read_text())["wanted"] == wanted
        if reuse:
            generated[part] = json.loads(made.read_text())["generated"]
        else:
            generated[part] = write_data(
                data, customers=customers, invoices=invoices, lines=lines, seed=args.seed
            )
            made.write_text(json.dumps({"wanted": wanted, "generated": generated[part]}))
        for kind in kinds:
            print(f"{part} on {kind}…", file=sys.stderr)
            results.append(bench(kind, part, data, workdir, reuse=reuse, repeat=args.repeat))
    header = (
        f"{'part':<8} {'database':<11} {'lines':>7} {'match s':>8} {'peak MB':>8} {'applied':>8} {'review':>7} "
        f"{'unmatched':>9} {'precision':>10} {'prec. inv.':>10} {'recall':>7}  runs (s)"
    )
    print(header)
    for r in results:
        print(
            f"{r['part']:<8} {r['database']:<11} {r['lines']:>7} {r['match_s']:>8.2f} {r['peak_mb']:>8} "
            f"{r['applied']:>8} {r['review']:>7} {r['unmatched']:>9} {r['precision_customer']:>10.2%} "
            f"{r['precision_invoices']:>10.2%} {r['recall']:>7.2%}  {' '.join(map(str, r['runs_match_s']))}"
        )
    output = {
        "benchmark": "banking",
        "as_of": AS_OF.isoformat(),
        "seed": args.seed,
        "generated": generated,
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "results": results,
    }
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "banking.json").write_text(json.dumps(output, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
