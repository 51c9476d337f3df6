"""Importing customers (and their finance contact) from CSV or XLSX files, all or nothing.

Customers are matched by code. An empty optional cell leaves the stored value as it is, so
that a file with fewer columns never wipes what was entered by hand. See
``docs/import-formats.md`` for the columns and the rules.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from huikuan.core.bulk import model_field, rows_insert, rows_update
from huikuan.core.tabular import (
    CellError,
    Column,
    Header,
    ImportResult,
    Table,
    amount_split,
    amount_to_minor,
    cell_text,
    currency_parse,
    import_run,
    integer_parse,
)
from huikuan.customers.models import Contact, ContactRole, Customer

CUSTOMER_COLUMNS = (
    Column("code", ("客户编码", "客户代码", "客户编号"), required=True),
    Column("name", ("客户名称", "客户名"), required=True),
    Column("legal_name", ("法定名称", "公司全称", "开票名称")),
    Column("tax_id", ("税号", "纳税人识别号", "统一社会信用代码")),
    Column("country", ("国家", "国家/地区")),
    Column("language", ("语言",)),
    Column("currency", ("币种", "货币")),
    Column("payment_terms_days", ("账期", "账期天数", "付款期限")),
    Column("credit_limit", ("信用额度",)),
    Column("grade", ("等级", "客户等级", "信用等级")),
    Column("email", ("邮箱", "电子邮箱", "电子邮件")),
    Column("phone", ("电话", "联系电话", "手机")),
    Column("contact_name", ("联系人",)),
    Column("collector", ("催收员", "催收人")),
)

_GRADES = {"A": "A", "B": "B", "C": "C", "D": "D", "优质": "A", "正常": "B", "关注": "C", "高风险": "D"}
_LANGUAGES = {"zh": "zh-hans", "zh-cn": "zh-hans", "zh-hans": "zh-hans", "chinese": "zh-hans", "中文": "zh-hans",
              "简体中文": "zh-hans", "en": "en", "english": "en", "英文": "en", "英语": "en"}  # fmt: skip
_LANGUAGE_CODE = re.compile(r"[a-z]{2,3}(?:-[a-z0-9]{2,8})?")
_COUNTRY = re.compile(r"[A-Z]{2}")

# Customer fields compared to decide between "updated" and "unchanged".
_FIELDS = ("name", "legal_name", "tax_id", "country", "language", "currency", "payment_terms_days",
           "credit_limit_minor", "grade", "collector_id")  # fmt: skip
#: What a customer an import creates has in the columns the file leaves empty.
NEW_CUSTOMER: dict[str, Any] = {name: model_field(Customer, name).get_default() for name in _FIELDS}
NEW_CONTACT: dict[str, Any] = {"preferred_channel": model_field(Contact, "preferred_channel").get_default()}


def customers_import(
    path: Path | str,
    *,
    dry_run: bool = False,
    encoding: str | None = None,
    date_format: str | None = None,
    progress: bool = False,
) -> ImportResult:
    """Create or update customers from a file; nothing is written unless every row is right.

    ``email``, ``phone`` and ``contact_name`` go to the customer's primary finance contact,
    created when there is none. ``date_format`` is accepted for symmetry; customers have no dates.
    Raises ImportRejected listing every problem.
    """
    return import_run(
        path,
        kind="customers",
        columns=CUSTOMER_COLUMNS,
        run=_customers_pass,
        dry_run=dry_run,
        encoding=encoding,
        progress=progress,
    )


def _text(value: Any, length: int) -> str:
    text = cell_text(value)
    if len(text) > length:
        raise CellError(f"is {len(text)} characters long; at most {length} fit")
    return text


def _country(value: Any) -> str:
    text = cell_text(value).upper()
    if text and not _COUNTRY.fullmatch(text):
        raise CellError(
            f'"{cell_text(value)}" is not a two-letter ISO 3166 country code (such as CN, US, DE)'
        )
    return text


def _language(value: Any) -> str:
    text = cell_text(value).lower().replace("_", "-")
    if not text:
        return ""
    language = _LANGUAGES.get(text, text)
    if not _LANGUAGE_CODE.fullmatch(language) or len(language) > 10:
        raise CellError(f'"{cell_text(value)}" is not a language code (such as zh-hans or en)')
    return language


def _grade(value: Any) -> str:
    text = cell_text(value)
    if not text:
        return ""
    grade = _GRADES.get(text.upper(), _GRADES.get(text))
    if grade is None:
        raise CellError(f'"{text}" is not a grade; use A, B, C or D (优质, 正常, 关注, 高风险)')
    return grade


def _email(value: Any) -> str:
    text = _text(value, 254)
    if text:
        try:
            validate_email(text)
        except ValidationError:
            raise CellError(f'"{text}" is not an e-mail address')
    return text


def _customers_pass(
    *, table: Table, header: Header, result: ImportResult, write: bool, progress: bool
) -> None:
    index, label = header.index, header.label
    usernames = list(get_user_model().objects.values_list("username", "pk"))
    # The exact username wins; otherwise a spelling that differs only in case.
    users: dict[str, int] = {name.casefold(): pk for name, pk in reversed(usernames)}
    users.update(usernames)
    seen: dict[str, int] = {}
    now = timezone.now()
    problem = result.problem
    cell_rules = (
        ("legal_name", functools.partial(_text, length=255)),
        ("tax_id", functools.partial(_text, length=64)),
        ("country", _country),
        ("language", _language),
        ("grade", _grade),
        ("email", _email),
        ("phone", functools.partial(_text, length=40)),
        ("contact_name", functools.partial(_text, length=255)),
    )
    label_text = "checking" if not write else "importing"

    for chunk in table.chunks(progress=progress, label=f"{label_text} customers"):
        rows: list[tuple[int, str, dict[str, Any]]] = []
        for row, cells in chunk:
            result.rows += 1
            bad = False
            values: dict[str, Any] = {}
            code = cell_text(cells[index["code"]])
            if not code:
                problem(row, label["code"], "a customer code is required")
                bad = True
            elif len(code) > 64:
                problem(row, label["code"], f"is {len(code)} characters long; at most 64 fit")
                bad = True
            elif code in seen:
                problem(row, label["code"], f'customer "{code}" is also on row {seen[code]}')
                bad = True
            else:
                seen[code] = row
            try:
                values["name"] = _text(cells[index["name"]], 255)
                if not values["name"]:
                    raise CellError("a customer name is required")
            except CellError as error:
                problem(row, label["name"], str(error))
                bad = True
            for name, rule in cell_rules:
                try:
                    values[name] = rule(cells[index[name]])
                except CellError as error:
                    problem(row, label[name], str(error))
                    bad = True
            if cell_text(cells[index["currency"]]):
                try:
                    values["currency"] = currency_parse(cells[index["currency"]])
                except CellError as error:
                    problem(row, label["currency"], str(error))
                    bad = True
            if cell_text(cells[index["payment_terms_days"]]):
                try:
                    values["payment_terms_days"] = integer_parse(cells[index["payment_terms_days"]])
                except CellError as error:
                    problem(row, label["payment_terms_days"], str(error))
                    bad = True
            if cell_text(cells[index["credit_limit"]]):
                try:
                    limit, written = amount_split(cells[index["credit_limit"]])
                    if limit < 0:
                        raise CellError(
                            f'"{cell_text(cells[index["credit_limit"]])}" is negative; a credit limit cannot be'
                        )
                    values["credit_limit"] = (limit, written)
                except CellError as error:
                    problem(row, label["credit_limit"], str(error))
                    bad = True
            collector = cell_text(cells[index["collector"]])
            if collector:
                collector_id = users.get(collector) or users.get(collector.casefold())
                if collector_id is None:
                    problem(row, label["collector"], f'no user has the username "{collector}"')
                    bad = True
                values["collector_id"] = collector_id
            if not bad:
                rows.append((row, code, values))
        if not rows:
            continue

        existing = _customers_existing([code for _row, code, _values in rows])
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        contact_rows: list[tuple[str, dict[str, str]]] = []
        for row, code, values in rows:
            stored = existing.get(code)
            record = dict(stored) if stored else {**NEW_CUSTOMER, "code": code}
            currency = values.get("currency") or record["currency"]
            if "credit_limit" in values:
                limit, written = values.pop("credit_limit")
                if written and written != currency:
                    problem(
                        row,
                        label["credit_limit"],
                        f"is in {written}, but the customer's currency is {currency}",
                    )
                    continue
                try:
                    values["credit_limit_minor"] = amount_to_minor(limit, currency)
                except CellError as error:
                    problem(row, label["credit_limit"], str(error))
                    continue
            contact = {key: values.pop(key) for key in ("email", "phone", "contact_name")}
            if any(contact.values()):
                contact_rows.append((code, contact))
            record.update((name, value) for name, value in values.items() if value not in ("", None))
            if stored is None:
                inserts.append(record)
            elif record != stored:
                updates.append(record)
            else:
                result.unchanged += 1
        result.created += len(inserts)
        result.updated += len(updates)
        writing = write and result.ok
        ids = {code: stored["pk"] for code, stored in existing.items()}
        if writing:
            ids.update(customers_insert(inserts, now=now))
            stamp = connection.ops.adapt_datetimefield_value(now)
            rows_update(
                Customer,
                [*_FIELDS, "updated_at"],
                [(*(r[f] for f in _FIELDS), stamp, r["pk"]) for r in updates],
            )
        _contacts_save(customer_ids=ids, rows=contact_rows, result=result, write=writing, now=now)


def _customers_existing(codes: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Return the stored customers among ``codes`` with the fields an import compares (one query)."""
    return {
        row.pop("code"): row for row in Customer.objects.filter(code__in=codes).values("pk", "code", *_FIELDS)
    }


_INSERT_FIELDS = ("code", "name", "legal_name", "tax_id", "country", "language", "currency", "payment_terms_days",
                  "credit_limit_minor", "grade", "status", "collector", "sales_rep", "tags", "notes", "created_at",
                  "updated_at", "do_not_contact", "time_zone", "postal_address")  # fmt: skip


def customers_insert(records: Sequence[dict[str, Any]], *, now: datetime) -> dict[str, int]:
    """Insert new customers in one executemany and return their ids by code.

    Each record holds ``code``, ``name`` and any customer fields; the rest take the model's
    defaults. Used by the customer import and by invoice files that create customers.
    """
    if not records:
        return {}
    stamp = connection.ops.adapt_datetimefield_value(now)
    defaults = {
        "tags": model_field(Customer, "tags").get_db_prep_save([], connection),
        "status": model_field(Customer, "status").get_default(),
        "notes": "",
        "sales_rep": None,
        "do_not_contact": False,
        "time_zone": "",
        "postal_address": "",
        "created_at": stamp,
        "updated_at": stamp,
    }
    rows = []
    for record in records:
        full = {**NEW_CUSTOMER, **defaults, **record}
        full["collector"] = full.pop("collector_id", None)
        rows.append([full[name] for name in _INSERT_FIELDS])
    rows_insert(Customer, _INSERT_FIELDS, rows)
    return dict(Customer.objects.filter(code__in=[r["code"] for r in records]).values_list("code", "pk"))


_CONTACT_FIELDS = ("customer", "role", "name", "email", "phone", "preferred_channel", "preferred_hours", "language",
                   "is_primary", "created_at", "updated_at", "delivery_failure")  # fmt: skip


def _contacts_save(
    *,
    customer_ids: dict[str, int],
    rows: Sequence[tuple[str, dict[str, str]]],
    result: ImportResult,
    write: bool,
    now: datetime,
) -> None:
    """Create or update each customer's primary finance contact from imported e-mail/phone/name.

    The contact updated is the customer's primary FINANCE contact, else its first FINANCE one;
    a new one is created when there is none, and made primary only if the customer has no
    primary contact yet (an existing primary business contact keeps its flag). In a dry run
    new customers have no id yet and simply get a new contact.
    """
    if not rows:
        return
    ids = [customer_ids[code] for code, _values in rows if customer_ids.get(code)]
    finance: dict[int, list] = {}
    has_primary: set[int] = set()
    if ids:
        queryset = (
            Contact.objects.filter(customer_id__in=ids)
            .filter(Q(role=ContactRole.FINANCE) | Q(is_primary=True))
            .order_by("customer_id", "-is_primary", "pk")
            .values_list("pk", "customer_id", "role", "is_primary", "name", "email", "phone")
        )
        for pk, customer_id, role, is_primary, name, email, phone in queryset:
            if is_primary:
                has_primary.add(customer_id)
            if role == ContactRole.FINANCE:
                finance.setdefault(customer_id, [pk, name, email, phone])
    stamp = connection.ops.adapt_datetimefield_value(now)
    creates: list[list[Any]] = []
    updates: list[tuple[Any, ...]] = []
    for code, values in rows:
        owner = customer_ids.get(code)
        found = finance.get(owner) if owner else None
        if found is None:
            name = values["contact_name"] or values["email"] or values["phone"]
            creates.append([owner, ContactRole.FINANCE.value, name, values["email"], values["phone"],
                            NEW_CONTACT["preferred_channel"], "", "", owner not in has_primary, stamp,
                            stamp, ""])  # fmt: skip
            continue
        pk, *before = found
        after = [
            values["contact_name"] or before[0],
            values["email"] or before[1],
            values["phone"] or before[2],
        ]
        if after != before:
            updates.append((*after, stamp, pk))
    result.count("contacts_created", len(creates))
    result.count("contacts_updated", len(updates))
    if write:
        rows_insert(Contact, _CONTACT_FIELDS, creates)
        rows_update(Contact, ["name", "email", "phone", "updated_at"], updates)
