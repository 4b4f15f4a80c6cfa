"""Registry tables. Derived state: every row is re-derivable from the log by ``ledger audit``."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from ledger.db import Base


class ActorRow(Base):
    __tablename__ = "actors"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    roles: Mapped[list[str]] = mapped_column(JSON)
    country: Mapped[str] = mapped_column(String(2))
    registered_seq: Mapped[int] = mapped_column(BigInteger)


class KeyRow(Base):
    __tablename__ = "actor_keys"
    key_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    actor_id: Mapped[str] = mapped_column(ForeignKey("actors.id"), index=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    added_seq: Mapped[int] = mapped_column(BigInteger)
    revoked_seq: Mapped[int | None] = mapped_column(BigInteger)
    revoked_effective: Mapped[str | None] = mapped_column(String(40))
    last_n: Mapped[int] = mapped_column(BigInteger)
    last_seq: Mapped[int | None] = mapped_column(BigInteger)
    last_time: Mapped[str | None] = mapped_column(String(40))


class SiteRow(Base):
    __tablename__ = "sites"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(2), index=True)
    region: Mapped[str] = mapped_column(String(200))
    lat_e6: Mapped[int] = mapped_column(Integer)
    lon_e6: Mapped[int] = mapped_column(Integer)
    minerals: Mapped[list[str]] = mapped_column(JSON)
    licence_number: Mapped[str] = mapped_column(String(100))
    licence_expires: Mapped[str] = mapped_column(String(10))
    cooperative: Mapped[str] = mapped_column(ForeignKey("actors.id"), index=True)
    capacity_g_month: Mapped[int] = mapped_column(BigInteger)
    inspection_status: Mapped[str] = mapped_column(String(8))
    registered_seq: Mapped[int] = mapped_column(BigInteger)


class MinerRow(Base):
    __tablename__ = "miners"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    cooperative: Mapped[str] = mapped_column(ForeignKey("actors.id"), index=True)
    site: Mapped[str] = mapped_column(ForeignKey("sites.id"), index=True)
    registered_seq: Mapped[int] = mapped_column(BigInteger)


class SiteOutputRow(Base):
    __tablename__ = "site_outputs"
    site: Mapped[str] = mapped_column(ForeignKey("sites.id"), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    mass_g: Mapped[int] = mapped_column(BigInteger)


class ApiTokenRow(Base):
    """An actor's API token (see :mod:`ledger.registry.tokens`): only its SHA-256 is stored.

    Not derived from the log and not part of it: tokens are issued, expire and are revoked by
    the operator, so this table is mutable and ``ledger audit`` does not compare it.
    """

    __tablename__ = "api_tokens"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    token_hash: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    actor_id: Mapped[str] = mapped_column(ForeignKey("actors.id"), index=True)
    label: Mapped[str] = mapped_column(String(100))
    created: Mapped[str] = mapped_column(String(40))
    expires: Mapped[str] = mapped_column(String(40))
    revoked: Mapped[str | None] = mapped_column(String(40))
