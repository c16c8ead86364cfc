"""Pure report definitions: per-ticket facts, filters, periods and the figures' formulas."""
