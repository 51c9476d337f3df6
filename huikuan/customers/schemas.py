"""Request and response shapes of the customers API. Money is a decimal string, never a float."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from ninja import Field, Schema
from pydantic import BeforeValidator

from huikuan.core.money import format_minor
from huikuan.core.schemas import Currency, DecimalAmount, DecimalString, InputSchema, Text, omitted, upper
from huikuan.customers.models import Channel, Contact, ContactRole, Customer, CustomerStatus, Grade

GradeIn = Annotated[Grade, BeforeValidator(upper)]
StatusIn = Annotated[CustomerStatus, BeforeValidator(upper)]
RoleIn = Annotated[ContactRole, BeforeValidator(upper)]
ChannelIn = Annotated[Channel, BeforeValidator(upper)]
Country = Annotated[Text, Field(pattern=r"^([A-Za-z]{2})?$", description="ISO 3166 alpha-2")]
Username = Annotated[Text, Field(max_length=150, description="a user's username")]


class CustomerOut(Schema):
    code: str
    name: str
    legal_name: str
    tax_id: str
    country: str
    language: str
    currency: str
    payment_terms_days: int
    credit_limit: DecimalString | None = Field(description="in the customer's currency; null: no limit")
    grade: str
    status: str
    collector: str | None = Field(description="username of the assigned collector")
    sales_rep: str | None = Field(description="username of the sales rep")
    tags: list[str]
    notes: str
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_credit_limit(obj: Customer) -> str | None:
        if obj.credit_limit_minor is None:
            return None
        return format_minor(obj.credit_limit_minor, obj.currency)

    @staticmethod
    def resolve_collector(obj: Customer) -> str | None:
        return obj.collector.get_username() if obj.collector else None

    @staticmethod
    def resolve_sales_rep(obj: Customer) -> str | None:
        return obj.sales_rep.get_username() if obj.sales_rep else None

    @staticmethod
    def resolve_tags(obj: Customer) -> list[str]:
        return [str(tag) for tag in obj.tags] if isinstance(obj.tags, list) else []


class CustomerPatch(InputSchema):
    """Fields to change; those left out stay as they are. ``null`` clears the nullable ones."""

    # Declared as non-optional types with a None default: sending null for them is refused,
    # leaving them out is not.
    name: Text = omitted(min_length=1, max_length=255)
    legal_name: Text = omitted(max_length=255)
    tax_id: Text = omitted(max_length=64)
    country: Country = omitted()
    language: Text = omitted(max_length=10)
    currency: Currency = omitted()
    payment_terms_days: int = omitted(ge=0, le=3650)
    credit_limit: DecimalAmount | None = Field(None, ge=0, description="in the customer's currency")
    grade: GradeIn = omitted()
    status: StatusIn = omitted()
    collector: Username | None = None
    sales_rep: Username | None = None
    tags: list[Annotated[Text, Field(max_length=50)]] = omitted(max_length=50)
    notes: Text = omitted(max_length=10_000)


class CustomerIn(CustomerPatch):
    code: Text = Field(min_length=1, max_length=64, description="your own key for the customer")
    name: Text = Field(min_length=1, max_length=255)


class ContactOut(Schema):
    id: int
    customer: str = Field(description="the customer's code")
    role: str
    name: str
    email: str
    phone: str
    preferred_channel: str
    preferred_hours: str
    language: str
    is_primary: bool
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_customer(obj: Contact) -> str:
        return obj.customer.code


class ContactPatch(InputSchema):
    role: RoleIn = omitted()
    name: Text = omitted(min_length=1, max_length=255)
    email: Text = omitted(max_length=254)
    phone: Text = omitted(max_length=40)
    preferred_channel: ChannelIn = omitted()
    preferred_hours: Text = omitted(max_length=40)
    language: Text = omitted(max_length=10)
    is_primary: bool = omitted()


class ContactIn(ContactPatch):
    name: Text = Field(min_length=1, max_length=255)


class CustomerFilters(Schema):
    search: Text | None = Field(None, max_length=100, description="part of the code or name")
    grade: GradeIn | None = None
    status: StatusIn | None = None
    collector: Username | None = Field(None, description="the collector's username")
