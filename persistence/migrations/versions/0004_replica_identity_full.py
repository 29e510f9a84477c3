"""appconfigs logs whole rows on PostgreSQL (REPLICA IDENTITY FULL), for Debezium.

With the default replica identity, the WAL holds only the primary key of the old row and
leaves an unchanged TOASTed value (a large json column) out of an update: a Debezium
connector then sends the placeholder ``__debezium_unavailable_value`` instead of the spec,
and a delete without the old row. FULL logs every column. SQLite has no replication: no-op.

Revision ID: 0004_replica_identity_full
Revises: 0003_outbox_error
"""

from alembic import op

revision = "0004_replica_identity_full"
down_revision = "0003_outbox_error"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE appconfigs REPLICA IDENTITY FULL")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE appconfigs REPLICA IDENTITY DEFAULT")
