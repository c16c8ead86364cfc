"""Sales services: needs, solutions, quotes, service orders and surveys."""
