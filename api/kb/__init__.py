"""Knowledge-base HTTP: articles, search, ticket cases and suggestions."""
