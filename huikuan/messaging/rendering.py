"""Rendering message templates in a sandbox that reaches only the context it is given.

Templates are edited by users in the admin, so a template must not be able to read settings,
load tag libraries, include files from disk or call methods on database objects. Three things
make that so:

- a dedicated Django template engine with no loaders, no tag libraries and only a reviewed list
  of built-in tags and filters (no ``{% load %}``, ``{% include %}``, ``{% extends %}``,
  ``{% debug %}``, ``{% url %}``, ``{% csrf_token %}``);
- no context processors: the template sees exactly the dictionary passed in;
- that dictionary is frozen into plain data first (read-only mappings, tuples, strings, integers),
  and anything else (a model instance, a float, a function) is refused, so nothing in it has a
  method that changes state or leads elsewhere.

Plain text parts (subject, text, SMS, scripts) are rendered without HTML escaping; the HTML part
with autoescape on.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.template import Context, Library, TemplateSyntaxError, defaultfilters, defaulttags
from django.template.base import Lexer, Template, TokenType
from django.template.engine import Engine
from django.utils.translation import gettext as _

from huikuan.core.errors import HuikuanError

LANGUAGES = ("zh-hans", "en")

# Reviewed one by one: these only shape output from the context. Left out: load, include,
# extends, block (reach other templates and libraries), debug (prints the context and the
# loaded modules), url and csrf_token, querystring (need a request or the URL map), lorem.
SAFE_TAGS = (
    "autoescape comment cycle filter firstof for if ifchanged now regroup resetcycle spaceless "
    "templatetag verbatim widthratio with"
).split()
# pprint is left out: it shows Python representations, a debugging aid.
SAFE_FILTERS = tuple(name for name in sorted(defaultfilters.register.filters) if name != "pprint")
# Closing and intermediate parts of the allowed block tags, which a validator must accept.
_INNER_TAGS = {"else", "elif", "empty"} | {f"end{name}" for name in SAFE_TAGS}


class TemplateMissing(HuikuanError):
    code = "template_missing"
    status = 404


class TemplateInvalid(HuikuanError):
    code = "template_invalid"


class ContextNotPlain(TypeError):
    """A value other than plain data was put into a template context (a programming error)."""


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    text: str
    html: str
    # The language of the template actually used (the fallback may have chosen the other one).
    language: str = ""


def _safe_library() -> Library:
    library = Library()
    for name in SAFE_TAGS:
        library.tags[name] = defaulttags.register.tags[name]
    for name in SAFE_FILTERS:
        library.filters[name] = defaultfilters.register.filters[name]
    return library


_SAFE_LIBRARY = _safe_library()


class _SandboxEngine(Engine):
    """A template engine whose only tags and filters are the reviewed safe ones."""

    default_builtins = []  # noqa: RUF012 - the reviewed library replaces Django's defaults

    def get_template_builtins(self, builtins: list[str]) -> list[Library]:
        return [_SAFE_LIBRARY]

    def get_template_libraries(self, libraries: dict[str, str]) -> dict[str, Library]:
        return {}


def _engine(*, autoescape: bool, debug: bool = False) -> Engine:
    return _SandboxEngine(loaders=[], libraries={}, autoescape=autoescape, debug=debug, string_if_invalid="")


_TEXT_ENGINE = _engine(autoescape=False)
_HTML_ENGINE = _engine(autoescape=True)
# Debug mode only annotates errors with their line; used to explain a syntax error to an editor.
_CHECK_TEXT_ENGINE = _engine(autoescape=False, debug=True)
_CHECK_HTML_ENGINE = _engine(autoescape=True, debug=True)


class FrozenMapping(Mapping[str, Any]):
    """A read-only dictionary: a template can look keys up and loop over items, nothing else."""

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, Any]) -> None:
        self._data = dict(data)

    @classmethod
    def _adopt(cls, data: dict[str, Any]) -> FrozenMapping:
        """Wrap a dictionary of frozen values that nothing else holds, without copying it."""
        frozen = cls.__new__(cls)
        frozen._data = data
        return frozen

    def _copy(self) -> dict[str, Any]:
        return self._data.copy()

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"FrozenMapping({self._data!r})"


def freeze(value: Any) -> Any:
    """Return ``value`` as read-only plain data, or raise ContextNotPlain.

    Decimals become their string form and dates their ISO form, so a template receives what a
    JSON document could carry; floats are refused because money is never a float here.
    """
    kind = type(value)
    # The common exact types first: a context holds thousands of them per batch.
    if kind is str or kind is int or value is None or kind is bool or kind is FrozenMapping:
        return value
    if kind is dict:
        return FrozenMapping._adopt({str(key): freeze(item) for key, item in value.items()})
    if kind is list or kind is tuple:
        return tuple([freeze(item) for item in value])
    return _freeze_other(value)


def _freeze_other(value: Any) -> Any:
    if isinstance(value, bool | int | str | FrozenMapping):
        return value  # a FrozenMapping holds frozen values only
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return FrozenMapping._adopt({str(key): freeze(item) for key, item in value.items()})
    if isinstance(value, list | tuple):
        return tuple([freeze(item) for item in value])
    raise ContextNotPlain(
        f"a template context holds plain data only (dict, list, str, int, Decimal, date), "
        f"not {type(value).__name__}"
    )


def normalise_language(language: str) -> str:
    """Return "zh-hans" for any Chinese code, "en" for any English one, else the code in lower case."""
    code = (language or "").strip().lower().replace("_", "-")
    if code.startswith("zh"):
        return "zh-hans"
    if code.startswith("en"):
        return "en"
    return code


def language_candidates(language: str) -> list[str]:
    """Return the languages to try in order: the wanted one, then the other shipped language(s)."""
    first = normalise_language(language)
    others = [code for code in LANGUAGES if code != first]
    if first not in LANGUAGES:
        # A contact writing in a language without templates reads English before Chinese.
        others = ["en", "zh-hans"]
    return [first, *others] if first else others


_BLANK_RUNS = re.compile(r"\n{3,}")


def _tidy_text(text: str) -> str:
    """Drop trailing spaces and the blank lines that tags leave, keeping paragraph breaks."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip("\n") + "\n" if text.strip() else ""


def _tidy_subject(subject: str) -> str:
    return " ".join(subject.split())


def _context(frozen: FrozenMapping, *, autoescape: bool) -> Context:
    # No localisation: numbers print as given, the same on every server, and rendering is faster.
    # Each part gets its own copy of the top level: a tag's "as name" writes there, not into the data.
    return Context(frozen._copy(), autoescape=autoescape, use_l10n=False)


def _render(engine: Engine, source: str, frozen: FrozenMapping) -> str:
    if not source:
        return ""
    return engine.from_string(source).render(_context(frozen, autoescape=engine.autoescape))


def render_string(
    *, subject: str = "", text: str = "", html: str = "", context: Mapping[str, Any], language: str = ""
) -> Rendered:
    """Render template sources that are not (yet) stored: previews and the admin's check."""
    frozen = freeze(context)
    try:
        return Rendered(
            subject=_tidy_subject(_render(_TEXT_ENGINE, subject, frozen)),
            text=_tidy_text(_render(_TEXT_ENGINE, text, frozen)),
            html=_render(_HTML_ENGINE, html, frozen).strip(),
            language=language,
        )
    except TemplateSyntaxError as error:
        raise TemplateInvalid(_("The template cannot be used: %(error)s") % {"error": error})


def render_html(source: str, context: Mapping[str, Any]) -> str:
    """Render a fixed HTML layout of the project (not a user template) in the sandbox, escaped."""
    return _render(_HTML_ENGINE, source, freeze(context))


class TemplateCatalog:
    """Templates loaded in one query, compiled once each: for rendering many messages."""

    def __init__(self, rows: Iterable[Any]) -> None:
        self._rows = {(row.key, row.channel, row.language): row for row in rows}
        self._compiled: dict[tuple[str, str, str, str], Template] = {}

    def choose(self, *, key: str, channel: str, language: str) -> Any:
        """Return the template for the language, else for the fallback language, or raise TemplateMissing."""
        candidates = language_candidates(language)
        for candidate in candidates:
            row = self._rows.get((key, str(channel), candidate))
            if row is not None:
                return row
        raise TemplateMissing(
            _("There is no %(channel)s template “%(key)s” in %(languages)s.")
            % {"channel": channel, "key": key, "languages": ", ".join(candidates)}
        )

    def has(self, *, key: str, channel: str, language: str) -> bool:
        return (key, str(channel), language) in self._rows

    def _compiled_part(self, row: Any, part: str) -> Template | None:
        source = getattr(row, part)
        if not source:
            return None
        cache_key = (row.key, row.channel, row.language, part)
        compiled = self._compiled.get(cache_key)
        if compiled is None:
            engine = _HTML_ENGINE if part == "body_html" else _TEXT_ENGINE
            try:
                compiled = engine.from_string(source)
            except TemplateSyntaxError as error:
                raise TemplateInvalid(
                    _("The template “%(key)s” (%(channel)s, %(language)s) cannot be used: %(error)s")
                    % {"key": row.key, "channel": row.channel, "language": row.language, "error": error}
                )
            self._compiled[cache_key] = compiled
        return compiled

    def render(self, *, key: str, channel: str, language: str, context: Mapping[str, Any]) -> Rendered:
        """Render the chosen template with the context, frozen to plain data."""
        row = self.choose(key=key, channel=channel, language=language)
        frozen = freeze(context)
        parts: dict[str, str] = {}
        for part in ("subject", "body_text", "body_html"):
            compiled = self._compiled_part(row, part)
            autoescape = part == "body_html"
            parts[part] = compiled.render(_context(frozen, autoescape=autoescape)) if compiled else ""
        return Rendered(
            subject=_tidy_subject(parts["subject"]),
            text=_tidy_text(parts["body_text"]),
            html=parts["body_html"].strip(),
            language=row.language,
        )


def template_catalog_load(*, keys: Iterable[str] | None = None) -> TemplateCatalog:
    """Load the templates with these keys (all when None) in one query."""
    from huikuan.messaging.models import Template as TemplateRow

    rows = TemplateRow.objects.all()
    if keys is not None:
        rows = rows.filter(key__in=sorted(set(keys)))
    return TemplateCatalog(rows)


def render_template(*, key: str, channel: str, language: str, context: Mapping[str, Any]) -> Rendered:
    """Render the stored template for the key and channel in the language, falling back to the other one."""
    from huikuan.messaging.models import Template as TemplateRow

    candidates = language_candidates(language)
    rows = TemplateRow.objects.filter(key=key, channel=channel, language__in=candidates)
    return TemplateCatalog(rows).render(key=key, channel=channel, language=language, context=context)


def _unknown_tags(source: str) -> list[tuple[int, str]]:
    found = []
    for token in Lexer(source).tokenize():
        if token.token_type != TokenType.BLOCK:
            continue
        name = token.contents.split()[0] if token.contents.split() else ""
        if name and name not in SAFE_TAGS and name not in _INNER_TAGS:
            found.append((token.lineno or 0, name))
    return found


def template_validate(*, text: str, html: bool = False) -> None:
    """Raise TemplateInvalid with the line and a plain explanation when the source does not compile."""
    unknown = _unknown_tags(text)
    if unknown:
        line, name = unknown[0]
        raise TemplateInvalid(
            _(
                "Line %(line)d: the tag {%% %(name)s %%} cannot be used in message templates. "
                "Available tags: %(tags)s."
            )
            % {"line": line, "name": name, "tags": ", ".join(SAFE_TAGS)}
        )
    engine = _CHECK_HTML_ENGINE if html else _CHECK_TEXT_ENGINE
    try:
        engine.from_string(text)
    except TemplateSyntaxError as error:
        debug = getattr(error, "template_debug", None) or {}
        message = str(error)
        if debug.get("line"):
            raise TemplateInvalid(_("Line %(line)d: %(error)s") % {"line": debug["line"], "error": message})
        raise TemplateInvalid(message)
