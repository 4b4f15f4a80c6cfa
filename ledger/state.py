"""The state the rules read and write, as a protocol, and an in-memory implementation.

The rules (``ledger.rules``) are pure functions of a statement and a :class:`State`. The sequencer
runs them against the database (``ledger.store.sqlstate``), ``ledger audit`` against a scratch
database rebuilt from genesis, and the offline bundle verifier against :class:`MemoryState`: one
set of rules, three stores, so the three can never disagree about what is allowed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from ledger.custody.types import Attestation, Flag, Lot
from ledger.registry.types import Actor, Key, Miner, Site


@dataclass(frozen=True)
class Policy:
    """The ledger's tolerances and limits, fixed by the genesis entry."""

    receipt_tolerance_ppm: int
    split_tolerance_ppm: int
    merge_tolerance_ppm: int
    capacity_tolerance_ppm: int
    max_future_skew_s: int

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> Policy:
        return cls(**{name: int(obj[name]) for name in cls.__dataclass_fields__})

    def to_json(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


DEFAULT_POLICY = Policy(
    receipt_tolerance_ppm=5_000,
    split_tolerance_ppm=2_000,
    merge_tolerance_ppm=2_000,
    capacity_tolerance_ppm=0,
    max_future_skew_s=600,
)


class State(Protocol):
    """Reads and writes of derived state. ``new`` says whether the rules created the object."""

    def origin(self) -> str | None: ...
    def policy(self) -> Policy: ...
    def set_genesis(self, origin: str, policy: Policy) -> None: ...
    def head(self, subject: str) -> bytes | None: ...
    def set_head(self, subject: str, leaf_hash: bytes, seq: int) -> None: ...
    def actor(self, actor_id: str) -> Actor | None: ...
    def put_actor(self, actor: Actor, new: bool) -> None: ...
    def key(self, key_id: str) -> Key | None: ...
    def put_key(self, key: Key, new: bool) -> None: ...
    def site(self, site_id: str) -> Site | None: ...
    def put_site(self, site: Site, new: bool) -> None: ...
    def miner(self, miner_id: str) -> Miner | None: ...
    def put_miner(self, miner: Miner) -> None: ...
    def lot(self, lot_id: str) -> Lot | None: ...
    def put_lot(self, lot: Lot, new: bool) -> None: ...
    def tag_lot(self, tag: str) -> str | None: ...
    def put_tag(self, tag: str, lot_id: str, seq: int) -> None: ...
    def site_output(self, site_id: str, month: str) -> int: ...
    def set_site_output(self, site_id: str, month: str, mass_g: int) -> None: ...
    def attestation(self, attestation_id: str) -> Attestation | None: ...
    def put_attestation(self, attestation: Attestation, new: bool) -> None: ...
    def add_flag(self, flag: Flag) -> None: ...
    def add_edge(self, child: str, parent: str, seq: int) -> None: ...


class Backing(Protocol):
    """Where an :class:`OverlayState` reads what it has not cached, and writes what changed.

    ``load_many`` returns the rows found among ``keys`` (absent keys are simply missing); a
    backing that cannot read several at once returns None and is asked one key at a time.
    """

    def load(self, kind: str, key: str) -> Any: ...
    def load_many(self, kind: str, keys: list[str]) -> dict[str, Any] | None: ...
    def flush(self, changes: Changes) -> None: ...


@dataclass
class Changes:
    """Writes accumulated by an overlay: rows by kind, each ``(value, is_new)``; appended rows."""

    rows: dict[str, dict[str, tuple[Any, bool]]] = field(default_factory=dict)
    appended: dict[str, list[Any]] = field(default_factory=dict)

    def put(self, kind: str, key: str, value: Any, new: bool) -> None:
        table = self.rows.setdefault(kind, {})
        previous = table.get(key)
        table[key] = (value, new or (previous is not None and previous[1]))

    def append(self, kind: str, value: Any) -> None:
        self.appended.setdefault(kind, []).append(value)

    def merge(self, other: Changes) -> None:
        for kind, table in other.rows.items():
            for key, (value, new) in table.items():
                self.put(kind, key, value, new)
        for kind, values in other.appended.items():
            self.appended.setdefault(kind, []).extend(values)

    def get(self, kind: str, key: str) -> tuple[bool, Any]:
        found = self.rows.get(kind, {}).get(key)
        return (False, None) if found is None else (True, found[0])

    def __bool__(self) -> bool:
        return bool(self.rows) or bool(self.appended)


class _MemoryBacking:
    """Keeps flushed rows in dictionaries: the store of :func:`MemoryState`."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], Any] = {}
        self.appended: dict[str, list[Any]] = {}

    def load(self, kind: str, key: str) -> Any:
        return self.rows.get((kind, key))

    def load_many(self, kind: str, keys: list[str]) -> dict[str, Any] | None:
        return None  # in memory, a read is as cheap as a cache hit

    def flush(self, changes: Changes) -> None:
        for kind, table in changes.rows.items():
            for key, (value, _new) in table.items():
                self.rows[(kind, key)] = value
        for kind, values in changes.appended.items():
            self.appended.setdefault(kind, []).extend(values)


class OverlayState:
    """A :class:`State` that stages each statement's writes so they can be kept or dropped.

    Reads look in the current statement's staging area, then the accepted changes, then a
    read-through cache, then the backing store. :meth:`keep` accepts the staged writes,
    :meth:`drop` discards them (a rejected statement leaves no trace), and :meth:`flush` sends
    all accepted changes to the backing store in one go (``executemany`` for SQL).
    """

    def __init__(
        self, backing: Backing | None = None, cache: dict[tuple[str, str], Any] | None = None
    ) -> None:
        self._backing: Backing = backing or _MemoryBacking()
        # ``cache`` may carry rows over from an earlier transaction, when the caller knows the
        # backing store has not changed since (see ``Ledger``'s warm cache); rows are immutable.
        self._cache: dict[tuple[str, str], Any] = {} if cache is None else cache
        self.accepted = Changes()
        self._staged = Changes()

    # -- statement boundaries -------------------------------------------------------------
    def keep(self) -> None:
        self.accepted.merge(self._staged)
        self._staged = Changes()

    def drop(self) -> None:
        self._staged = Changes()

    def flush(self) -> None:
        self.keep()
        self._backing.flush(self.accepted)
        for kind, table in self.accepted.rows.items():
            for key, (value, _new) in table.items():
                self._cache[(kind, key)] = value
        self.accepted = Changes()

    def prefetch(self, wanted: Iterable[tuple[str, str]]) -> None:
        """Read the rows of many ``(kind, key)`` pairs into the cache in a few queries.

        Only an optimisation: a row not prefetched is read when the rules ask for it, and a
        prefetched key that is absent is cached as absent, exactly as a single read would.
        """
        by_kind: dict[str, set[str]] = {}
        for kind, key in wanted:
            if (kind, key) not in self._cache:
                by_kind.setdefault(kind, set()).add(key)
        for kind, keys in by_kind.items():
            found = self._backing.load_many(kind, sorted(keys))
            if found is None:
                continue
            for key in keys:
                self._cache[(kind, key)] = found.get(key)

    def forget(self) -> None:
        """Empty the read cache (the audit does this after each flush to bound memory)."""
        self._cache.clear()

    @property
    def cache(self) -> dict[tuple[str, str], Any]:
        """The read cache: after :meth:`flush`, every row read or written, as stored."""
        return self._cache

    # -- generic access ---------------------------------------------------------------------
    def _get(self, kind: str, key: str) -> Any:
        table = self._staged.rows.get(kind)
        if table is not None and key in table:
            return table[key][0]
        table = self.accepted.rows.get(kind)
        if table is not None and key in table:
            return table[key][0]
        cache_key = (kind, key)
        if cache_key in self._cache:
            return self._cache[cache_key]
        value = self._backing.load(kind, key)
        self._cache[cache_key] = value
        return value

    def _put(self, kind: str, key: str, value: Any, new: bool) -> None:
        self._staged.put(kind, key, value, new)

    def appended(self, kind: str) -> list[Any]:
        """Rows of an append-only kind (flags, edges) accepted so far, and for an in-memory
        state also those already flushed (a database keeps its own)."""
        kept = self._backing.appended if isinstance(self._backing, _MemoryBacking) else {}
        return [*kept.get(kind, []), *self.accepted.appended.get(kind, [])]

    # -- the State protocol -----------------------------------------------------------------
    def origin(self) -> str | None:
        ledger = self._get("ledger", "1")
        return None if ledger is None else str(ledger[0])

    def policy(self) -> Policy:
        ledger = self._get("ledger", "1")
        return DEFAULT_POLICY if ledger is None else ledger[1]

    def set_genesis(self, origin: str, policy: Policy) -> None:
        self._put("ledger", "1", (origin, policy), True)

    def head(self, subject: str) -> bytes | None:
        found = self._get("head", subject)
        return None if found is None else found[0]

    def set_head(self, subject: str, leaf_hash: bytes, seq: int) -> None:
        self._put("head", subject, (leaf_hash, seq), False)

    def actor(self, actor_id: str) -> Actor | None:
        return self._get("actor", actor_id)  # type: ignore[no-any-return]

    def put_actor(self, actor: Actor, new: bool) -> None:
        self._put("actor", actor.id, actor, new)

    def key(self, key_id: str) -> Key | None:
        return self._get("key", key_id)  # type: ignore[no-any-return]

    def put_key(self, key: Key, new: bool) -> None:
        self._put("key", key.key_id, key, new)

    def site(self, site_id: str) -> Site | None:
        return self._get("site", site_id)  # type: ignore[no-any-return]

    def put_site(self, site: Site, new: bool) -> None:
        self._put("site", site.id, site, new)

    def miner(self, miner_id: str) -> Miner | None:
        return self._get("miner", miner_id)  # type: ignore[no-any-return]

    def put_miner(self, miner: Miner) -> None:
        self._put("miner", miner.id, miner, True)

    def lot(self, lot_id: str) -> Lot | None:
        return self._get("lot", lot_id)  # type: ignore[no-any-return]

    def put_lot(self, lot: Lot, new: bool) -> None:
        self._put("lot", lot.id, lot, new)

    def tag_lot(self, tag: str) -> str | None:
        found = self._get("tag", tag)
        return None if found is None else found[0]

    def put_tag(self, tag: str, lot_id: str, seq: int) -> None:
        self._put("tag", tag, (lot_id, seq), True)

    def site_output(self, site_id: str, month: str) -> int:
        found = self._get("output", f"{site_id}\x00{month}")
        return 0 if found is None else int(found)

    def set_site_output(self, site_id: str, month: str, mass_g: int) -> None:
        self._put("output", f"{site_id}\x00{month}", mass_g, False)

    def attestation(self, attestation_id: str) -> Attestation | None:
        return self._get("attestation", attestation_id)  # type: ignore[no-any-return]

    def put_attestation(self, attestation: Attestation, new: bool) -> None:
        self._put("attestation", attestation.id, attestation, new)

    def add_flag(self, flag: Flag) -> None:
        self._staged.append("flag", flag)

    def add_edge(self, child: str, parent: str, seq: int) -> None:
        self._staged.append("edge", (child, parent, seq))


def MemoryState() -> OverlayState:
    """An in-memory state with no backing store (tests, the offline verifier)."""
    return OverlayState()
