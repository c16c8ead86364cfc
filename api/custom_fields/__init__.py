"""Custom field definitions (admins) and the public form's fields."""
