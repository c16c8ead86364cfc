"""Legacy and open spreadsheet formats: .xls and .ods import like .xlsx."""

from __future__ import annotations

import io
import random
import zipfile
from typing import Any
from xml.sax.saxutils import escape

import httpx
import xlwt

from tests.api.customer_support import unique
from tests.conftest import Org

HEADER = ["客户名称", "地区", "手机", "成立日期"]


def sample_rows() -> list[list[Any]]:
    base = random.randrange(10**8 - 10)
    return [
        [unique("格式公司"), "上海", f"135{base + i:08d}", "2019-04-0" + str(i + 1)]
        for i in range(3)
    ]


def xls_bytes(rows: list[list[Any]]) -> bytes:
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("customers")
    for c, title in enumerate(HEADER):
        sheet.write(0, c, title)
    for r, values in enumerate(rows, start=1):
        for c, value in enumerate(values):
            # Phones as numbers, as Excel users type them.
            sheet.write(r, c, int(value) if c == 2 else value)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def ods_bytes(rows: list[list[Any]]) -> bytes:
    def cells(values: list[Any]) -> str:
        return "".join(
            f'<table:table-cell office:value-type="string"><text:p>{escape(str(v))}</text:p>'
            "</table:table-cell>"
            for v in values
        )

    body = "".join(f"<table:table-row>{cells(r)}</table:table-row>" for r in [HEADER, *rows])
    content = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
        ' xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"'
        ' xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        f'<office:body><office:spreadsheet><table:table table:name="customers">{body}'
        "</table:table></office:spreadsheet></office:body></office:document-content>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"'
        ' manifest:version="1.2"><manifest:file-entry manifest:full-path="/"'
        ' manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as package:
        package.writestr(
            zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet"
        )
        package.writestr("META-INF/manifest.xml", manifest)
        package.writestr("content.xml", content)
    return out.getvalue()


async def test_xls_and_ods_files_import(http: httpx.AsyncClient, org: Org) -> None:
    for name, build in (("legacy.xls", xls_bytes), ("open.ods", ods_bytes)):
        rows = sample_rows()
        response = await http.post(
            "/api/v1/customers/import",
            files={"file": (name, io.BytesIO(build(rows)))},
            headers=org.manager.headers,
        )
        assert response.status_code == 200, response.text
        report = response.json()
        assert (report["rows"], report["created"], report["errors"]) == (3, 3, []), name
        found = await http.get(
            "/api/v1/customers", params={"q": rows[0][0]}, headers=org.manager.headers
        )
        customer = found.json()["items"][0]
        assert customer["region"] == "上海"
        assert customer["founded_on"] == "2019-04-01"
        assert customer["contacts"][0]["phone"] == rows[0][2]
