"""Custom field columns (`cf.<key>`) of an import: typed and checked per row."""

from __future__ import annotations

from collections.abc import Sequence

from domain.custom_fields import Definition, from_cell, validate
from domain.customer_import import CustomerDraft, RowError


class CustomFieldRows:
    """Checks a new customer's custom cells; rows with a problem become row errors."""

    def __init__(self, definitions: Sequence[Definition]) -> None:
        self.definitions = list(definitions)
        self.by_key = {d.key: d for d in definitions}
        self.required = any(d.required and d.active for d in definitions)
        self._errors: dict[int, list[RowError]] = {}

    def check(self, draft: CustomerDraft) -> bool:
        """Fill `draft.custom_fields`; True when the row has custom field errors."""
        if not draft.custom_cells and not self.required:
            return False
        values = {
            key: from_cell(self.by_key[key], cell) if key in self.by_key else cell
            for key, cell in draft.custom_cells.items()
        }
        checked = validate(self.definitions, values)
        if checked.errors:
            self._errors[id(draft)] = [RowError(path, message) for path, message in checked.errors]
            return True
        draft.custom_fields = checked.values
        return False

    def errors(self, draft: CustomerDraft) -> list[RowError]:
        return self._errors.pop(id(draft), [])
