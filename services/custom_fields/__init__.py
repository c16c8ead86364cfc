"""Custom fields: definitions, validation of stored values and list filters."""
