"""OpenAPI links: from each create to the operations on what it created."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

METHODS = ("get", "put", "patch", "post", "delete")
_PARAM = re.compile(r"\{([^}]+)\}")
# Creates whose answer names the new resource by another field than `id`.
KEY_FIELD = {"/api/v1/public/feedback": "status_token"}


def _response_fields(schema: dict[str, Any], response: dict[str, Any]) -> set[str]:
    """Top-level property names of a JSON response (following one $ref)."""
    body = response.get("content", {}).get("application/json", {}).get("schema", {})
    ref = body.get("$ref", "")
    if ref.startswith("#/components/schemas/"):
        body = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]
    return set(body.get("properties", {}))


def add_links(schema: dict[str, Any]) -> dict[str, Any]:
    """Link each 201 create at `P` to every operation at `P/{x}…` with one new parameter."""
    paths: dict[str, dict[str, Any]] = schema.get("paths", {})
    for path, item in paths.items():
        create = item.get("post")
        created = (create or {}).get("responses", {}).get("201")
        if created is None:
            continue
        field = KEY_FIELD.get(path, "id")
        if field not in _response_fields(schema, created):
            continue
        known = _PARAM.findall(path)
        links: dict[str, Any] = {}
        for other, other_item in paths.items():
            if not other.startswith(path + "/{"):
                continue
            new = [p for p in _PARAM.findall(other) if p not in known]
            if len(new) != 1 or not other[len(path) + 1 :].startswith("{" + new[0] + "}"):
                continue
            parameters = {p: f"$request.path.{p}" for p in known}
            parameters[new[0]] = f"$response.body#/{field}"
            for method in METHODS:
                operation = other_item.get(method)
                if operation is not None:
                    links[operation["operationId"]] = {
                        "operationId": operation["operationId"],
                        "parameters": parameters,
                        "description": f"{method.upper()} {other} on what this created",
                    }
        if links:
            created["links"] = links
    return schema


def install_openapi_links(app: FastAPI) -> None:
    """Serve the schema with links (built once, like FastAPI's own)."""
    build: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = add_links(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
