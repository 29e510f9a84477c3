"""sync_provenance: where each version of each key went (relay, targets, workflow).

Revision ID: 0006_provenance
Revises: 0005_access
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_provenance"
down_revision = "0005_access"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sync_provenance",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("namespace", sa.String(63), nullable=False),
        sa.Column("name", sa.String(253), nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("stage", sa.String(32), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("detail", sa.JSON, nullable=False),
        sa.Column("workflow_id", sa.String(400), nullable=False, server_default=""),
        sa.Column("run_id", sa.String(64), nullable=False, server_default=""),
        sa.Column("activity_id", sa.String(64), nullable=False, server_default=""),
        sa.Column("activity_type", sa.String(64), nullable=False, server_default=""),
        sa.Column("attempt", sa.Integer, nullable=False, server_default="0"),
        sa.Column("object_uid", sa.String(36), nullable=False, server_default=""),
        sa.Column("recorded_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("namespace", "name", "seq", "stage"),
    )
    op.create_index("ix_sync_provenance_object_uid", "sync_provenance", ["object_uid"])
    op.create_index("ix_revisions_actor_created", "revisions", ["actor", "created_at"])
    op.create_index("ix_revisions_created_at", "revisions", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_revisions_created_at", "revisions")
    op.drop_index("ix_revisions_actor_created", "revisions")
    op.drop_index("ix_sync_provenance_object_uid", "sync_provenance")
    op.drop_table("sync_provenance")
