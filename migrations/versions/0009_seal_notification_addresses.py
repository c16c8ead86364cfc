"""notification addresses and secrets sealed at rest: room for the sealed form

Revision ID: 0009
Revises: 0008

Preference phones, robot webhook URLs (they carry access tokens), robot signing secrets
and webhook signing secrets are stored sealed (core.pii). Existing clear values keep
working and are sealed by `closedloop keys rotate`.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

PREFERENCE_COLUMNS = {
    "phone": 32,
    "wecom_webhook_url": 500,
    "dingtalk_webhook_url": 500,
    "dingtalk_secret": 200,
    "feishu_webhook_url": 500,
    "feishu_secret": 200,
}


def upgrade() -> None:
    for column in PREFERENCE_COLUMNS:
        op.alter_column("notification_preferences", column, type_=sa.Text())
    op.alter_column("webhook_subscriptions", "secret", type_=sa.Text())


def downgrade() -> None:
    # Sealed values do not fit the old widths: downgrade after `closedloop keys rotate` is
    # not possible without losing them, so only clear values are shortened back.
    for column, length in PREFERENCE_COLUMNS.items():
        op.alter_column(
            "notification_preferences",
            column,
            type_=sa.String(length),
            postgresql_using=f"left({column}, {length})",
        )
    op.alter_column(
        "webhook_subscriptions",
        "secret",
        type_=sa.String(200),
        postgresql_using="left(secret, 200)",
    )
