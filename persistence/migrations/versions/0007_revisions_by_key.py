"""revisions: an index over (namespace, name, seq), so reading one key's revisions (its history,
the versions coalesced into an apply) searches that key instead of its whole namespace. It
replaces the index over namespace alone, which it starts with.

Revision ID: 0007_revisions_by_key
Revises: 0006_provenance
"""

from alembic import op

revision = "0007_revisions_by_key"
down_revision = "0006_provenance"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_revisions_key_seq", "revisions", ["namespace", "name", "seq"])
    op.drop_index("ix_revisions_namespace", "revisions")


def downgrade() -> None:
    op.create_index("ix_revisions_namespace", "revisions", ["namespace"])
    op.drop_index("ix_revisions_key_seq", "revisions")
