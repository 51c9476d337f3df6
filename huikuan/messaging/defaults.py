"""The message templates Huikuan ships, and keeping them installed without overwriting edits.

Each default is a file in ``default_templates/`` named ``<key>.<channel>.<language>.txt``: a
``Subject:`` line (absent for SMS), a line ``---``, then the text. An HTML part, when there is
one, sits beside it as ``<key>.<channel>.<language>.html``. Keeping them as files lets a reader
review the wording as it is sent, and lets upgrades bring improved wording to every template a
user has not changed: an edited template has ``is_shipped_default`` off and is left alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from huikuan.core.errors import HuikuanError
from huikuan.messaging.rendering import template_validate

DEFAULT_TEMPLATE_DIR = Path(__file__).resolve().parent / "default_templates"
_SEPARATOR = "---"
_SUBJECT = "Subject:"
_FIELDS = ("subject", "body_text", "body_html")


class DefaultTemplateBroken(HuikuanError):
    code = "default_template_broken"


@dataclass(frozen=True, slots=True)
class DefaultTemplate:
    key: str
    channel: str
    language: str
    subject: str
    body_text: str
    body_html: str


@dataclass(frozen=True, slots=True)
class InstallReport:
    created: int
    updated: int
    kept_edited: int
    unchanged: int


def _parse(path: Path) -> DefaultTemplate:
    key, channel, language = path.name.removesuffix(".txt").split(".")
    header, separator, body = path.read_text(encoding="utf-8").partition(f"{_SEPARATOR}\n")
    if not separator:
        raise DefaultTemplateBroken(f"{path.name}: no '{_SEPARATOR}' line between the header and the text")
    subject = ""
    for line in header.splitlines():
        if line.startswith(_SUBJECT):
            subject = line.removeprefix(_SUBJECT).strip()
        elif line.strip():
            raise DefaultTemplateBroken(f"{path.name}: unexpected header line {line!r}")
    html_path = path.with_suffix(".html")
    html = html_path.read_text(encoding="utf-8") if html_path.exists() else ""
    return DefaultTemplate(
        key=key,
        channel=channel.upper(),
        language=language,
        subject=subject,
        body_text=body,
        body_html=html,
    )


def default_templates() -> list[DefaultTemplate]:
    """Return every shipped template, read from the files, in key/channel/language order."""
    found = [_parse(path) for path in sorted(DEFAULT_TEMPLATE_DIR.glob("*.txt"))]
    return sorted(found, key=lambda item: (item.key, item.channel, item.language))


def template_install_defaults(*, template_model: Any = None) -> InstallReport:
    """Create missing shipped templates and refresh unedited ones; never touch an edited one.

    ``template_model`` lets the data migration pass its historical model; otherwise the current
    one is used. Three queries at most, whatever the number of templates.
    """
    if template_model is None:
        from huikuan.messaging.models import Template as template_model
    shipped = default_templates()
    existing = {(row.key, row.channel, row.language): row for row in template_model.objects.all()}
    create, update = [], []
    kept = unchanged = 0
    for item in shipped:
        row = existing.get((item.key, item.channel, item.language))
        if row is None:
            create.append(
                template_model(
                    key=item.key,
                    channel=item.channel,
                    language=item.language,
                    subject=item.subject,
                    body_text=item.body_text,
                    body_html=item.body_html,
                    is_shipped_default=True,
                )
            )
        elif not row.is_shipped_default:
            kept += 1
        elif any(getattr(row, name) != getattr(item, name) for name in _FIELDS):
            for name in _FIELDS:
                setattr(row, name, getattr(item, name))
            update.append(row)
        else:
            unchanged += 1
    template_model.objects.bulk_create(create)
    if update:
        template_model.objects.bulk_update(update, list(_FIELDS))
    return InstallReport(created=len(create), updated=len(update), kept_edited=kept, unchanged=unchanged)


def template_edit(*, template: Any, subject: str, body_text: str, body_html: str = "") -> Any:
    """Save a user's wording after checking it compiles; from now on upgrades leave it alone."""
    for source, is_html in ((subject, False), (body_text, False), (body_html, True)):
        template_validate(text=source, html=is_html)
    template.subject = subject
    template.body_text = body_text
    template.body_html = body_html
    template.is_shipped_default = False
    template.save(update_fields=["subject", "body_text", "body_html", "is_shipped_default", "updated_at"])
    return template
