"""Pure sales rules: quote money, quote status, approval rules, service-order stages, surveys."""
