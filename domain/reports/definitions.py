"""The reports: their names, columns (JSON = CSV = XLSX order), chart and figure formulas."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

ChartKind = Literal["bar", "line", "none"]


@dataclass(frozen=True)
class ReportSpec:
    name: str
    title_zh: str
    title_en: str
    columns: tuple[str, ...]
    chart: ChartKind = "none"
    chart_label: str = ""  # the column naming each bar or point
    chart_values: tuple[str, ...] = ()


REPORTS: dict[str, ReportSpec] = {
    spec.name: spec
    for spec in (
        ReportSpec(
            "feedback-types",
            "反馈类型分布",
            "Feedback types",
            ("category", "count", "share"),
            "bar",
            "category",
            ("count",),
        ),
        ReportSpec(
            "processing-time",
            "处理时长",
            "Processing time",
            (
                "priority",
                "department_id",
                "measure",
                "count",
                "avg_seconds",
                "p50_seconds",
                "p90_seconds",
                "calendar_avg_seconds",
                "calendar_p50_seconds",
                "calendar_p90_seconds",
            ),
            "bar",
            "priority",
            ("avg_seconds",),
        ),
        ReportSpec(
            "sla-attainment",
            "SLA 达成率",
            "SLA attainment",
            (
                "priority",
                "department_id",
                "target",
                "target_seconds",
                "met",
                "breached",
                "attainment",
            ),
            "bar",
            "priority",
            ("attainment",),
        ),
        ReportSpec(
            "csat-trend",
            "满意度趋势",
            "CSAT trend",
            ("period", "satisfied", "basically_satisfied", "unsatisfied", "answered", "csat"),
            "line",
            "period",
            ("csat",),
        ),
        ReportSpec(
            "top-issues",
            "高频问题 Top 10",
            "Top issues",
            ("category", "keywords", "count", "example_ticket_ids"),
            "bar",
            "category",
            ("count",),
        ),
        ReportSpec(
            "backlog",
            "积压工单",
            "Backlog",
            ("status", "age_bucket", "count"),
            "bar",
            "status",
            ("count",),
        ),
        ReportSpec(
            "customer-activity",
            "客户活跃度",
            "Customer activity",
            ("period", "interactions", "active_customers", "silent_customers"),
            "line",
            "period",
            ("interactions", "active_customers"),
        ),
        ReportSpec(
            "conversion-funnel",
            "转化漏斗",
            "Conversion funnel",
            (
                "period",
                "leads",
                "intentions",
                "deals",
                "lost",
                "intention_rate",
                "deal_rate",
                "lost_rate",
            ),
            "bar",
            "period",
            ("leads", "intentions", "deals"),
        ),
        ReportSpec(
            "high-value",
            "高价值客户排名",
            "High-value customers",
            (
                "rank",
                "customer_id",
                "code",
                "name",
                "recency_days",
                "frequency",
                "monetary",
                "r_score",
                "f_score",
                "m_score",
                "rfm",
            ),
            "bar",
            "name",
            ("monetary",),
        ),
        ReportSpec(
            "kpis",
            "关键指标",
            "KPIs",
            (
                "tickets",
                "profile_completeness",
                "csat",
                "resolution_rate",
                "reopen_rate",
                "avg_handling_seconds",
                "repurchase_rate",
                "churn_rate",
            ),
        ),
    )
}

AGE_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("<1d", 0, 86_400),
    ("1-3d", 86_400, 3 * 86_400),
    ("3-7d", 3 * 86_400, 7 * 86_400),
    (">7d", 7 * 86_400, None),
)

# Profile completeness counts these customer fields (README "Report definitions").
PROFILE_FIELDS: tuple[str, ...] = (
    "industry",
    "region",
    "address",
    "source",
    "requirement",
    "owner_id",
    "founded_on",
    "primary_contact",
)


def rate(part: int, whole: int) -> float | None:
    """100 × part / whole with two decimals (half up); None when there is nothing to divide."""
    if whole == 0:
        return None
    value = Decimal(100 * part) / Decimal(whole)
    return float(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def csat(satisfied: int, basically_satisfied: int, answered: int) -> float | None:
    """csat = 100 × (satisfied + basically_satisfied) / answered."""
    return rate(satisfied + basically_satisfied, answered)


def share(count: int, total: int) -> float | None:
    """A row's share of the total as a fraction with four decimals."""
    if total == 0:
        return None
    value = Decimal(count) / Decimal(total)
    return float(value.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))
