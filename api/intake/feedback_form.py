"""The public feedback body: JSON, or multipart with the JSON in `feedback` and ≤ 3 `images`."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from api.intake.schemas import FeedbackIn
from core.errors import Invalid

MAX_IMAGES = 3


@dataclass
class FeedbackForm:
    body: FeedbackIn
    images: list[UploadFile] = field(default_factory=list)


def _invalid(exc: ValidationError, *prefix: str) -> RequestValidationError:
    errors = [{**err, "loc": (*prefix, *err["loc"])} for err in exc.errors()]
    return RequestValidationError(errors)


def is_multipart(request: Request) -> bool:
    return request.headers.get("content-type", "").startswith("multipart/form-data")


async def feedback_form(request: Request) -> FeedbackForm:
    """Parse either form of the body (422 naming the field on anything malformed)."""
    if not is_multipart(request):
        try:
            data = json.loads(await request.body())
        except ValueError as exc:
            raise Invalid("body", "the body is not valid JSON") from exc
        try:
            return FeedbackForm(FeedbackIn.model_validate(data))
        except ValidationError as exc:
            raise _invalid(exc, "body") from exc
    form = await request.form(max_files=MAX_IMAGES + 1, max_fields=8)
    raw = form.get("feedback")
    if not isinstance(raw, str):
        raise Invalid("feedback", "the form needs a `feedback` field holding the JSON document")
    try:
        body = FeedbackIn.model_validate_json(raw)
    except ValidationError as exc:
        raise _invalid(exc, "feedback") from exc
    images = [item for item in form.getlist("images") if isinstance(item, UploadFile)]
    if len(images) > MAX_IMAGES:
        raise Invalid("images", f"at most {MAX_IMAGES} images")
    return FeedbackForm(body, images)


def _inline(schema: Any, defs: dict[str, Any]) -> Any:
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inline(defs[ref.removeprefix("#/$defs/")], defs)
        return {k: _inline(v, defs) for k, v in schema.items() if k != "$defs"}
    if isinstance(schema, list):
        return [_inline(item, defs) for item in schema]
    return schema


def openapi_body() -> dict[str, Any]:
    """The request body as documented: both content types."""
    schema = FeedbackIn.model_json_schema()
    inline = _inline(schema, schema.get("$defs", {}))
    multipart = {
        "type": "object",
        "required": ["feedback"],
        "properties": {
            "feedback": {"type": "string", "description": "the FeedbackIn document as JSON"},
            "images": {
                "type": "array",
                "maxItems": MAX_IMAGES,
                "items": {"type": "string", "format": "binary"},
            },
        },
    }
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": inline},
                "multipart/form-data": {"schema": multipart},
            },
        }
    }
