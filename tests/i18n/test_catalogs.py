"""The catalogs are complete: every message of the sources has a zh-CN translation with the
same placeholders, and the English catalog adds no placeholder of its own."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from domain.authorizations import COMMITMENT_LETTER_TEXT
from domain.rule_messages import RULE_MESSAGES, STATUS_AREA_NAMES
from domain.rules import RULES, STATUS_AREAS
from infra.config import PROJECT_ROOT
from infra.i18n import LOCALES_DIR, TERMS, refusal_message

PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|%%")


def _read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as fp:
        return read_po(fp, locale=locale)


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    """The messages of the sources as they are now (not the committed .pot, which may lag)."""
    pot = tmp_path_factory.mktemp("pot") / "messages.pot"
    pybabel = Path(sys.executable).parent / "pybabel"
    subprocess.run(
        [str(pybabel), "-q", "extract", "-F", "babel.cfg", "-k", "N_", "-o", str(pot), "."],
        cwd=PROJECT_ROOT,
        check=True,
    )
    return _read(pot)


def _placeholders(text: str) -> list[str]:
    return sorted(m.group(0) for m in PLACEHOLDER.finditer(text))


def test_every_message_has_a_zh_cn_translation_with_the_same_placeholders(
    extracted: Catalog,
) -> None:
    zh = _read(LOCALES_DIR / "zh_CN" / "LC_MESSAGES" / "messages.po", "zh_CN")
    ids = [m.id for m in extracted if m.id]
    assert len(ids) > 400
    problems = []
    for msgid in ids:
        assert isinstance(msgid, str)
        entry = zh.get(msgid)
        if entry is None or not entry.string or entry.fuzzy:
            problems.append(f"no zh-CN translation: {msgid!r}")
        elif _placeholders(msgid) != _placeholders(str(entry.string)):
            problems.append(f"placeholders differ: {msgid!r} -> {entry.string!r}")
    assert problems == [], "\n".join(problems)


def test_english_catalog_covers_the_same_ids_and_placeholders(extracted: Catalog) -> None:
    en = _read(LOCALES_DIR / "en" / "LC_MESSAGES" / "messages.po", "en")
    problems = []
    for message in extracted:
        if not message.id:
            continue
        entry = en.get(message.id)
        if entry is None:
            problems.append(f"missing from en: {message.id!r}")
        elif entry.string and _placeholders(str(message.id)) != _placeholders(str(entry.string)):
            problems.append(f"placeholders differ: {message.id!r} -> {entry.string!r}")
    assert problems == [], "\n".join(problems)


def test_the_commitment_letter_in_the_catalog_is_the_current_version() -> None:
    # A new letter version is a new text: without this, it would silently go out in English.
    assert COMMITMENT_LETTER_TEXT in TERMS


def test_the_placeholder_check_fails_on_a_broken_translation() -> None:
    assert _placeholders("%(a)s und %(b)s") != _placeholders("%(a)s 和 %(c)s")
    assert _placeholders("100%% %(a)s") == _placeholders("%(a)s 100%%")


def test_every_rule_id_has_its_message_in_both_catalogs() -> None:
    assert set(RULE_MESSAGES) == set(RULES), sorted(set(RULES) ^ set(RULE_MESSAGES))
    assert set(STATUS_AREA_NAMES) == set(STATUS_AREAS)
    en = _read(LOCALES_DIR / "en" / "LC_MESSAGES" / "messages.po", "en")
    zh = _read(LOCALES_DIR / "zh_CN" / "LC_MESSAGES" / "messages.po", "zh_CN")
    for rule, message in RULE_MESSAGES.items():
        assert en.get(message) is not None, f"{rule}: not in the en catalog"
        entry = zh.get(message)
        assert entry is not None and entry.string, f"{rule}: no zh-CN message"
        assert _placeholders(message) == _placeholders(str(entry.string)), rule
        chinese = refusal_message(rule, "detail", "zh-CN")
        assert re.search(r"[\u4e00-\u9fff]", chinese), f"{rule}: {chinese!r}"
        assert refusal_message(rule, "the detailed message", "en") == "the detailed message"


def test_status_refusals_read_in_chinese() -> None:
    assert refusal_message("invitation_accepted", "x", "zh-CN") == "该关联邀请已结束（已接受）。"
    assert refusal_message("payout_paid", "x", "zh-CN") == "该激励发放已结束（已发放）。"


# Synonyms the vendor does not use (docs/glossary.md gives its term on the right).
NOT_THE_VENDORS_TERMS = {
    "绑定": "关联",
    "解绑": "解除关联",
    "顾问模式": "顾问销售模式",
    "转售": "代售",
    "企业信息认证": "商业信息认证",
    "专票": "增值税专用发票",
    "奖励金": "激励",
}


def test_zh_cn_catalog_uses_the_glossary_terms() -> None:
    zh = _read(LOCALES_DIR / "zh_CN" / "LC_MESSAGES" / "messages.po", "zh_CN")
    glossary = (PROJECT_ROOT / "docs" / "glossary.md").read_text(encoding="utf-8")
    for term in (
        "关联",
        "顾问销售",
        "代售",
        "解除关联",
        "切换关联类型",
        "伙伴发展路径",
        "角色认证",
    ):
        assert term in glossary
    for term in ("差异化认证", "激励", "开票", "增值税专用发票", "大单续订", "代客授权"):
        assert term in glossary
    wrong = [
        f"{m.id!r}: {bad} (the vendor says {good})"
        for m in zh
        if m.id
        for bad, good in NOT_THE_VENDORS_TERMS.items()
        if bad in str(m.string)
    ]
    assert wrong == []


async def test_a_worker_without_compiled_catalogs_refuses_to_start(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Without the .mo files every email activity would fail and retry for ever (a `make bench`
    # on a clean clone hung that way); the worker says so at start instead, before connecting.
    from infra import i18n
    from infra.config import Settings
    from starter.services.errors import CliError
    from worker import run_worker

    monkeypatch.setattr(i18n, "LOCALES_DIR", tmp_path)
    i18n.translations.cache_clear()
    try:
        with pytest.raises(CliError, match="make locales"):
            await run_worker(Settings(temporal_address="127.0.0.1:1"))
    finally:
        i18n.translations.cache_clear()
