"""intake, categories, routing rules

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# The four categories of the requirements and the departments they land in.
DEPARTMENTS = [
    ("product", "Product 产品部"),
    ("after_sales", "After-sales 售后部"),
    ("customer_service", "Customer service 客服部"),
    ("sales", "Sales 销售部"),
]
CATEGORIES = [
    ("feature_suggestion", "功能建议", "Feature suggestion", "low", "product"),
    ("product_quality", "产品质量", "Product quality", "normal", "after_sales"),
    ("service_attitude", "服务态度", "Service attitude", "normal", "customer_service"),
    ("price_objection", "价格异议", "Price objection", "normal", "sales"),
]


def _created_at(name: str = "created_at") -> sa.Column[object]:
    return sa.Column(
        name, sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "categories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name_zh", sa.String(length=120), nullable=False),
        sa.Column("name_en", sa.String(length=120), nullable=False),
        sa.Column("default_priority", sa.String(length=16), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), server_default="true", nullable=False),
        _created_at(),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_categories_department_id_departments"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_categories")),
        sa.UniqueConstraint("code", name=op.f("uq_categories_code")),
    )
    op.create_table(
        "routing_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), server_default="100", nullable=False),
        sa.Column("category", sa.String(length=64), nullable=True),
        sa.Column("channel", sa.String(length=24), nullable=True),
        sa.Column("customer_tier", sa.String(length=24), nullable=True),
        sa.Column(
            "keywords", postgresql.ARRAY(sa.String(length=100)), server_default="{}", nullable=False
        ),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("assignee_strategy", sa.String(length=16), nullable=False),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), server_default="true", nullable=False),
        _created_at(),
        _created_at("updated_at"),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_routing_rules_department_id_departments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["assignee_id"],
            ["users.id"],
            name=op.f("fk_routing_rules_assignee_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_rules")),
    )
    op.create_table(
        "public_tokens",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("ticket_number", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), server_default="status", nullable=False),
        _created_at(),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_public_tokens")),
    )
    op.create_index(
        op.f("ix_public_tokens_ticket_number"), "public_tokens", ["ticket_number"], unique=False
    )
    op.create_table(
        "external_refs",
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("ticket_number", sa.String(length=32), nullable=False),
        _created_at(),
        sa.PrimaryKeyConstraint("source", "external_id", name=op.f("pk_external_refs")),
    )
    op.create_table(
        "round_robin_cursors",
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("last_user_id", sa.Integer(), nullable=True),
        sa.Column("last_ticket_id", sa.BigInteger(), nullable=True),
        _created_at("updated_at"),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_round_robin_cursors_department_id_departments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("department_id", name=op.f("pk_round_robin_cursors")),
    )
    _seed()


def _seed() -> None:
    """Departments (kept if they exist), the four categories and one rule per category."""
    bind = op.get_bind()
    for code, name in DEPARTMENTS:
        bind.execute(
            sa.text(
                "INSERT INTO departments (code, name) VALUES (:code, :name) "
                "ON CONFLICT (code) DO NOTHING"
            ),
            {"code": code, "name": name},
        )
    for code, name_zh, name_en, priority, department in CATEGORIES:
        params = {
            "code": code,
            "zh": name_zh,
            "en": name_en,
            "priority": priority,
            "department": department,
        }
        bind.execute(
            sa.text(
                "INSERT INTO categories (code, name_zh, name_en, default_priority, department_id) "
                "SELECT :code, :zh, :en, :priority, id FROM departments WHERE code = :department "
                "ON CONFLICT (code) DO NOTHING"
            ),
            params,
        )
        bind.execute(
            sa.text(
                "INSERT INTO routing_rules (position, category, department_id, assignee_strategy) "
                "SELECT 100, :code, id, 'least_loaded' FROM departments WHERE code = :department"
            ),
            params,
        )


def downgrade() -> None:
    op.drop_table("round_robin_cursors")
    op.drop_table("external_refs")
    op.drop_index(op.f("ix_public_tokens_ticket_number"), table_name="public_tokens")
    op.drop_table("public_tokens")
    op.drop_table("routing_rules")
    op.drop_table("categories")
