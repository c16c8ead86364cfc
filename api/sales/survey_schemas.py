"""Survey bodies: three scores 1–5 and an optional comment."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

_STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Scores(BaseModel):
    model_config = _STRICT
    quality: int = Field(ge=1, le=5)
    response_speed: int = Field(ge=1, le=5)
    professionalism: int = Field(ge=1, le=5)


class SurveyIn(BaseModel):
    model_config = _STRICT
    scores: Scores
    comment: str | None = Field(None, max_length=2000)


class SurveyOut(BaseModel):
    order_no: str
    title: str
    answered: bool
    scores: dict[str, int] | None
    comment: str | None
    ticket_number: str | None
