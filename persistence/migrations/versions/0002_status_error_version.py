"""sync_status.error_version: the version an attempt error is about (fences zombie errors).

Revision ID: 0002_status_error_version
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_status_error_version"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sync_status") as batch:
        batch.add_column(
            sa.Column("error_version", sa.BigInteger, nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("sync_status") as batch:
        batch.drop_column("error_version")
