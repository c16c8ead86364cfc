"""Bulk import: every bad row reported, duplicates offered for merge, re-runs create nothing."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date
from typing import Any

import httpx
import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from core.settings import Settings
from models import Customer, CustomerContact
from tests.api.customer_support import Numbers, build_team, create_customer, unique
from tests.conftest import Org

HEADER = ["name", "type", "region", "tier", "stage", "tags", "founded_on", "phone", "email"]


@pytest.fixture(scope="module")
async def team(app: object, settings: Settings) -> Org:
    return await build_team(app, settings)


def thousand_rows(tag: str, numbers: Numbers) -> tuple[list[list[str]], dict[str, Any]]:
    """1,000 rows with known defects; returns the rows and the expected report."""
    rows: list[list[str]] = []
    errors: set[tuple[int, str]] = set()
    duplicates: dict[int, list[tuple[int | None, str]]] = {}
    db_phones: list[str] = []
    for i in range(1000):
        number = i + 2  # the header is spreadsheet row 1
        row = [f"{tag} 公司 {i}", "b2b", "上海", "ordinary", "lead", "导入", "2020-01-02"]
        row += [numbers(), f"buyer{i}@example.com"]
        kind = i % 100
        if kind == 10:
            row[7] = "12345"
            errors.add((number, "phone"))
        elif kind == 20:
            row[3], row[8] = "gold", "not-an-email"
            errors |= {(number, "tier"), (number, "email")}
        elif kind == 30:
            row[0] = ""
            errors.add((number, "name"))
        elif kind == 40:
            row[6] = "2024-13-45"
            errors.add((number, "founded_on"))
        elif kind == 50:
            row[7] = rows[i - 1][7]  # same phone as the previous row, written differently
            row[7] = f"+86 {row[7][:3]} {row[7][3:7]} {row[7][7:]}"
            duplicates[number] = [(number - 1, "phone")]
        elif kind == 60:
            row[0] = rows[i - 1][0].upper()  # same company + region, other phone
            duplicates[number] = [(number - 1, "name_region")]
        elif i % 200 == 70:
            db_phones.append(row[7])
            duplicates[number] = [(None, "phone")]
        rows.append(row)
    expected = {"errors": errors, "duplicates": duplicates, "db_phones": db_phones}
    return rows, expected


def csv_bytes(rows: list[list[str]], header: list[str] = HEADER) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    writer.writerow([])  # blank trailing lines are skipped
    return out.getvalue().encode("utf-8")


async def upload(
    http: httpx.AsyncClient, who: Any, content: bytes, name: str, dry_run: bool = False
) -> dict[str, Any]:
    response = await http.post(
        f"/api/v1/customers/import?dry_run={str(dry_run).lower()}",
        files={"file": (name, content)},
        headers=who.headers,
    )
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def owned_count(engine: AsyncEngine, owner_id: int) -> int:
    async with engine.connect() as conn:
        count = await conn.scalar(
            select(func.count()).select_from(Customer).where(Customer.owner_id == owner_id)
        )
    return int(count or 0)


async def test_thousand_row_file_with_bad_rows_and_duplicates(
    http: httpx.AsyncClient, team: Org, engine: AsyncEngine
) -> None:
    numbers = Numbers()
    rows, expected = thousand_rows(unique("导入"), numbers)
    for phone in expected["db_phones"]:
        await create_customer(http, team.manager, contacts=[{"name": "已存在", "phone": phone}])
    content = csv_bytes(rows)
    before = await owned_count(engine, team.manager.id)

    dry = await upload(http, team.manager, content, "customers.csv", dry_run=True)
    assert await owned_count(engine, team.manager.id) == before
    real = await upload(http, team.manager, content, "customers.csv")
    for report in (dry, real):
        assert report["rows"] == 1000
        assert {(e["row"], e["field"]) for e in report["errors"]} == expected["errors"]
        assert len(report["errors"]) == 50
        found = {
            d["row"]: [(m.get("row"), m["reason"]) for m in d["matches"]]
            for d in report["duplicates"]
        }
        assert found == expected["duplicates"]
        assert report["created"] == 1000 - 40 - 25 == 935
        assert report["updated"] == 0
    db_match = next(d for d in real["duplicates"] if d["matches"][0].get("code"))
    assert db_match["matches"][0]["code"].startswith("CUS")
    assert await owned_count(engine, team.manager.id) == before + 935

    async with engine.connect() as conn:
        primaries = await conn.scalar(
            select(func.count())
            .select_from(CustomerContact)
            .join(Customer, Customer.id == CustomerContact.customer_id)
            .where(Customer.owner_id == team.manager.id, CustomerContact.is_primary)
        )
    assert primaries == before + 935

    again = await upload(http, team.manager, content, "customers.csv")
    assert again["created"] == 0
    assert len(again["duplicates"]) == 960
    assert await owned_count(engine, team.manager.id) == before + 935


async def test_xlsx_with_chinese_headers_dates_and_numeric_phones(
    http: httpx.AsyncClient, team: Org
) -> None:
    numbers = Numbers()
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(["客户名称", "客户等级", "阶段", "成立日期", "手机", "标签", "地区"])
    names = [unique("深圳华南电子") for _ in range(3)]
    phones = [numbers() for _ in names]
    for name, phone in zip(names, phones, strict=True):
        sheet.append([name, "核心", "意向", date(2019, 3, 4), int(phone), "VIP、重点客户", "深圳"])
    out = io.BytesIO()
    workbook.save(out)

    report = await upload(http, team.manager, out.getvalue(), "客户.xlsx")
    assert report["errors"] == []
    assert report["created"] == 3
    found = await http.get(f"/api/v1/customers?phone={phones[1]}", headers=team.manager.headers)
    (customer,) = found.json()["items"]
    assert customer["name"] == names[1]
    assert customer["tier"] == "core"
    assert customer["stage"] == "intention"
    assert customer["founded_on"] == date(2019, 3, 4).isoformat()
    assert customer["tags"] == ["VIP", "重点客户"]
    assert customer["contacts"][0]["phone"] == phones[1]


async def test_rows_with_a_code_update_that_customer(http: httpx.AsyncClient, team: Org) -> None:
    customer = await create_customer(http, team.manager, tags=["老客户"])
    rows = [
        [customer["code"], customer["name"], "core", "intention", "新标签"],
        ["CUS19990101001", "x", "", "", ""],
    ]
    content = csv_bytes(rows, header=["code", "name", "tier", "stage", "tags"])
    report = await upload(http, team.manager, content, "update.csv")
    assert report["created"] == 0
    assert report["updated"] == 1
    assert [(e["row"], e["field"]) for e in report["errors"]] == [(3, "code")]
    fetched = await http.get(f"/api/v1/customers/{customer['id']}", headers=team.manager.headers)
    body = fetched.json()
    assert (body["tier"], body["stage"], body["tags"]) == (
        "core",
        "intention",
        ["老客户", "新标签"],
    )


async def test_agent_import_is_pending_with_approval_workflows(
    http: httpx.AsyncClient, team: Org, temporal_env: WorkflowEnvironment
) -> None:
    numbers = Numbers()
    rows = [[unique("代理导入"), "b2c", "北京", "", "", "", "", numbers(), ""] for _ in range(2)]
    report = await upload(http, team.agent, csv_bytes(rows), "agent.csv")
    assert report["created"] == 2
    listed = await http.get("/api/v1/customers?approval=pending", headers=team.agent.headers)
    pending = [c for c in listed.json()["items"] if c["name"] in {r[0] for r in rows}]
    assert len(pending) == 2
    for customer in pending:
        handle = temporal_env.client.get_workflow_handle(f"customer-approval-{customer['id']}")
        assert (await handle.describe()).workflow_type == "CustomerApproval"
        events = await http.get(
            f"/api/v1/customers/{customer['id']}/events", headers=team.agent.headers
        )
        [created] = [e for e in events.json() if e["type"] == "created"]
        assert created["data"] == {"via": "import", "approval": "pending"}
        assert created["actor"] == f"user:{team.agent.id}"


async def test_template_downloads_and_imports_cleanly(http: httpx.AsyncClient, team: Org) -> None:
    xlsx = await http.get(
        "/api/v1/customers/import-template?format=xlsx", headers=team.manager.headers
    )
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.content), read_only=True).active
    assert sheet is not None
    header, example = list(sheet.iter_rows(values_only=True))[:2]
    assert header[:2] == ("code", "name")
    assert example[1] == "上海示例科技有限公司"
    report = await upload(http, team.manager, xlsx.content, "template.xlsx", dry_run=True)
    assert report["errors"] == []
    assert report["created"] + len(report["duplicates"]) == 1
    as_csv = await http.get(
        "/api/v1/customers/import-template?format=csv", headers=team.manager.headers
    )
    assert as_csv.content.startswith(b"\xef\xbb\xbfcode,name")


async def test_file_without_name_column_is_rejected(http: httpx.AsyncClient, team: Org) -> None:
    response = await http.post(
        "/api/v1/customers/import",
        files={"file": ("x.csv", b"phone,email\n13812345678,a@b.com\n")},
        headers=team.manager.headers,
    )
    assert response.status_code == 422
    assert "name" in response.json()["error"]["message"]


async def test_xlsx_errors_name_the_spreadsheet_rows_across_empty_rows(
    http: httpx.AsyncClient, team: Org
) -> None:
    numbers = Numbers()
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["客户名称", "手机", "客户等级", "成立日期"])
    sheet["A4"], sheet["B4"], sheet["D4"] = unique("间隔公司"), int(numbers()), date(2018, 5, 6)
    sheet["A7"], sheet["B7"] = unique("间隔公司"), "12345"
    sheet["A9"], sheet["C9"] = unique("间隔公司"), "gold"
    out = io.BytesIO()
    workbook.save(out)
    report = await upload(http, team.manager, out.getvalue(), "间隔.xlsx", dry_run=True)
    assert report["rows"] == 3
    assert [(e["row"], e["field"]) for e in report["errors"]] == [(7, "phone"), (9, "tier")]
    assert report["created"] == 1


async def test_hostile_workbooks_are_refused_as_unreadable_files(
    http: httpx.AsyncClient, team: Org
) -> None:
    workbook = Workbook(write_only=True)
    workbook.create_sheet().append(["name"])
    out = io.BytesIO()
    workbook.save(out)
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;">]>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<sheetData><row><c t="inlineStr"><is><t>&b;</t></is></c></row></sheetData></worksheet>'
    )
    hostile = io.BytesIO()
    with zipfile.ZipFile(out) as source, zipfile.ZipFile(hostile, "w") as target:
        for name in source.namelist():
            is_sheet = name.startswith("xl/worksheets/")
            target.writestr(name, laughs if is_sheet else source.read(name))
    for content in (hostile.getvalue(), b"PK\x03\x04 not really a zip"):
        response = await http.post(
            "/api/v1/customers/import",
            files={"file": ("bad.xlsx", content)},
            headers=team.manager.headers,
        )
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["details"]["errors"][0]["field"] == "file"
        assert "XLSX" in error["message"]
