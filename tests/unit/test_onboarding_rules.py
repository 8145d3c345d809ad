"""Pure onboarding rules: working-day due dates, the bank lock, business information."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from domain.onboarding import (
    ApplicationForm,
    BusinessInfo,
    WorkCalendar,
    bank_locked,
    business_info_problems,
    mask_account,
    partner_id_for,
)
from domain.parties import Actor, Role

CAL = WorkCalendar()  # UTC+8, Monday to Friday
CHINA = timezone(timedelta(hours=8))


def local(y: int, m: int, d: int, h: int = 10) -> datetime:
    """A China-time wall clock (aware datetimes compare by instant)."""
    return datetime(y, m, d, h, tzinfo=CHINA)


def test_three_working_days_within_a_week() -> None:
    monday = local(2026, 11, 23).astimezone(UTC)  # Monday 10:00 China time
    due = CAL.add_working_days(monday, 3)
    assert due == local(2026, 11, 26)  # Thursday 10:00
    assert due.tzinfo == UTC  # in the zone it was given


def test_weekend_is_skipped() -> None:
    thursday = local(2026, 11, 26)
    assert CAL.add_working_days(thursday, 3) == local(2026, 12, 1)  # Tuesday


def test_start_on_a_weekend_counts_from_monday_morning() -> None:
    saturday = local(2026, 11, 28, 15)
    assert CAL.add_working_days(saturday, 3) == local(2026, 12, 3, 0)  # Thursday 00:00


def test_holidays_and_working_weekends() -> None:
    cal = WorkCalendar(
        holidays=[date(2026, 10, 1), date(2026, 10, 2)], working_weekends=[date(2026, 10, 10)]
    )
    assert not cal.is_working_day(date(2026, 10, 1))
    assert cal.is_working_day(date(2026, 10, 10))  # a Saturday made a working day
    wednesday = local(2026, 9, 30)
    # Oct 1-2 are holidays, 3-4 a weekend: Mon 5, Tue 6, Wed 7.
    assert cal.add_working_days(wednesday, 3) == local(2026, 10, 7)


def test_local_date_decides_near_midnight() -> None:
    # Friday 23:30 UTC is Saturday 07:30 in China: counting starts on Monday.
    friday_night_utc = datetime(2026, 11, 27, 23, 30, tzinfo=UTC)
    assert CAL.add_working_days(friday_night_utc, 1) == local(2026, 12, 1, 0)


@pytest.mark.parametrize(("wrong", "locked"), [(0, False), (2, False), (3, True), (4, True)])
def test_three_wrong_entries_lock(wrong: int, locked: bool) -> None:
    assert bank_locked(wrong, 3) is locked


def _info(**kw: str) -> BusinessInfo:
    values = dict(
        company_name="Acme Cloud Ltd.",
        tax_id="91440300708461136T",
        bank_name="Bank",
        bank_account="6222 0000 1234 5678",
        account_holder="Acme Cloud Ltd.",
    )
    values.update(kw)
    return BusinessInfo(actor=Actor(user_id="C-9", role=Role.CUSTOMER, customer_id="C-9"), **values)


FORM = ApplicationForm(
    company_name="Acme Cloud Ltd.",
    uscc="91440300708461136t",
    contact_email="boss@acme.test",
    partner_type="solution_provider",
)


def test_form_normalizes_and_checks_the_uscc() -> None:
    assert FORM.uscc == "91440300708461136T"
    with pytest.raises(ValidationError, match="wrong check character"):
        ApplicationForm(
            company_name="X",
            uscc="91440300708461136A",
            contact_email="a@b.test",
            partner_type="solution_provider",
        )


def test_business_info_must_be_the_companys() -> None:
    assert business_info_problems(_info(), FORM) == []
    assert _info().bank_account == "6222000012345678"
    other_tax = _info(tax_id="914403001922038216")
    assert (
        "is not the application's unified social credit code"
        in (business_info_problems(other_tax, FORM)[0])
    )
    other_holder = _info(account_holder="Someone Else")
    assert "not by the company" in business_info_problems(other_holder, FORM)[0]
    with pytest.raises(ValidationError, match="8 to 30 digits"):
        _info(bank_account="12ab")


def test_partner_ids_for_further_accounts_of_a_company() -> None:
    uscc = "91440300708461136T"
    assert partner_id_for(uscc, set()) == f"P-{uscc}"
    assert partner_id_for(uscc, {f"P-{uscc}"}) == f"P-{uscc}-2"
    assert partner_id_for(uscc, {f"P-{uscc}", f"P-{uscc}-2"}) == f"P-{uscc}-3"
    assert mask_account("6222000012345678") == "****5678"
