"""Custom field rules without I/O: value types, required per category, stale values, filters."""

from __future__ import annotations

from domain.custom_fields import Definition, FieldType, filter_value, stale, validate

SIZE = Definition("size", FieldType.SELECT, options=("S", "M"))
TAGS = Definition("tags", FieldType.MULTISELECT, options=("a", "b"))
QTY = Definition("qty", FieldType.NUMBER)
OK = Definition("ok", FieldType.BOOL)
DUE = Definition("due", FieldType.DATE)
MODEL = Definition("model", FieldType.TEXT, required=True, categories=("product_quality",))


def test_values_are_checked_by_type_and_errors_name_the_field() -> None:
    checked = validate(
        [SIZE, TAGS, QTY, OK, DUE],
        {"size": "L", "tags": ["a", "a", "b"], "qty": True, "ok": "yes", "due": "2024-02-30"},
    )
    assert {path for path, _ in checked.errors} == {
        "custom_fields.size",
        "custom_fields.qty",
        "custom_fields.ok",
        "custom_fields.due",
    }
    assert checked.values["tags"] == ["a", "b"]


def test_required_only_in_its_categories() -> None:
    assert validate([MODEL], {}, "product_quality").errors == [
        ("custom_fields.model", "this field is required")
    ]
    assert validate([MODEL], {}, "delivery").errors == []
    assert validate([MODEL], {"model": "x"}, "delivery").errors[0][0] == "custom_fields.model"


def test_removed_options_and_fields_are_flagged_not_dropped() -> None:
    values = {"size": "L", "tags": ["a", "z"], "gone": 1, "qty": 2}
    assert stale([SIZE, TAGS, QTY], values) == {
        "size": "option_removed",
        "tags": "option_removed",
        "gone": "field_removed",
    }


def test_filters_use_the_stored_form() -> None:
    assert filter_value(QTY, "12") == {"qty": 12}
    assert filter_value(QTY, "1.5") == {"qty": 1.5}
    assert filter_value(OK, "true") == {"ok": True}
    assert filter_value(TAGS, "a") == {"tags": ["a"]}
    assert filter_value(DUE, "2024-05-01") == {"due": "2024-05-01"}


def test_spreadsheet_cells_become_typed_values() -> None:
    from datetime import date

    from domain.custom_fields import from_cell

    assert from_cell(QTY, "12") == 12
    assert from_cell(OK, "是") is True
    assert from_cell(TAGS, "a；b, c") == ["a", "b", "c"]
    assert from_cell(DUE, date(2024, 5, 1)) == "2024-05-01"
    assert from_cell(SIZE, 3.0) == "3"
