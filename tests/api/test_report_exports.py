"""Exports hold the JSON's numbers: CSV (BOM, streamed), XLSX (typed, frozen, charted), PDF."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy.ext.asyncio import AsyncEngine

from core.settings import Settings
from domain.reports.definitions import REPORTS
from services.reports.exports.cells import cell_text
from tests.api.customer_support import build_team
from tests.api.report_support import WINDOW, Seeded, seed_week
from tests.conftest import Org


@pytest.fixture(scope="module")
async def team(app: object, settings: Settings) -> Org:
    return await build_team(app, settings, "rptx")


@pytest.fixture(scope="module")
async def week(team: Org, engine: AsyncEngine) -> Seeded:
    return await seed_week(engine, team.department_id)


async def fetch(
    http: httpx.AsyncClient, team: Org, name: str, fmt: str, **params: Any
) -> httpx.Response:
    query = {**WINDOW, "department_id": team.department_id, "format": fmt, **params}
    response = await http.get(f"/api/v1/reports/{name}", params=query, headers=team.manager.headers)
    assert response.status_code == 200, response.text
    return response


@pytest.mark.parametrize("name", sorted(REPORTS))
async def test_csv_equals_json(http: httpx.AsyncClient, team: Org, week: Seeded, name: str) -> None:
    rows = (await fetch(http, team, name, "json")).json()["rows"]
    response = await fetch(http, team, name, "csv")
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    assert response.content.startswith(b"\xef\xbb\xbf")
    parsed = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    columns = list(REPORTS[name].columns)
    assert parsed[0] == columns
    assert parsed[1:] == [[cell_text(row[c]) for c in columns] for row in rows]


async def test_xlsx_holds_the_same_typed_numbers_with_header_frozen_and_chart(
    http: httpx.AsyncClient, team: Org, week: Seeded
) -> None:
    rows = (await fetch(http, team, "processing-time", "json")).json()["rows"]
    response = await fetch(http, team, "processing-time", "xlsx")
    book = load_workbook(io.BytesIO(response.content))
    sheet = book["processing-time"]
    assert sheet.freeze_panes == "A2"
    values = list(sheet.iter_rows(values_only=True))
    columns = REPORTS["processing-time"].columns
    assert list(values[0]) == list(columns)
    assert [list(v) for v in values[1:]] == [[row[c] for c in columns] for row in rows]
    assert isinstance(values[1][columns.index("avg_seconds")], int)
    assert len(sheet._charts) == 1


async def test_xlsx_money_is_a_number(http: httpx.AsyncClient, team: Org, week: Seeded) -> None:
    response = await fetch(http, team, "high-value", "xlsx")
    sheet = load_workbook(io.BytesIO(response.content))["high-value"]
    header = [c.value for c in sheet[1]]
    assert sheet.cell(row=2, column=header.index("monetary") + 1).value == 2500.5


async def test_pdf_renders_chinese_category_names_with_an_embedded_font(
    http: httpx.AsyncClient, team: Org, week: Seeded
) -> None:
    response = await fetch(http, team, "feedback-types", "pdf")
    assert response.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    text = "".join(page.extract_text() for page in reader.pages)
    for name in ("产品质量", "功能建议", "服务态度", "反馈类型分布"):
        assert name in text
    assert b"/FontFile2" in response.content  # the CJK TrueType font travels with the file


async def test_ticket_list_csv_streams_every_row_of_a_drill_down(
    http: httpx.AsyncClient, team: Org, week: Seeded
) -> None:
    response = await http.get(
        "/api/v1/report-drilldown/tickets",
        params={**WINDOW, "department_id": team.department_id, "format": "csv"},
        headers=team.manager.headers,
    )
    assert response.status_code == 200, response.text
    parsed = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert parsed[0][:2] == ["id", "number"]
    assert sorted(int(r[0]) for r in parsed[1:]) == sorted(
        v for k, v in week.tickets.items() if k != "T0"
    )
    listed = await http.get(
        "/api/v1/report-drilldown/tickets",
        params={**WINDOW, "department_id": team.department_id},
        headers=team.manager.headers,
    )
    items = listed.json()["items"]
    assert parsed[1:] == [[cell_text(item[c]) for c in parsed[0]] for item in items]
