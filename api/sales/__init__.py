"""Sales HTTP: needs, solutions, quotes, approval rules, service orders and public pages."""
