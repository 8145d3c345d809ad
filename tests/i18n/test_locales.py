"""Choosing a language: locale spellings, the CLI's --lang / LANG, refusals by rule id."""

from __future__ import annotations

import pytest

from infra.i18n import cli_locale, format_money, normalize, refusal_message


@pytest.mark.parametrize(
    ("value", "expected"),
    [("zh_CN.UTF-8", "zh-CN"), ("zh-cn", "zh-CN"), ("zh", "zh-CN"), ("en_US", "en"), ("", "zh-CN")],
)
def test_normalize(value: str, expected: str) -> None:
    assert normalize(value) == expected


def test_cli_language_comes_from_the_option_then_the_environment() -> None:
    assert cli_locale("zh-CN", {"LANG": "en_US.UTF-8"}) == "zh-CN"
    assert cli_locale(None, {"LANG": "zh_CN.UTF-8"}) == "zh-CN"
    assert cli_locale(None, {"LANG": "zh_CN.UTF-8", "LC_ALL": "en_GB.UTF-8"}) == "en"
    assert cli_locale(None, {"LANG": "C.UTF-8"}) == "en"
    assert cli_locale(None, {}) == "en"
    with pytest.raises(ValueError, match="unknown language"):
        cli_locale("fr", {})


def test_several_rules_refusing_at_once_each_give_their_message() -> None:
    text = refusal_message("credit_account_no_resale,special_contract", "detail", "zh-CN")
    assert text == "客户有信用账户，无法以代售模式关联伙伴。客户有特殊合同，无法关联伙伴。"
    assert refusal_message("no_such_rule_id", "as raised", "zh-CN") == "as raised"


def test_money_is_cny_with_grouping_in_both_languages() -> None:
    assert format_money("1234.5", "zh-CN") == format_money("1234.50", "en") == "¥1,234.50"
    assert format_money("-12", "en") == "-¥12.00"
