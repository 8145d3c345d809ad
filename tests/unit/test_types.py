"""The door types: business durations, names, emails and money."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from pydantic import BaseModel, ValidationError

from domain.invitations import InvitationRequest
from domain.parties import Actor, Role
from domain.reference import CustomerRow, PartnerRow
from domain.types import (
    BusinessDuration,
    Email,
    Money,
    Name,
    check_duration,
    format_duration,
    parse_duration,
)

D = timedelta


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7d", D(days=7)),
        ("36h", D(hours=36)),
        ("90s", D(seconds=90)),
        ("15m", D(minutes=15)),
        ("2w", D(weeks=2)),
        ("1.5h", D(minutes=90)),
        (" 7D ", D(days=7)),
        ("7 d", D(days=7)),
        ("P7D", D(days=7)),
        ("PT36H", D(hours=36)),
        ("pt15m", D(minutes=15)),
        ("P1DT12H", D(days=1, hours=12)),
        ("P366D", D(days=366)),
    ],
)
def test_durations_parse(text: str, expected: timedelta) -> None:
    assert check_duration(parse_duration(text)) == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("soon", "not a duration"),
        ("7", "needs a unit"),
        ("7y", "not a duration"),
        ("-7d", "not a duration"),
        ("", "not a duration"),
        ("99999999999999999999d", "this system can hold"),
        ("P", "not a duration this system can hold"),
    ],
)
def test_bad_durations_are_refused(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_duration(text)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (D(0), "must be positive"),
        (D(seconds=-1), "must be positive"),
        (D(days=367), "367d is longer than 366 days"),
        (D(days=99999999), "longer than 366 days"),
    ],
)
def test_durations_are_bounded(value: timedelta, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        check_duration(value)
    assert check_duration(D(0), allow_zero=True) == D(0)


def test_bare_numbers_take_the_settings_unit() -> None:
    assert parse_duration("3", bare_unit="d") == D(days=3)
    assert parse_duration(24, bare_unit="h") == D(hours=24)
    assert [format_duration(d) for d in (D(days=7), D(hours=36), D(minutes=15))] == [
        "7d",
        "36h",
        "15m",
    ]


def test_workflow_inputs_refuse_what_would_overflow_later() -> None:
    staff = Actor(user_id="u", role=Role.PARTNER_STAFF, partner_id="P-1")
    with pytest.raises(ValidationError, match="longer than 366 days"):
        InvitationRequest(
            partner_id="P-1", customer_id="C-1", requested_by=staff, validity=D(days=99999999)
        )
    # what pydantic wrote into stored histories still reads back (ISO 8601, seconds)
    req = InvitationRequest(partner_id="P-1", customer_id="C-1", requested_by=staff, validity="P7D")
    assert req.validity == D(days=7)
    assert InvitationRequest.model_validate_json(req.model_dump_json()) == req


class _Door(BaseModel):
    name: Name
    email: Email
    amount: Money
    wait: BusinessDuration


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", "Evil\r\nBcc: x@y"),
        ("name", "tab\there"),
        ("name", "nul\x00"),
        ("name", "line\u2028separator"),
        ("name", "   "),
        ("name", "x" * 201),
        ("email", "a@b.test\r\nBcc: x@y"),
        ("email", "a b@c.test"),
        ("email", "no-at-sign"),
        ("amount", Decimal("-0.01")),
        ("amount", Decimal("1.001")),
        ("amount", Decimal("1e20")),
        ("wait", "0s"),
        ("wait", "400d"),
    ],
)
def test_the_door_refuses(field: str, value: object) -> None:
    good: dict[str, object] = {
        "name": " Alpha Cloud ",
        "email": "a@alpha.test",
        "amount": Decimal("12.50"),
        "wait": "15m",
    }
    assert _Door.model_validate(good).name == "Alpha Cloud"
    with pytest.raises(ValidationError) as refused:
        _Door.model_validate({**good, field: value})
    assert refused.value.errors()[0]["loc"] == (field,)


def test_import_rows_refuse_header_injection() -> None:
    with pytest.raises(ValidationError, match="control characters"):
        PartnerRow.model_validate(
            {
                "id": "P-1",
                "company_name": "Evil\r\nBcc: x@y",
                "uscc": "91350100M000100Y43",
                "contact_email": "a@b.test",
                "type": "solution_provider",
            }
        )
    with pytest.raises(ValidationError, match="control characters"):
        CustomerRow.model_validate({"id": "C-1", "name": "Evil\nBcc: x@y", "email": "c@x.test"})
