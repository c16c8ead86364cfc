"""The quote as a Chinese PDF: company header, customer, lines, totals, validity and terms."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from core.errors import AppError
from domain.sales.money import money_text
from models import Quote, QuoteLine

FONT_NAME = "QuoteCJK"
# TrueType CJK fonts (reportlab embeds TrueType outlines, so the text stays extractable).
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
)
TERMS = (
    "1. 本报价单在有效期内有效，逾期需重新报价。",
    "2. 价格以人民币计，含税，金额按四舍五入保留到分。",
    "3. 客户确认接受后，双方按报价内容签订服务订单。",
)


class FontMissing(AppError):
    status_code = 503
    code = "pdf_font_missing"


def _font(configured: str | None) -> str:
    if FONT_NAME in pdfmetrics.getRegisteredFontNames():
        return FONT_NAME
    for candidate in (configured, *FONT_CANDIDATES):
        if candidate and Path(candidate).is_file():
            pdfmetrics.registerFont(TTFont(FONT_NAME, candidate, subfontIndex=0))
            return FONT_NAME
    raise FontMissing("no CJK TrueType font found; install fonts-wqy-microhei")


def render_quote_pdf(
    quote: Quote,
    lines: Sequence[QuoteLine],
    *,
    company: str,
    customer_name: str,
    timezone: str,
    font_path: str | None = None,
) -> bytes:
    """A4 PDF bytes of one quote version."""
    font = _font(font_path)
    title = ParagraphStyle("title", fontName=font, fontSize=18, leading=24)
    text = ParagraphStyle("text", fontName=font, fontSize=10, leading=15)
    valid = quote.valid_until.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M")
    story: list[object] = [
        Paragraph(escape(company), title),
        Paragraph(f"报价单 {quote.number}（第 {quote.version} 版）", text),
        Paragraph(f"客户：{escape(customer_name)}", text),
        Paragraph(f"币种：{quote.currency}　有效期至：{valid}", text),
        Spacer(1, 10),
    ]
    rows = [["#", "项目", "数量", "单价", "折扣 %", "金额"]]
    for i, line in enumerate(lines, start=1):
        rows.append(
            [
                str(i),
                Paragraph(escape(line.name), text),
                str(line.quantity.normalize()),
                money_text(line.unit_price),
                str(line.discount_pct),
                money_text(line.amount),
            ]
        )
    rows += [
        ["", "小计", "", "", "", money_text(quote.subtotal)],
        ["", "折扣", "", "", "", f"-{money_text(quote.discount_total)}"],
        ["", "合计", "", "", "", money_text(quote.total)],
    ]
    table = Table(rows, colWidths=[20, 220, 50, 70, 50, 80], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), font),
                ("FONTSIZE", (0, 0), (-1, -1), 9),
                ("GRID", (0, 0), (-1, -4), 0.4, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
                ("ALIGN", (2, 1), (-1, -1), "RIGHT"),
            ]
        )
    )
    story += [table, Spacer(1, 12), Paragraph("条款", text)]
    story += [Paragraph(term, text) for term in TERMS]
    if quote.note:
        story.append(Paragraph(f"备注：{escape(quote.note)}", text))
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, title=f"{quote.number} v{quote.version}")
    doc.build(story)
    return buffer.getvalue()
