"""The attestation vocabulary (version 1): each claim's fields, subjects and signers."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from factories import MemoryLog, Reject, World

from ledger.bodies import CLAIM_RULES, CLAIMS, VOCABULARY, check_body
from ledger.errors import ForbiddenError, ValidationError

DIGEST = "ab" * 32

# A valid vocabulary-1 attestation of each claim: (signer, subject kind, subject id, fields).
EXAMPLES: dict[str, tuple[str, str, str, dict[str, Any]]] = {
    "site.inspection": (
        "inspector-a",
        "site",
        "site-a",
        {"inspector": "A. Inspector", "agency": "CEEC", "date": "2026-01-10"},
    ),
    "child_labour_free": ("inspector-a", "site", "site-a", {"visits": 2, "workers_checked": 40}),
    "mercury_free": ("inspector-a", "site", "site-b", {"method": "gravity and borax"}),
    "mercury_use_reduced": (
        "auditor-a",
        "actor",
        "coop-b",
        {"baseline_g_month": 900, "current_g_month": 300},
    ),
    "no_armed_group_presence": ("inspector-a", "site", "site-a", {"visits": 3}),
    "no_security_force_abuse": ("auditor-a", "site", "site-a", {"visits": 1, "interviews": 12}),
    "ohs_training": ("auditor-a", "actor", "coop-a", {"trained": 25, "topics": ["first aid"]}),
    "women_participation": ("auditor-a", "actor", "coop-a", {"women": 19, "workers": 50}),
    "fair_payment": ("auditor-a", "actor", "coop-a", {"basis": "payroll reviewed"}),
    "assay": (
        "auditor-a",
        "lot",
        "lot-1",
        {"grade_ppm": 652_000, "method": "XRF", "laboratory": "Lab A", "mineral": "tin"},
    ),
}
# One required field of each claim.
REQUIRED = {
    "site.inspection": "agency",
    "child_labour_free": "visits",
    "mercury_free": "method",
    "mercury_use_reduced": "baseline_g_month",
    "no_armed_group_presence": "visits",
    "no_security_force_abuse": "visits",
    "ohs_training": "topics",
    "women_participation": "workers",
    "fair_payment": "basis",
    "assay": "laboratory",
}


def _body(claim: str, **changes: Any) -> dict[str, Any]:
    _by, kind, subject, fields = EXAMPLES[claim]
    body: dict[str, Any] = {
        "id": "att-1",
        "claim": claim,
        "subject": {"kind": kind, "id": subject},
        "valid_from": "2026-01-10",
        "valid_until": "2026-12-31",
        "evidence": [DIGEST],
        "vocabulary": 1,
        "fields": copy.deepcopy(fields),
    }
    if claim == "site.inspection":
        body["result"] = "green"
    body.update(changes)
    return body


def _attest(world: World, claim: str, **changes: Any) -> Any:
    by, kind, subject, fields = EXAMPLES[claim]
    args: dict[str, Any] = {
        "by": by,
        "claim": claim,
        "kind": kind,
        "subject": subject,
        "valid_from": "2026-01-10",
        "evidence": [DIGEST],
        "vocabulary": 1,
        "fields": fields,
        "result": "green" if claim == "site.inspection" else None,
    }
    args.update(changes)
    return world.attest("att-1", **args)


def test_every_claim_has_a_rule() -> None:
    assert set(CLAIM_RULES) == CLAIMS == set(EXAMPLES)
    assert VOCABULARY == 1


@pytest.mark.parametrize("claim", sorted(EXAMPLES))
def test_each_claim_is_accepted(world: World, mlog: MemoryLog, claim: str) -> None:
    world.run(world.register_lot("lot-1"))
    world.run(_attest(world, claim))
    attestation = mlog.state.attestation("att-1")
    assert attestation is not None and attestation.claim == claim


@pytest.mark.parametrize("claim", sorted(EXAMPLES))
def test_each_claims_fields_are_required(claim: str) -> None:
    required = REQUIRED[claim]
    body = _body(claim)
    del body["fields"][required]
    with pytest.raises(ValidationError, match=rf"body\.fields\.{required} is required"):
        check_body("attestation", body)


@pytest.mark.parametrize("claim", sorted(EXAMPLES))
def test_each_claim_refuses_unknown_fields(claim: str) -> None:
    body = _body(claim)
    body["fields"]["colour"] = "blue"
    with pytest.raises(ValidationError, match=r"body\.fields\.colour is not a field"):
        check_body("attestation", body)


@pytest.mark.parametrize(
    ("claim", "field", "value", "message"),
    [
        ("site.inspection", "date", "2026-02-30", "is not a real date"),
        ("child_labour_free", "visits", 0, "from 1 to 1000"),
        ("women_participation", "women", -1, "from 0 to"),
        ("ohs_training", "topics", [], "1 to 32 items"),
        ("assay", "grade_ppm", 1_000_001, "from 0 to 1000000"),
        ("assay", "mineral", "uranium", "must be one of"),
        ("fair_payment", "basis", " padded", "not padded"),
    ],
)
def test_field_types(claim: str, field: str, value: Any, message: str) -> None:
    body = _body(claim)
    body["fields"][field] = value
    with pytest.raises(ValidationError, match=message):
        check_body("attestation", body)


@pytest.mark.parametrize(
    ("claim", "changes", "field", "message"),
    [
        (
            "women_participation",
            {"fields": {"women": 51, "workers": 50}},
            "body.fields.women",
            "must not exceed body.fields.workers",
        ),
        (
            "mercury_use_reduced",
            {"fields": {"baseline_g_month": 300, "current_g_month": 300}},
            "body.fields.current_g_month",
            "must be below",
        ),
        ("assay", {"evidence": []}, "body.evidence", "digest of the assay certificate"),
        (
            "site.inspection",
            {"valid_from": "2026-01-09"},
            "body.valid_from",
            "must not be before body.fields.date",
        ),
    ],
)
def test_cross_field_checks(claim: str, changes: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message) as info:
        check_body("attestation", _body(claim, **changes))
    assert info.value.details["field"] == field


@pytest.mark.parametrize("result", [None, "blue", "Green"])
def test_inspection_result_under_vocabulary_1(result: str | None) -> None:
    body = _body("site.inspection")
    if result is None:
        del body["result"]
    else:
        body["result"] = result
    with pytest.raises(ValidationError, match="green, yellow or red") as info:
        check_body("attestation", body)
    assert info.value.code == "bad_claim"


def test_fields_need_a_vocabulary() -> None:
    body = _body("mercury_free")
    del body["vocabulary"]
    with pytest.raises(ValidationError, match=r"body\.fields needs body\.vocabulary"):
        check_body("attestation", body)


def test_a_vocabulary_needs_fields() -> None:
    body = _body("mercury_free")
    del body["fields"]
    with pytest.raises(ValidationError, match=r"body\.fields is required under vocabulary 1"):
        check_body("attestation", body)


@pytest.mark.parametrize("version", [0, 2, "1", True])
def test_unknown_vocabulary_versions(version: Any) -> None:
    with pytest.raises(ValidationError, match=r"body\.vocabulary must be an integer from 1 to 1"):
        check_body("attestation", _body("mercury_free", vocabulary=version))


def test_version_0_attestations_are_checked_as_before() -> None:
    body = _body("assay", evidence=[], result="Sn 65% by XRF")
    del body["vocabulary"], body["fields"]
    check_body("attestation", body)  # no assay fields, no evidence: still valid as version 0


@pytest.mark.parametrize(
    ("claim", "kind", "subject"),
    [
        ("no_armed_group_presence", "actor", "coop-a"),
        ("assay", "site", "site-a"),
        ("women_participation", "lot", "lot-1"),
        ("no_security_force_abuse", "actor", "coop-a"),
        ("fair_payment", "site", "site-a"),
    ],
)
def test_claim_subject_kinds(
    world: World, reject: Reject, claim: str, kind: str, subject: str
) -> None:
    world.run(world.register_lot("lot-1"))
    submission = _attest(world, claim, kind=kind, subject=subject)
    error = reject(submission, ValidationError, code="bad_subject", match=f"not {kind}")
    assert error.details["field"] == "body.subject.kind"


@pytest.mark.parametrize(
    ("claim", "by"), [("site.inspection", "auditor-a"), ("assay", "inspector-a")]
)
def test_claim_signers(world: World, reject: Reject, claim: str, by: str) -> None:
    world.run(world.register_lot("lot-1"))
    reject(
        _attest(world, claim, by=by),
        ForbiddenError,
        code="wrong_role",
        match=f"may not sign {claim} attestations",
    )


def test_version_0_keeps_its_signers(world: World, mlog: MemoryLog) -> None:
    """Without a vocabulary, any auditor or inspector signs any claim about any subject."""
    world.run(world.attest("insp-0", by="auditor-a", claim="site.inspection", result="red"))
    world.run(world.attest("assay-0", by="inspector-a", claim="assay", kind="site"))
    assert mlog.state.attestation("insp-0") is not None
    assert mlog.state.attestation("assay-0") is not None


def test_inspection_cannot_be_dated_ahead(world: World, reject: Reject) -> None:
    submission = world.inspect("insp-1", "green", date="2026-01-20", valid_from="2026-01-20")
    error = reject(
        submission, ValidationError, code="inspected_in_future", match="after the statement's date"
    )
    assert error.details["field"] == "body.fields.date"
