"""outbox.error: why the relay set an event aside (refused for good by the producer).

Revision ID: 0003_outbox_error
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_outbox_error"
down_revision = "0002_status_error_version"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("error", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("error")
