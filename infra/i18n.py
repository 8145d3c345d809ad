"""Languages: the gettext catalogs under ``locales/`` and Babel formats per locale.

Two locales, ``zh-CN`` and ``en`` (docs/i18n.md). The catalogs are compiled by ``make``
(``pybabel compile``); the ``.mo`` files are build output, never committed. Times are stored
in UTC and shown in the reader's zone: Asia/Shanghai for zh-CN unless the reader's own
setting names another, UTC for en.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale
from babel.dates import format_date, format_time
from babel.numbers import format_decimal
from babel.support import Translations

from domain.rule_messages import RULE_MESSAGES, STATUS_AREA_NAMES, STATUS_MESSAGE
from domain.text import MarkedText

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
LOCALES = ("zh-CN", "en")
DOMAIN = "messages"
# The zone a reader of each locale sees when their row names none.
DEFAULT_ZONES = {"zh-CN": "Asia/Shanghai", "en": "UTC"}


def normalize(value: str | None, default: str = "zh-CN") -> str:
    """``zh_CN``, ``zh-cn``, ``zh``, ``zh_CN.UTF-8`` -> ``zh-CN``; ``en_US`` -> ``en``.

    Anything else is the default: an unknown locale must not stop an email.
    """
    if not value:
        return default
    tag = value.split(".", 1)[0].replace("_", "-").lower()
    if tag.startswith("zh"):
        return "zh-CN"
    if tag.startswith("en"):
        return "en"
    return default


def is_supported(value: str) -> bool:
    """True for a locale spelled as PartnerFlow stores it (``zh-CN`` or ``en``)."""
    return value in LOCALES


def gettext_dir_name(locale: str) -> str:
    """The catalog directory of a locale: ``zh-CN`` -> ``zh_CN``."""
    return locale.replace("-", "_")


class CatalogMissingError(RuntimeError):
    """A compiled catalog is missing: ``make locales`` (run by install, test and run) builds it."""


@cache
def translations(locale: str) -> Translations:
    """The compiled catalog of ``locale`` (loaded once per process)."""
    mo = LOCALES_DIR / gettext_dir_name(locale) / "LC_MESSAGES" / f"{DOMAIN}.mo"
    if not mo.exists():
        raise CatalogMissingError(f"{mo} is missing: run `make locales` to compile the catalogs")
    with mo.open("rb") as fp:
        return Translations(fp, domain=DOMAIN)


def require_catalogs() -> None:
    """Loads every locale's catalog, so that a process that sends email refuses to start
    without them instead of failing each email activity (retried for ever) later."""
    for locale in LOCALES:
        translations(locale)


def N_(message: str) -> str:
    """Marks ``message`` for extraction; it is translated where it is shown."""
    return message


# Values that workflows put into emails as English words or enum values; the ``term`` filter
# shows them in the reader's language. The Chinese follows docs/glossary.md.
TERMS = (
    N_("consulting"),
    N_("resale"),
    N_("yearly"),
    N_("monthly"),
    N_("voucher"),
    N_("bank_transfer"),
    N_("recharge_account"),
    N_("cash_coupon"),
    N_("recalled"),
    N_("kept"),
    N_("returned_to_issuer"),
    N_("partner"),
    N_("vendor"),
    N_("unbind"),
    N_("switch_mode"),
    N_("unbinding"),
    N_("switch to consulting mode"),
    N_("switch to resale mode"),
    N_("will_renew"),
    N_("customer_declines"),
    N_("partner_pays"),
    N_("software"),
    N_("service"),
    N_("role"),
    N_("differentiation"),
    N_("Software Partner Path"),
    N_("Service Partner Path"),
    N_("business-information review"),
    N_("final approval"),
    N_("Partner Agreement"),
    N_("Partner Integrity Commitment (廉洁诚信承诺书)"),
    N_("solution_provider"),
    N_("cloud_reseller"),
    N_("distributor"),
    # domain.authorizations.COMMITMENT_LETTER_TEXT, spelled out so that pybabel finds it
    # (tests/i18n checks the two are the same text: a new version needs a new translation).
    N_(
        "Commitment letter for operating on customers' behalf (代客操作承诺函), version 2026-1. "
        "The partner orders, renews or pays for a customer's resources only with that customer's "
        "valid authorization and only within it; keeps the customer informed of every "
        "operation; follows the vendor's partner policies and supply paths; and cooperates with "
        "the vendor's audits of these operations. The customer may revoke an authorization at "
        "any time."
    ),
    N_("china"),
    N_("overseas"),
)


def gettext(locale: str, message: str) -> str:
    """``message`` in ``locale`` (the English msgid itself when there is no translation)."""
    return str(translations(locale).gettext(message))


def term(locale: str, value: object) -> str:
    """A marked English text in ``locale``: a ``MarkedText`` (an import's row error or note,
    a missing item of a threshold) with its values put in, else the text's own entry."""
    if isinstance(value, MarkedText):
        return value.translated(lambda message: gettext(locale, message))
    return gettext(locale, str(value)) if value else ""


def cli_locale(option: str | None, environ: Mapping[str, str]) -> str:
    """The CLI's language: ``--lang`` first, then ``LC_ALL``, ``LC_MESSAGES``, ``LANG`` as
    POSIX reads them. A shell whose locale is neither Chinese nor English (``C``, ``POSIX``,
    unset) gets English, the language the CLI's own words are written in."""
    if option:
        if normalize(option, "") == "":
            raise ValueError(f"unknown language {option!r}: use zh-CN or en")
        return normalize(option)
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(name)
        if value:
            return normalize(value, "en")
    return "en"


def refusal_message(rule: str, message: str, locale: str) -> str:
    """A refusal for a reader of ``locale``: the detailed English message as raised, or the
    rule's message from the catalog (``domain.rule_messages``) in another language. Several
    rules refusing at once (``"a,b"``) give each its message."""
    if locale == "en":
        return message
    if "," in rule:
        return "".join(refusal_message(r.strip(), message, locale) for r in rule.split(","))
    if rule in RULE_MESSAGES:
        return gettext(locale, RULE_MESSAGES[rule])
    area, _, status = rule.partition("_")
    if area in STATUS_AREA_NAMES and status:
        return gettext(locale, STATUS_MESSAGE) % {
            "area": gettext(locale, STATUS_AREA_NAMES[area]),
            "status": gettext(locale, status.upper()),
        }
    return message


def zone_for(locale: str, timezone: str | None = None) -> ZoneInfo:
    """The reader's own zone if valid, else the default zone of their locale."""
    if timezone:
        try:
            return ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return ZoneInfo(DEFAULT_ZONES.get(locale, "UTC"))


def parse_time(value: object) -> datetime | None:
    """A datetime from what workflows put into emails: a datetime, ISO text, or the
    ``2026-03-01 09:00 UTC`` / ``2026-03-01`` forms of ``fmt_utc``. None if it is none of them."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str):
        return None
    text = value.strip().removesuffix(" UTC").replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def format_when(value: object, locale: str, timezone: str | None = None) -> str:
    """A time for a reader: ``2026年3月1日 17:00 北京时间`` in zh-CN, ``March 1, 2026 9:00 AM UTC``
    in en. A date alone stays a date; text that is no time is shown as it is."""
    if isinstance(value, str) and len(value.strip()) == 10:
        try:
            return format_date(date.fromisoformat(value.strip()), "long", locale=_babel(locale))
        except ValueError:
            return value
    at = parse_time(value)
    if at is None:
        return str(value)
    zone = zone_for(locale, timezone)
    local = at.astimezone(zone)
    babel_locale = _babel(locale)
    day = format_date(local, "long", locale=babel_locale)
    # CLDR puts a narrow no-break space before AM/PM: a plain space reads the same everywhere.
    clock = format_time(local, "short", tzinfo=zone, locale=babel_locale).replace("\u202f", " ")
    return f"{day} {clock} {_zone_label(zone, locale)}"


def _zone_label(zone: ZoneInfo, locale: str) -> str:
    if zone.key == "Asia/Shanghai":
        return "北京时间" if locale == "zh-CN" else "Beijing time"
    return zone.key


def format_money(value: object, locale: str) -> str:
    """CNY with two decimals and grouping: ``¥1,234.50`` in both locales."""
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    sign = "-" if amount < 0 else ""
    return f"{sign}¥{format_decimal(abs(amount), '#,##0.00', locale=_babel(locale))}"


@cache
def _babel(locale: str) -> Locale:
    return Locale.parse(gettext_dir_name(locale))
