"""PDF: an embedded CJK TrueType font (Chinese text stays extractable), tables and charts."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.linecharts import HorizontalLineChart
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from domain.reports.definitions import ReportSpec
from services.reports.exports.cells import cell_text
from services.reports.service import ReportResult

FONT_NAME = "ReportCJK"
# TrueType CJK fonts (reportlab embeds TrueType outlines only): `make` installs the first.
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
)
MAX_CHART_POINTS = 30
MAX_TABLE_ROWS = 5000


class FontMissing(RuntimeError):
    """No CJK TrueType font is installed (Debian: fonts-wqy-microhei)."""


def font_path(configured: str | None = None) -> str:
    """The configured font file, else the first installed candidate."""
    for candidate in (configured, *FONT_CANDIDATES):
        if candidate and Path(candidate).is_file():
            return candidate
    raise FontMissing("no CJK TrueType font found; install fonts-wqy-microhei (make fonts)")


def _register(configured: str | None) -> None:
    if FONT_NAME not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(FONT_NAME, font_path(configured), subfontIndex=0))


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def _chart(spec: ReportSpec, result: ReportResult) -> Drawing | None:
    if spec.chart == "none" or not result.rows:
        return None
    rows = result.rows[:MAX_CHART_POINTS]
    drawing = Drawing(700, 200)
    chart = VerticalBarChart() if spec.chart == "bar" else HorizontalLineChart()
    chart.x, chart.y, chart.width, chart.height = 50, 40, 620, 140
    chart.data = [tuple(_number(r.get(v)) for r in rows) for v in spec.chart_values]
    names = chart.categoryAxis.categoryNames = [cell_text(r.get(spec.chart_label)) for r in rows]
    chart.categoryAxis.labels.fontName = FONT_NAME
    chart.categoryAxis.labels.fontSize = 7
    chart.categoryAxis.labels.angle = 30 if len(names) > 8 else 0
    chart.categoryAxis.labels.boxAnchor = "ne" if len(names) > 8 else "n"
    chart.valueAxis.labels.fontName = FONT_NAME
    chart.valueAxis.valueMin = 0
    palette = (colors.HexColor("#4472C4"), colors.HexColor("#ED7D31"), colors.HexColor("#A5A5A5"))
    for i in range(len(spec.chart_values)):
        target = chart.bars[i] if isinstance(chart, VerticalBarChart) else chart.lines[i]
        if isinstance(chart, VerticalBarChart):
            target.fillColor = palette[i % 3]
        else:
            target.strokeColor = palette[i % 3]
    drawing.add(chart)
    return drawing


def pdf_bytes(results: Sequence[ReportResult], title: str, font: str | None = None) -> bytes:
    """A landscape A4 document: per report a heading, the filters, its chart and its table."""
    _register(font)
    heading = ParagraphStyle("h", fontName=FONT_NAME, fontSize=14, leading=18, spaceAfter=6)
    small = ParagraphStyle("s", fontName=FONT_NAME, fontSize=8, leading=10)
    story: list[object] = [Paragraph(title, heading)]
    for result in results:
        spec = result.spec
        story.append(Paragraph(f"{spec.title_zh} / {spec.title_en}", heading))
        window = f"{result.filters.start.isoformat()} — {result.filters.end.isoformat()}"
        story.append(Paragraph(window, small))
        chart = _chart(spec, result)
        if chart is not None:
            story.append(chart)
        data = [list(spec.columns)]
        data += [[cell_text(r.get(c)) for c in spec.columns] for r in result.rows[:MAX_TABLE_ROWS]]
        table = Table(data, repeatRows=1)
        table.setStyle(
            TableStyle(
                [
                    ("FONTNAME", (0, 0), (-1, -1), FONT_NAME),
                    ("FONTSIZE", (0, 0), (-1, -1), 7),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#DDE4F0")),
                    ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                ]
            )
        )
        story += [table, Spacer(1, 12)]
    out = io.BytesIO()
    SimpleDocTemplate(out, pagesize=landscape(A4), title=title).build(story)
    return out.getvalue()
