"""Development-path thresholds: each below / at / above, and what a refusal says is missing."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from domain.certification import (
    CertificateKind,
    CertLevel,
    CloudCase,
    DevelopmentPath,
    PathFacts,
    PathThresholds,
    ServiceThresholds,
    SoftwareThresholds,
    StaffCertificate,
    company_path_refusal,
    counted_per_person,
    describe_shortfalls,
    leave_problem,
    needs_join_approval,
    shortfalls,
)

TODAY = date(2026, 11, 23)
SOFTWARE, SERVICE = DevelopmentPath.SOFTWARE, DevelopmentPath.SERVICE
ROLE, DIFF = CertLevel.ROLE, CertLevel.DIFFERENTIATION
K = CertificateKind
_numbers = iter(range(1, 10_000))


def cert(holder: str, kind: CertificateKind, expires_on: date | None = None) -> StaffCertificate:
    return StaffCertificate(
        holder=holder, kind=kind, number=f"N{next(_numbers)}", expires_on=expires_on
    )


def case(days_ago: int) -> CloudCase:
    return CloudCase(case_id=f"CASE-{days_ago}", completed_on=TODAY - timedelta(days=days_ago))


def facts(**kw: object) -> PathFacts:
    return PathFacts(partner_id="P-1", **kw)


def rules(
    f: PathFacts,
    path: DevelopmentPath = SERVICE,
    level: CertLevel = ROLE,
    held: set[CertLevel] | None = None,
    th: PathThresholds | None = None,
) -> list[str]:
    return [s.rule for s in shortfalls(path, level, f, th or PathThresholds(), TODAY, held)]


# ----- software path -------------------------------------------------------------------------


@pytest.mark.parametrize(("solutions", "met"), [(0, False), (1, True), (3, True)])
def test_software_role_needs_one_certified_solution(solutions: int, met: bool) -> None:
    found = shortfalls(
        SOFTWARE, ROLE, facts(certified_solutions=solutions), PathThresholds(), TODAY
    )
    assert (found == []) is met
    if not met:
        assert found[0].rule == "software_role_solutions"
        assert "needs >= 1 certified cloud software solution" in found[0].message
        assert "has 0: 1 more to certify" in found[0].message


@pytest.mark.parametrize(("advanced", "met"), [(0, False), (1, True), (2, True)])
def test_software_differentiation_needs_one_advanced_solution(advanced: int, met: bool) -> None:
    f = facts(certified_solutions=2, advanced_solutions=advanced)
    assert (rules(f, SOFTWARE, DIFF, {ROLE}) == []) is met
    if not met:
        assert rules(f, SOFTWARE, DIFF, {ROLE}) == ["software_differentiation_advanced"]


def test_differentiation_comes_after_role() -> None:
    f = facts(certified_solutions=2, advanced_solutions=2)
    found = shortfalls(SOFTWARE, DIFF, f, PathThresholds(), TODAY, set())
    assert [s.rule for s in found] == ["earlier_level_first"]
    assert "comes after role certification" in found[0].message


def test_software_thresholds_are_configurable() -> None:
    th = PathThresholds(software=SoftwareThresholds(role_min_solutions=3))
    assert rules(facts(certified_solutions=2), SOFTWARE, ROLE, th=th) == ["software_role_solutions"]
    assert rules(facts(certified_solutions=3), SOFTWARE, ROLE, th=th) == []


# ----- service path --------------------------------------------------------------------------


def qualified(extra: list[StaffCertificate] | None = None) -> PathFacts:
    """Exactly at the rule: 2 persons, 4 certificates (one an HCSA+HCSP pair), one HCIA,
    one recent case."""
    certs = [
        cert("alice", K.HCSA),
        cert("alice", K.HCSP),
        cert("alice", K.HCIA),
        cert("bob", K.HCIP),
        cert("bob", K.HCIA),
    ]
    return facts(certificates=certs + (extra or []), cases=[case(30)])


def test_service_role_at_threshold() -> None:
    assert counted_per_person(qualified().certificates, TODAY, ServiceThresholds()) == {
        "alice": 2,
        "bob": 2,
    }
    assert rules(qualified()) == []


def test_service_role_above_threshold() -> None:
    assert rules(qualified([cert("carol", K.HCIP), cert("carol", K.HCIA)])) == []


def test_service_path_has_no_differentiation_level() -> None:
    assert rules(qualified(), SERVICE, DIFF, {ROLE}) == ["no_such_level"]


def test_persons_below() -> None:
    certs = [cert("alice", k) for k in (K.HCIA, K.HCIA, K.HCIP, K.HCIP)]
    assert rules(facts(certificates=certs, cases=[case(1)])) == ["service_persons"]


def test_certificates_below() -> None:
    certs = [cert("alice", K.HCIA), cert("bob", K.HCIA), cert("bob", K.HCIP)]
    found = shortfalls(
        SERVICE, ROLE, facts(certificates=certs, cases=[case(1)]), PathThresholds(), TODAY
    )
    assert [s.rule for s in found] == ["service_certificates"]
    assert found[0].needed == 4 and found[0].have == 3
    assert "1 more" in found[0].message


def test_hcsa_hcsp_pair_on_one_account_counts_as_one() -> None:
    pair_one_person = [cert("alice", K.HCSA), cert("alice", K.HCSP)]
    split = [cert("alice", K.HCSA), cert("bob", K.HCSP)]
    rule = ServiceThresholds()
    assert counted_per_person(pair_one_person, TODAY, rule) == {"alice": 1}
    # Split over two accounts, neither shows as a certificate.
    assert counted_per_person(split, TODAY, rule) == {}


def test_hcip_stands_in_for_hcia_and_four_hcips_without_hcia() -> None:
    four_hcips = [
        cert("alice", K.HCIP),
        cert("alice", K.HCIP),
        cert("bob", K.HCIP),
        cert("bob", K.HCIP),
    ]
    assert rules(facts(certificates=four_hcips, cases=[case(1)])) == []
    # Four certificates, but no HCIA and only three HCIPs: the pair does not replace an HCIP.
    three_and_pair = [
        cert("alice", K.HCSA),
        cert("alice", K.HCSP),
        cert("alice", K.HCIP),
        cert("bob", K.HCIP),
        cert("bob", K.HCIP),
    ]
    found = shortfalls(
        SERVICE, ROLE, facts(certificates=three_and_pair, cases=[case(1)]), PathThresholds(), TODAY
    )
    assert [s.rule for s in found] == ["service_hcips_without_hcia"]
    assert "add an HCIA or 1 more HCIP" in found[0].message


def test_hcip_does_not_count_when_the_policy_says_so() -> None:
    th = PathThresholds(
        service=ServiceThresholds(hcip_stands_in_for_hcia=False, hcips_without_hcia=0)
    )
    assert "service_certificates" in rules(qualified(), th=th)


def test_expired_and_duplicate_certificates_do_not_count() -> None:
    expired = cert("bob", K.HCIA, expires_on=TODAY - timedelta(days=1))
    certs = [cert("alice", K.HCIA), cert("alice", K.HCIP), cert("bob", K.HCIP), expired]
    dup = certs[0].model_copy()
    assert rules(facts(certificates=[*certs, dup], cases=[case(1)])) == ["service_certificates"]


@pytest.mark.parametrize(("days_ago", "met"), [(366, False), (365, True), (10, True)])
def test_cloud_case_in_the_last_12_months(days_ago: int, met: bool) -> None:
    f = qualified()
    f.cases = [case(days_ago)]
    assert (rules(f) == []) is met
    if not met:
        assert rules(f) == ["service_cloud_cases"]


def test_every_missing_item_is_named() -> None:
    found = shortfalls(SERVICE, ROLE, facts(), PathThresholds(), TODAY)
    assert [s.rule for s in found] == [
        "service_persons",
        "service_certificates",
        "service_hcips_without_hcia",
        "service_cloud_cases",
    ]
    text = describe_shortfalls(found)
    assert "2 more person(s)" in text and "4 more" in text and "cloud service case" in text


# ----- company rules and leaving -------------------------------------------------------------


def test_service_path_once_per_company() -> None:
    assert company_path_refusal(SERVICE, []) is None
    refusal = company_path_refusal(SERVICE, ["P-2"])
    assert refusal is not None and "once per company" in refusal and "P-2" in refusal


def test_software_path_again_needs_the_managers_approval() -> None:
    assert company_path_refusal(SOFTWARE, ["P-2"]) is None
    assert needs_join_approval(SOFTWARE, ["P-2"])
    assert not needs_join_approval(SOFTWARE, [])


def test_leave_only_before_role_certification() -> None:
    assert leave_problem([]) is None
    problem = leave_problem([ROLE])
    assert problem is not None and "only before role certification" in problem
