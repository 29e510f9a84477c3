"""api_tokens and role_bindings: who may call the API, and with which role where.

Revision ID: 0005_access
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_access"
down_revision = "0004_replica_identity_full"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.String(16), primary_key=True),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("principal", sa.String(253), nullable=False),
        sa.Column("groups", sa.JSON, nullable=False),
        sa.Column("description", sa.String(253), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("expires_at", sa.DateTime, nullable=True),
        sa.Column("last_used_at", sa.DateTime, nullable=True),
        sa.Column("revoked_at", sa.DateTime, nullable=True),
    )
    op.create_table(
        "role_bindings",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("namespace", sa.String(63), nullable=False, server_default=""),
        sa.Column("subject_kind", sa.String(8), nullable=False),
        sa.Column("subject", sa.String(253), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_role_bindings_subject", "role_bindings", ["subject_kind", "subject"])


def downgrade() -> None:
    op.drop_index("ix_role_bindings_subject", "role_bindings")
    op.drop_table("role_bindings")
    op.drop_table("api_tokens")
