"""Request and response bodies of the insights API."""

from datetime import date, datetime
from typing import Any, Literal

from ninja import Field, Schema

from huikuan.core.schemas import BusinessDate, InputSchema, Text

DebtorTypeIn = Literal["MALICIOUS", "TECHNICAL", "COMPETITIVE", "REASON_BASED", "UNDETERMINED"]
PersonalityIn = Literal["", "hard_line", "scheming", "cooperative"]
LanguageIn = Literal["zh-hans", "en"]


class EvidenceOut(Schema):
    code: str = Field(description="what the fact is, e.g. promises_broken, silence, disputes_open")
    text: str = Field(description="the fact in words, in the request's language")
    figures: dict[str, Any] = Field(description="the fact's figures (counts, ISO dates)")


class NextActionOut(Schema):
    code: str = Field(description="e.g. WRITTEN_ACKNOWLEDGEMENT, OFFER_INSTALMENT_PLAN, CREDIT_HOLD")
    text: str


class ClassificationOut(Schema):
    id: int
    customer: str = Field(description="the customer's code")
    debtor_type: str = Field(description="MALICIOUS, TECHNICAL, COMPETITIVE, REASON_BASED or UNDETERMINED")
    label: str
    confidence: int = Field(description="0-100; a collector's judgement is 100")
    source: str = Field(description="AUTOMATIC or COLLECTOR")
    automatic_type: str = Field(description="what the rules said when this was written")
    as_of: date
    is_current: bool
    evidence: list[EvidenceOut]
    decided_by: str | None = Field(description="who confirmed or corrected it")
    decided_at: datetime
    note: str
    strategy: list[str]
    next_action: NextActionOut


class ConfirmIn(InputSchema):
    note: Text = Field("", max_length=2000)
    as_of: BusinessDate | None = Field(None, description="default: today")


class CorrectIn(InputSchema):
    debtor_type: DebtorTypeIn
    note: Text = Field("", max_length=2000, description="why: kept with the judgement")
    as_of: BusinessDate | None = Field(None, description="default: today")


class SuggestedScriptOut(Schema):
    debtor_type: str
    personality: str = Field(description="the personality the script was written for; empty: any")
    language: str
    title: str
    text: str = Field(description="rendered for this customer and contact")
    script_id: int


class ScriptOut(Schema):
    id: int
    debtor_type: str
    personality: str
    language: str
    title: str
    body: str = Field(description="the text with {{ variable }} placeholders")
    is_shipped_default: bool
    updated_at: datetime


class ScriptIn(InputSchema):
    debtor_type: DebtorTypeIn
    personality: PersonalityIn = ""
    language: LanguageIn
    title: Text = Field(min_length=1, max_length=200)
    body: Text = Field(min_length=1, max_length=20_000)


class ScriptPatch(InputSchema):
    title: Text | None = Field(None, min_length=1, max_length=200)
    body: Text | None = Field(None, min_length=1, max_length=20_000)


class VariableOut(Schema):
    name: str
    meaning: str
