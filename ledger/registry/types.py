"""Registry domain objects, as the rules see them (frozen; storage maps them to rows)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    id: str
    name: str
    roles: tuple[str, ...]
    country: str
    registered_seq: int


@dataclass(frozen=True)
class Key:
    key_id: str
    actor: str
    public_key: bytes
    added_seq: int
    revoked_seq: int | None = None
    revoked_effective: str | None = None
    last_n: int = 0
    # The entry and the time of the latest-dated statement the key signed (for the flag
    # ``key_revoked_backdated``); None until it signs one.
    last_seq: int | None = None
    last_time: str | None = None


@dataclass(frozen=True)
class Site:
    id: str
    name: str
    country: str
    region: str
    lat_e6: int
    lon_e6: int
    minerals: tuple[str, ...]
    licence_number: str
    licence_expires: str
    cooperative: str
    capacity_g_month: int
    inspection_status: str
    registered_seq: int


@dataclass(frozen=True)
class Miner:
    id: str
    cooperative: str
    site: str
    registered_seq: int
