"""XLSX: write-only openpyxl (constant memory), typed cells, header, frozen panes, a chart."""

from __future__ import annotations

import io
from collections.abc import Sequence

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.styles import Font

from domain.reports.definitions import ReportSpec
from services.reports.exports.cells import cell_typed
from services.reports.service import ReportResult

MAX_CHART_POINTS = 50


def _sheet_title(spec: ReportSpec) -> str:
    return spec.name[:31]


def _add_chart(ws: object, spec: ReportSpec, n_rows: int) -> None:
    """A native Excel chart over the sheet's own cells (label column x value columns)."""
    if spec.chart == "none" or n_rows == 0:
        return
    chart = BarChart() if spec.chart == "bar" else LineChart()
    chart.title = spec.title_zh
    last = min(n_rows, MAX_CHART_POINTS) + 1
    label_col = spec.columns.index(spec.chart_label) + 1
    for value in spec.chart_values:
        col = spec.columns.index(value) + 1
        data = Reference(ws, min_col=col, min_row=1, max_row=last)
        chart.add_data(data, titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=label_col, min_row=2, max_row=last))
    chart.height, chart.width = 8, 16
    ws.add_chart(chart, f"{chr(ord('A') + min(len(spec.columns) + 1, 25))}2")  # type: ignore[attr-defined]


def xlsx_bytes(results: Sequence[ReportResult]) -> bytes:
    """One sheet per report: a bold header row frozen above typed cells, plus its chart."""
    wb = Workbook(write_only=True)
    for result in results:
        spec = result.spec
        ws = wb.create_sheet(_sheet_title(spec))
        ws.freeze_panes = "A2"
        header = []
        for name in spec.columns:
            cell = WriteOnlyCell(ws, value=name)
            cell.font = Font(bold=True)
            header.append(cell)
        ws.append(header)
        for row in result.rows:
            ws.append([cell_typed(row.get(c), c) for c in spec.columns])
        _add_chart(ws, spec, len(result.rows))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
