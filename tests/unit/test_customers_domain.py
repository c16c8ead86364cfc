"""Pure customer rules: codes, lifecycle, normalization, import rows, merge planning."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from domain.customer_import import COLUMNS, EXAMPLE_ROW, header_map, validate_row
from domain.customers import (
    Approval,
    ContactKey,
    CustomerStage,
    format_customer_code,
    initial_approval,
    normalize_email,
    normalize_phone,
    parse_tags,
    plan_contact_merge,
    primary_flags,
    stage_transition_error,
    union_tags,
)

S = CustomerStage


def test_code_is_prefix_date_and_sequence_growing_past_999() -> None:
    day = date(2024, 5, 10)
    assert format_customer_code(day, 1) == "CUS20240510001"
    assert format_customer_code(day, 999) == "CUS20240510999"
    assert format_customer_code(day, 1000) == "CUS202405101000"
    with pytest.raises(ValueError, match="starts at 1"):
        format_customer_code(day, 0)


@pytest.mark.parametrize(
    ("current", "target"),
    [(S.LEAD, S.INTENTION), (S.INTENTION, S.DEAL), (S.DEAL, S.LOST), (S.LEAD, S.LOST),
     (S.INTENTION, S.LOST), (S.LOST, S.LEAD), (S.DEAL, S.DEAL)],
)  # fmt: skip
def test_allowed_stage_moves(current: CustomerStage, target: CustomerStage) -> None:
    assert stage_transition_error(current, target) is None


@pytest.mark.parametrize(
    ("current", "target"),
    [(S.LEAD, S.DEAL), (S.DEAL, S.INTENTION), (S.LOST, S.DEAL), (S.INTENTION, S.LEAD)],
)
def test_refused_stage_moves_name_the_allowed_ones(
    current: CustomerStage, target: CustomerStage
) -> None:
    error = stage_transition_error(current, target)
    assert error is not None
    assert "allowed" in error


def test_agents_wait_for_approval_others_do_not() -> None:
    assert initial_approval("agent") is Approval.PENDING
    assert initial_approval("manager") is Approval.APPROVED
    assert initial_approval("admin") is Approval.APPROVED


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("13812345678", "+8613812345678"),
        ("138 1234 5678", "+8613812345678"),
        ("+86 138-1234-5678", "+8613812345678"),
        ("008613812345678", "+8613812345678"),
        ("010-6552 9988", "+861065529988"),
        ("+1 650 253 0000", "+16502530000"),
    ],
)
def test_phone_normalizes_to_e164_with_cn_default(raw: str, e164: str) -> None:
    assert normalize_phone(raw) == e164


@pytest.mark.parametrize("raw", ["", "12345", "abc", "1381234567", "10012345678"])
def test_invalid_phones_are_refused(raw: str) -> None:
    with pytest.raises(ValueError, match="phone"):
        normalize_phone(raw)


def test_email_normalization() -> None:
    assert normalize_email("  Zhang.San@Example.COM ") == "zhang.san@example.com"
    for bad in ("zhang", "a@b", "a b@c.com", "@x.com"):
        with pytest.raises(ValueError, match="email"):
            normalize_email(bad)


def test_tags_split_trim_and_dedupe() -> None:
    assert parse_tags("VIP; 重点客户、VIP,,区域合作伙伴") == ["VIP", "重点客户", "区域合作伙伴"]
    assert union_tags(["a", "b"], ["b", "c"], ["a"]) == ["a", "b", "c"]
    with pytest.raises(ValueError, match="at most"):
        parse_tags([f"t{i}" for i in range(21)])


def test_exactly_one_primary_contact() -> None:
    assert primary_flags([False, False]) == [True, False]
    assert primary_flags([False, True]) == [False, True]
    assert primary_flags([]) == []
    with pytest.raises(ValueError, match="only one"):
        primary_flags([True, True])


def test_merge_keeps_contacts_whose_phone_or_email_is_new() -> None:
    target = [ContactKey(1, "+8613800000001", None)]
    sources = [
        ContactKey(2, "+8613800000001", "a@x.com"),  # same phone as the target's
        ContactKey(3, None, "b@x.com"),
        ContactKey(4, "+8613800000004", "b@x.com"),  # same email as a moved one
        ContactKey(5, "+8613800000005", None),
    ]
    assert plan_contact_merge(target, sources) == ([3, 5], [2, 4])


def test_valid_row_becomes_a_draft_with_normalized_keys() -> None:
    draft, errors = validate_row(
        {
            "name": "  杭州  云栖 ",
            "type": "企业",
            "tier": "核心",
            "stage": "意向",
            "region": "杭州",
            "founded_on": datetime(2019, 3, 4),  # noqa: DTZ001 - openpyxl reads naive cells
            "birthday": "1990/1/2",
            "phone": 13812345678.0,
            "email": "A@X.com",
            "tags": "VIP;VIP",
        }
    )
    assert errors == []
    assert draft is not None
    assert (draft.name, draft.type, draft.tier, draft.stage) == (
        "杭州 云栖",
        "b2b",
        "core",
        "intention",
    )
    assert (draft.founded_on, draft.birthday) == (date(2019, 3, 4), date(1990, 1, 2))
    assert draft.phone_normalized == "+8613812345678"
    assert draft.tags == ["VIP"]
    assert draft.dedup_keys() == [("phone", "+8613812345678"), ("name_region", "杭州 云栖\x1f杭州")]


def test_bad_row_reports_every_field_and_yields_no_draft() -> None:
    draft, errors = validate_row(
        {"name": "", "tier": "gold", "phone": "123", "email": "x", "birthday": "2024-02-30"}
    )
    assert draft is None
    assert sorted(e.field for e in errors) == ["birthday", "email", "name", "phone", "tier"]


def test_headers_accept_chinese_aliases_and_template_example_is_valid() -> None:
    mapping, unknown = header_map(["客户名称", "手机", "备注", "tier"])
    assert mapping == {0: "name", 1: "phone", 3: "tier"}
    assert unknown == ["备注"]
    draft, errors = validate_row(dict(zip(COLUMNS, EXAMPLE_ROW, strict=True)))
    assert errors == []
    assert draft is not None
