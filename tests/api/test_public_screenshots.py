"""Screenshots on the public feedback form: images only, at most 3, each size-limited."""

from __future__ import annotations

import io
import json
from typing import Any

import httpx

from tests.api.attachment_support import ELF, PDF, png
from tests.api.intake_support import anonymous, make_category, ticket
from tests.conftest import Org

PUBLIC = "/api/v1/public/feedback"


def form(category: str, images: list[tuple[str, bytes]]) -> dict[str, Any]:
    feedback = {"category": category, "description": "The button overlaps the price."}
    return {
        "data": {"feedback": json.dumps(feedback)},
        "files": [("images", (name, io.BytesIO(data), "image/png")) for name, data in images],
    }


async def test_feedback_with_screenshots_attaches_them_to_the_ticket(
    app: object, http: httpx.AsyncClient, org: Org
) -> None:
    category = await make_category(http, org.admin, org.department_id)
    shots = [("one.png", png()), ("two.png", png(extra=500))]
    async with anonymous(app) as public:
        created = await public.post(PUBLIC, **form(category, shots))
    assert created.status_code == 201, created.text
    staff = await ticket(http, org.admin, created.json()["number"])
    listed = await http.get(f"/api/v1/tickets/{staff['id']}/attachments", headers=org.admin.headers)
    assert sorted(a["filename"] for a in listed.json()) == ["one.png", "two.png"]
    first = listed.json()[0]
    assert first["created_by"] is None
    download = await http.get(f"/api/v1/attachments/{first['id']}", headers=org.admin.headers)
    assert download.content in {data for _, data in shots}


async def test_public_form_refuses_non_images_too_many_and_oversize(
    app: object, http: httpx.AsyncClient, org: Org
) -> None:
    category = await make_category(http, org.admin, org.department_id)
    async with anonymous(app) as public:
        pdf = await public.post(PUBLIC, **form(category, [("shot.png", PDF)]))
        assert pdf.status_code == 422
        assert pdf.json()["error"]["details"]["errors"][0]["field"] == "images.0"
        elf = await public.post(PUBLIC, **form(category, [("ok.png", png()), ("x.png", ELF)]))
        assert elf.json()["error"]["details"]["errors"][0]["field"] == "images.1"
        four = await public.post(PUBLIC, **form(category, [("a.png", png())] * 4))
        assert four.status_code == 422
        big = await public.post(PUBLIC, **form(category, [("big.png", png(extra=3_100_000))]))
        assert big.status_code == 413
        plain = await public.post(PUBLIC, json={"category": category, "description": "still json"})
        assert plain.status_code == 201
