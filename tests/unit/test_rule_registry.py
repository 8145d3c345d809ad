"""Every rule id the code raises, returns or prints is in domain/rules.py and is snake_case."""

from __future__ import annotations

import ast
from pathlib import Path

from domain.errors import (
    BusinessRuleError,
    IneligibleError,
    InvalidInputError,
    InvalidStateError,
    NotFoundError,
    PermanentDeliveryError,
    PermissionDeniedError,
)
from domain.invitations import binding_refusals
from domain.parties import (
    AssociationMode,
    BindingSnapshot,
    CustomerSnapshot,
    PartnerSnapshot,
    PartnerStatus,
    PartnerType,
)
from domain.rules import RULES, SNAKE_CASE, is_registered, rule_from_type, status_rule
from domain.unbinding import precheck_refusals

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("domain", "activities", "workflows", "starter", "infra")


def _rule_literals() -> dict[str, list[str]]:
    """``rule="..."`` keywords, ``default_rule = "..."`` and ``status_rule("area", ...)``."""
    found: dict[str, list[str]] = {}
    for folder in SOURCES:
        for path in (ROOT / folder).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            where = str(path.relative_to(ROOT))
            for node in ast.walk(tree):
                values: list[ast.expr] = []
                if isinstance(node, ast.keyword) and node.arg == "rule":
                    values = [node.value]
                    if isinstance(node.value, ast.IfExp):
                        values = [node.value.body, node.value.orelse]
                    if isinstance(node.value, ast.JoinedStr):
                        found.setdefault(f"f-string {ast.unparse(node.value)}", []).append(where)
                if isinstance(node, ast.Assign) and any(
                    isinstance(t, ast.Name) and t.id == "default_rule" for t in node.targets
                ):
                    values = [node.value]
                for v in values:
                    if isinstance(v, ast.Constant) and isinstance(v.value, str):
                        found.setdefault(v.value, []).append(f"{where}:{v.lineno}")
    return found


def test_every_rule_literal_is_registered_and_snake_case() -> None:
    found = _rule_literals()
    assert len(found) > 80  # the scan sees the code (a broken scan would pass vacuously)
    missing = {rule: where for rule, where in found.items() if not is_registered(rule)}
    assert missing == {}, "rule ids not in domain/rules.py (or not snake_case)"


def test_the_registry_is_snake_case() -> None:
    assert all(SNAKE_CASE.match(rule) for rule in RULES)
    assert not SNAKE_CASE.match("InvalidStateError")
    assert not is_registered("credit_account_no_resale,special_contract")


def test_errors_without_a_rule_carry_their_class_id() -> None:
    classes = [
        BusinessRuleError,
        NotFoundError,
        PermissionDeniedError,
        IneligibleError,
        InvalidStateError,
        InvalidInputError,
        PermanentDeliveryError,
    ]
    for cls in classes:
        err = cls("message").to_application_error()
        assert err.details[0] in RULES and SNAKE_CASE.match(err.details[0]), cls
    assert InvalidStateError("m").rule == "invalid_state"


def test_rule_tables_return_registered_ids() -> None:
    """Rules chosen from tables (not literal keywords) are registered too."""
    everything = CustomerSnapshot(
        id="C-1",
        name="C",
        email="c@x.test",
        **{
            k: True
            for k, f in CustomerSnapshot.model_fields.items()
            if f.annotation in (bool, "bool")
        },
    )
    partner = PartnerSnapshot(
        id="P-1",
        company_name="P",
        uscc="91350100M000100Y43",
        type=PartnerType.SOLUTION_PROVIDER,
        status=PartnerStatus.ACTIVE,
        contact_email="p@x.test",
    )
    elsewhere = BindingSnapshot(
        id=1, partner_id="P-2", customer_id="C-1", mode=AssociationMode.RESALE, status="active"
    )
    rules = [
        r.rule for r in binding_refusals(partner, everything, AssociationMode.RESALE, elsewhere)
    ]
    rules += [r.rule for r in precheck_refusals(everything)]
    assert len(rules) > 8
    assert [r for r in rules if r not in RULES] == []


def test_status_rules_and_type_names() -> None:
    assert status_rule("invitation", "ACCEPTED") == "invitation_accepted"
    assert is_registered(status_rule("payout", "PAID"))
    assert rule_from_type("BankUnavailableError") == "bank_unavailable"
    assert rule_from_type("InvalidStateError") == "invalid_state"
    assert rule_from_type("wrong_amount") == "wrong_amount"
