"""The streaming XLSX reader gives openpyxl's values and refuses hostile packages."""

from __future__ import annotations

import io
import struct
import zipfile
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont
from openpyxl.utils.datetime import CALENDAR_MAC_1904

from api.customers import xlsx_reader
from api.customers.import_child import validated_batches
from api.customers.import_rows import read_rows
from api.customers.xlsx_reader import sheet_rows
from core.errors import Invalid

# Hand-written packages carry no named styles; openpyxl warns and carries on.
pytestmark = pytest.mark.filterwarnings("ignore:Workbook contains no default style")
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def naive(*parts: int) -> datetime:
    """Spreadsheet date-times carry no zone."""
    return datetime(*parts)  # noqa: DTZ001


def openpyxl_rows(content: bytes) -> dict[int, tuple[Any, ...]]:
    """Non-empty rows as openpyxl reads them, by row number, without trailing empty cells."""
    workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    sheet = workbook.active
    assert sheet is not None
    rows = {}
    for number, values in enumerate(sheet.iter_rows(min_row=1, values_only=True), start=1):
        trimmed = list(values)
        while trimmed and trimmed[-1] is None:
            trimmed.pop()
        if trimmed:
            rows[number] = tuple(trimmed)
    workbook.close()
    return rows


def our_rows(content: bytes) -> dict[int, tuple[Any, ...]]:
    return dict(sheet_rows(io.BytesIO(content)))


def saved(workbook: Workbook) -> bytes:
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def every_kind_of_cell(epoch_1904: bool = False) -> bytes:
    workbook = Workbook()
    if epoch_1904:
        workbook.epoch = CALENDAR_MAC_1904
    workbook.create_sheet("其他")  # a second sheet: the active (first) one is read
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["客户名称", "成立日期", "手机", "金额", "是否", "备注"])
    sheet.append(["上海示例科技", date(2019, 3, 4), 13812345678, 1234.5, True, "重点客户"])
    sheet.append(["北京", naive(2024, 2, 29, 13, 45, 30), 0, -0.25, False, None])
    sheet["B4"] = naive(1900, 1, 15, 6, 0)  # before Excel's phantom 1900-02-29
    sheet["B5"] = time(8, 30, 15)
    sheet["B6"] = timedelta(hours=30, minutes=5)
    sheet["B7"] = date(2020, 1, 2)
    sheet["B7"].number_format = 'yyyy"年"m"月"d"日"'
    sheet["C7"] = 0.125
    sheet["C7"].number_format = "0.00%"
    sheet["D9"] = 1e-7  # a gap: row 8 is missing, A-C of row 9 are empty
    sheet["F9"] = 12345678901
    sheet["A10"] = CellRichText(
        "富文本", TextBlock(InlineFont(b=True), "加粗"), TextBlock(InlineFont(i=True), " tail ")
    )
    sheet["B10"] = "  spaces kept  "
    sheet["C10"] = "=1+1"  # a formula without a cached value is empty
    sheet["A12"] = "x" * 300
    return saved(workbook)


@pytest.mark.parametrize("epoch_1904", [False, True], ids=["1900", "1904"])
def test_values_match_openpyxl_cell_for_cell(epoch_1904: bool) -> None:
    content = every_kind_of_cell(epoch_1904)
    ours = our_rows(content)
    assert ours == openpyxl_rows(content)
    assert ours[2][1] == naive(2019, 3, 4)
    assert ours[4][1] == naive(1900, 1, 15, 6, 0)
    assert ours[6][1] == timedelta(hours=30, minutes=5)
    assert ours[7][1] == naive(2020, 1, 2)
    assert ours[9] == (None, None, None, 1e-7, None, 12345678901)
    assert ours[10][0] == "富文本加粗 tail "
    assert 8 not in ours
    assert 11 not in ours


def package(
    sheet: str,
    *,
    strings: str | None = None,
    styles: str | None = None,
    workbook_pr: str = "",
    raw_sheet: str | None = None,
) -> bytes:
    """A minimal hand-written XLSX package with one sheet."""
    parts = {
        "[Content_Types].xml": (
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            '<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
            '<Override PartName="/xl/styles.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            "</Types>"
        ),
        "_rels/.rels": (
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{REL}/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>"
        ),
        "xl/workbook.xml": (
            f'<workbook xmlns="{MAIN}" xmlns:r="{REL}">{workbook_pr}'
            '<sheets><sheet name="s" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{REL}/worksheet" Target="worksheets/sheet1.xml"/>'
            f'<Relationship Id="rId2" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/>'
            f'<Relationship Id="rId3" Type="{REL}/styles" Target="/xl/styles.xml"/>'
            "</Relationships>"
        ),
        "xl/worksheets/sheet1.xml": raw_sheet
        or f'<worksheet xmlns="{MAIN}"><sheetData>{sheet}</sheetData></worksheet>',
        "xl/sharedStrings.xml": strings or f'<sst xmlns="{MAIN}"/>',
        "xl/styles.xml": styles
        or f'<styleSheet xmlns="{MAIN}"><cellXfs><xf numFmtId="0"/></cellXfs></styleSheet>',
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
    return out.getvalue()


STRINGS = (
    f'<sst xmlns="{MAIN}"><si><t>名称</t></si><si><t xml:space="preserve"> 电话 </t></si>'
    "<si><r><rPr><b/></rPr><t>富</t></r><r><t>文本</t></r>"
    "<rPh sb='0' eb='1'><t>ふり</t></rPh></si><si><t>a_x005F_x000D_b &amp; &lt;c&gt;</t></si></sst>"
)
# Styles 1-5: built-in date (14), custom date, custom [h]:mm duration, percent, CJK date (31).
STYLES = (
    f'<styleSheet xmlns="{MAIN}"><numFmts>'
    '<numFmt numFmtId="164" formatCode="yyyy&quot;年&quot;m&quot;月&quot;"/>'
    '<numFmt numFmtId="165" formatCode="[h]:mm"/></numFmts>'
    '<cellStyleXfs><xf numFmtId="14"/></cellStyleXfs><cellXfs><xf numFmtId="0"/>'
    '<xf numFmtId="14"/><xf numFmtId="164"/><xf numFmtId="165"/><xf numFmtId="10"/>'
    '<xf numFmtId="31"/></cellXfs></styleSheet>'
)
SHEET = (
    '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="C1" t="s"><v>1</v></c></row>'
    '<row r="2"><c r="A2" t="s"><v>2</v></c><c r="B2" s="1"><v>43525</v></c>'
    '<c r="C2" s="2"><v>43525.5</v></c><c r="D2" s="3"><v>1.5</v></c>'
    '<c r="E2" s="4"><v>0.5</v></c><c r="F2" t="b"><v>1</v></c></row>'
    '<row r="5" spans="1:6"><c r="A5" t="str"><f>A1&amp;"x"</f><v>名称x</v></c>'
    '<c r="B5" t="e"><v>#N/A</v></c><c r="C5" t="inlineStr"><is><r><t>行</t></r>'
    '<r><rPr><i/></rPr><t>内</t></r></is></c><c r="D5" t="s"><v>3</v></c>'
    '<c r="E5" s="1"/><c r="F5"><v>7</v></c></row>'
    "<row><c><v>1</v></c><c/><c><v>3</v></c></row>"  # no references: row 6, A and C
)


def test_hand_written_package_matches_openpyxl() -> None:
    content = package(SHEET, strings=STRINGS, styles=STYLES)
    ours = our_rows(content)
    assert ours == openpyxl_rows(content)
    assert ours[2] == (
        "富文本",
        naive(2019, 3, 1),
        naive(2019, 3, 1, 12),
        timedelta(days=1.5),
        0.5,
        True,
    )
    assert ours[1] == ("名称", None, " 电话 ")
    assert ours[5] == ("名称x", "#N/A", "行内", "a_x000D_b & <c>", None, 7)
    assert ours[6] == (1, None, 3)
    assert set(ours) == {1, 2, 5, 6}


def test_sheets_with_a_namespace_prefix_are_read() -> None:
    prefixed = (
        f'<x:worksheet xmlns:x="{MAIN}"><x:sheetData><x:row r="2"><x:c r="B2" t="inlineStr">'
        '<x:is><x:t>前缀</x:t></x:is></x:c><x:c r="C2"><x:v>5</x:v></x:c></x:row>'
        "</x:sheetData></x:worksheet>"
    )
    content = package("", raw_sheet=prefixed)
    assert our_rows(content) == openpyxl_rows(content) == {2: (None, "前缀", 5)}


def test_cjk_builtin_date_formats_and_1904_epoch_give_dates() -> None:
    sheet = '<row r="1"><c r="A1" s="5"><v>43525</v></c><c r="B1" s="1"><v>1</v></c></row>'
    ours = our_rows(package(sheet, styles=STYLES))
    assert ours[1] == (naive(2019, 3, 1), naive(1900, 1, 1))
    assert openpyxl_rows(package(sheet, styles=STYLES))[1][0] == 43525  # it knows no CJK ids
    mac = package(sheet, styles=STYLES, workbook_pr='<workbookPr date1904="1"/>')
    assert our_rows(mac)[1][1] == naive(1904, 1, 2)
    assert openpyxl_rows(mac)[1][1] == naive(1904, 1, 2)


def test_import_rows_keep_the_spreadsheet_row_numbers_across_gaps() -> None:
    sheet = (
        '<row r="1"><c r="A1" t="inlineStr"><is><t>name</t></is></c>'
        '<c r="B1" t="inlineStr"><is><t>phone</t></is></c></row>'
        '<row r="4"><c r="B4"><v>13812345678</v></c></row>'
        '<row r="9"><c r="A9" t="inlineStr"><is><t>公司</t></is></c></row>'
    )
    rows = list(read_rows(io.BytesIO(package(sheet))))
    assert rows == [(4, {"name": None, "phone": 13812345678}), (9, {"name": "公司"})]


def test_large_files_read_and_validated_in_a_child_process_give_the_same_batches() -> None:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(["name", "founded_on", "phone"])
    for i in range(1200):
        sheet.append([f"公司{i}", date(2020, 1, 1 + i % 28), 13900000000 + i])
    sheet.append(["", "not a date", ""])  # a bad row: its errors cross the pipe too
    csv_file = "name,phone\n" + "".join(f"公司{i},139{i:08d}\n" for i in range(1500))
    for content in (saved(workbook), csv_file.encode("gb18030")):
        in_child = list(validated_batches(io.BytesIO(content), in_child=True))
        assert [len(b) for b in in_child] == [1000, len(in_child[1])]
        assert in_child == list(validated_batches(io.BytesIO(content), in_child=False))
    with pytest.raises(Invalid, match="XLSX"):
        list(validated_batches(io.BytesIO(b"PK\x03\x04 not really a zip"), in_child=True))
    bad = package("", raw_sheet='<!DOCTYPE x [<!ENTITY a "b">]><worksheet/>')
    # The spreadsheet library ignores the DTD and finds no rows: still refused as a file error.
    with pytest.raises(Invalid, match="DOCTYPE|empty"):
        list(validated_batches(io.BytesIO(bad), in_child=True))


def unreadable(content: bytes) -> str:
    with pytest.raises(Invalid) as caught:
        list(sheet_rows(io.BytesIO(content)))
    assert caught.value.details["errors"][0]["field"] == "file"
    return caught.value.message


def test_entity_expansion_is_refused() -> None:
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE sst [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;">]>'
        f'<sst xmlns="{MAIN}"><si><t>&b;</t></si></sst>'
    )
    assert "DOCTYPE" in unreadable(package("", strings=laughs))
    external = f'<!DOCTYPE worksheet SYSTEM "file:///etc/passwd"><worksheet xmlns="{MAIN}"/>'
    assert "DOCTYPE" in unreadable(package("", raw_sheet=external))


def declared_size(content: bytes, name: str, size: int) -> bytes:
    """The package with `name`'s uncompressed size rewritten, as a zip bomb declares it."""
    data = bytearray(content)
    entry = name.encode()
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = data.find(signature)
        while at != -1:
            header = 30 if signature == b"PK\x03\x04" else 46
            if data[at + header : at + header + len(entry)] == entry:
                struct.pack_into("<I", data, at + offset, size)
            at = data.find(signature, at + 4)
    return bytes(data)


def test_zip_bomb_is_refused_before_it_is_expanded() -> None:
    bomb = declared_size(package(""), "xl/sharedStrings.xml", xlsx_reader.MAX_XML_BYTES + 1)
    assert "expands beyond" in unreadable(bomb)
    # A part longer than it declares is cut at the declared size, then fails its checksum.
    liar = declared_size(package("", strings=STRINGS), "xl/sharedStrings.xml", 40)
    assert "XLSX" in unreadable(liar)


def test_rows_and_columns_beyond_the_limits_are_refused() -> None:
    far_column = '<row r="1"><c r="IW1"><v>1</v></c></row>'  # column 257
    assert "256 columns" in unreadable(package(far_column))
    far_row = f'<row r="{xlsx_reader.MAX_ROWS + 1}"><c r="A1"><v>1</v></c></row>'
    assert "rows" in unreadable(package(far_row))


def test_broken_packages_are_unreadable_not_crashes() -> None:
    assert "XLSX" in unreadable(b"PK\x03\x04 not really a zip")
    assert "XLSX" in unreadable(package('<row r="1"><c r="A1" t="s"><v>9</v></c></row>'))
    assert "XLSX" in unreadable(package("<row><c><v>1</v></row>"))
