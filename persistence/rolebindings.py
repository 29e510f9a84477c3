"""Role bindings kept in the database: a role for a user or group, in one namespace or
cluster-wide (``namespace`` empty). Managed with ``rendersync rbac``; the authorizer reads
them together with the policy file's."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlmodel import Field, SQLModel, col, select

from persistence.db import read_session, write_session

USER, GROUP = "User", "Group"


class RoleBindingRow(SQLModel, table=True):
    __tablename__ = "role_bindings"

    id: int | None = Field(default=None, primary_key=True)
    role: str = Field(max_length=32)
    #: Empty: every namespace (a cluster-wide binding).
    namespace: str = Field(default="", max_length=63)
    subject_kind: str = Field(max_length=8)
    subject: str = Field(max_length=253)
    created_at: datetime


@dataclass(frozen=True)
class Binding:
    """One grant, wherever it was declared (the policy file or the database)."""

    role: str
    namespace: str
    subject_kind: str
    subject: str


def bind(engine: Engine, binding: Binding) -> int:
    """Store ``binding`` (once: an identical one is not added again); return its id."""
    with write_session(engine) as session:
        found = session.exec(
            select(RoleBindingRow).where(
                col(RoleBindingRow.role) == binding.role,
                col(RoleBindingRow.namespace) == binding.namespace,
                col(RoleBindingRow.subject_kind) == binding.subject_kind,
                col(RoleBindingRow.subject) == binding.subject,
            )
        ).first()
        if found is not None and found.id is not None:
            return found.id
        row = RoleBindingRow(
            role=binding.role,
            namespace=binding.namespace,
            subject_kind=binding.subject_kind,
            subject=binding.subject,
            created_at=datetime.now(UTC),
        )
        session.add(row)
        session.flush()
        assert row.id is not None
        return row.id


def unbind(engine: Engine, binding_id: int) -> bool:
    with write_session(engine) as session:
        row = session.get(RoleBindingRow, binding_id)
        if row is None:
            return False
        session.delete(row)
    return True


def list_bindings(engine: Engine) -> list[RoleBindingRow]:
    with read_session(engine) as session:
        return list(session.exec(select(RoleBindingRow).order_by(col(RoleBindingRow.id))))


def bindings_of(engine: Engine, *, user: str, groups: tuple[str, ...]) -> list[Binding]:
    """The database's bindings whose subject is ``user`` or one of ``groups``."""
    with read_session(engine) as session:
        rows = session.exec(
            select(RoleBindingRow).where(
                ((col(RoleBindingRow.subject_kind) == USER) & (col(RoleBindingRow.subject) == user))
                | (
                    (col(RoleBindingRow.subject_kind) == GROUP)
                    & col(RoleBindingRow.subject).in_(groups)
                )
            )
        )
        return [Binding(r.role, r.namespace, r.subject_kind, r.subject) for r in rows]
