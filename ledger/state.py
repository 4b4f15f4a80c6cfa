"""The state the rules read and write, as a protocol, and an in-memory implementation.

The rules (``ledger.rules``) are pure functions of a statement and a :class:`State`. The sequencer
runs them against the database (``ledger.store.sqlstate``), ``ledger audit`` against a scratch
database rebuilt from genesis, and the offline bundle verifier against :class:`MemoryState`: one
set of rules, three stores, so the three can never disagree about what is allowed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from ledger.custody.types import (
    Attestation,
    Flag,
    Incident,
    Lot,
    SiteStatus,
    SiteStatusChange,
)
from ledger.registry.types import Actor, Key, Miner, Site

_LIMITS = (
    "receipt_tolerance_ppm",
    "split_tolerance_ppm",
    "merge_tolerance_ppm",
    "capacity_tolerance_ppm",
    "max_future_skew_s",
)
# What a lot from a site of each status gets at lot.register when the genesis policy has no
# ``site_status`` member (or leaves a status out): accept, accept with a flag, or refuse.
DEFAULT_SITE_STATUS = {"yellow": "accept", "blue": "flag", "red": "refuse"}
DEFAULT_MAX_TRANSIT_DAYS = 30
_UNKNOWN = "\x00unknown"  # OverlayState's transit floor before it is read
_NO_TRANSIT = "\uffff"  # ... when no lot is pending in transit (above every date)
_FLOOR = ("transit_floor", "")  # where the overlay's cache keeps that bound


@dataclass(frozen=True)
class Policy:
    """The ledger's tolerances and limits, fixed by the genesis entry.

    ``site_yellow``, ``site_blue`` and ``site_red`` say what ``lot.register`` does with a lot
    from a site of that inspection status (``accept``, ``flag`` or ``refuse``; green is always
    accepted). They come from the optional ``site_status`` member of the genesis policy and
    default to :data:`DEFAULT_SITE_STATUS`. ``max_transit_days`` (optional member, default
    :data:`DEFAULT_MAX_TRANSIT_DAYS`) is how long a lot may be in transit before its receipt is
    flagged. :meth:`to_json` writes the optional members only when they differ from their
    defaults, so that genesis entries made before they existed read the same.
    """

    receipt_tolerance_ppm: int
    split_tolerance_ppm: int
    merge_tolerance_ppm: int
    capacity_tolerance_ppm: int
    max_future_skew_s: int
    site_yellow: str = DEFAULT_SITE_STATUS["yellow"]
    site_blue: str = DEFAULT_SITE_STATUS["blue"]
    site_red: str = DEFAULT_SITE_STATUS["red"]
    max_transit_days: int = DEFAULT_MAX_TRANSIT_DAYS

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> Policy:
        effects = {**DEFAULT_SITE_STATUS, **obj.get("site_status", {})}
        values: dict[str, Any] = {name: int(obj[name]) for name in _LIMITS}
        values.update({f"site_{status}": str(effect) for status, effect in effects.items()})
        values["max_transit_days"] = int(obj.get("max_transit_days", DEFAULT_MAX_TRANSIT_DAYS))
        return cls(**values)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {name: getattr(self, name) for name in _LIMITS}
        effects = {status: self.site_effect(status) for status in DEFAULT_SITE_STATUS}
        if effects != DEFAULT_SITE_STATUS:
            out["site_status"] = effects
        if self.max_transit_days != DEFAULT_MAX_TRANSIT_DAYS:
            out["max_transit_days"] = self.max_transit_days
        return out

    def site_effect(self, status: str) -> str:
        """``accept``, ``flag`` or ``refuse``: what a lot from a site of ``status`` gets."""
        return "accept" if status == "green" else str(getattr(self, f"site_{status}"))


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
    def head_entry(self, subject: str) -> tuple[bytes, int] | None: ...
    def set_head(self, subject: str, leaf_hash: bytes, seq: int) -> None: ...
    def add_link(self, seq: int, subject: str, after_entry: int) -> None: ...
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
    def add_site_lot(self, site_id: str, lot_id: str, seq: int) -> None: ...
    def site_lots(self, site_id: str) -> tuple[str, ...]: ...
    def site_status(self, site_id: str) -> SiteStatus | None: ...
    def put_site_status(self, status: SiteStatus, new: bool) -> None: ...
    def add_site_status_change(self, change: SiteStatusChange) -> None: ...
    def incident(self, incident_id: str) -> Incident | None: ...
    def put_incident(self, incident: Incident, new: bool) -> None: ...
    def open_incidents(self, subject: str) -> tuple[str, ...]: ...
    def set_open_incidents(self, subject: str, incident_ids: tuple[str, ...]) -> None: ...
    def lot_taint(self, lot_id: str) -> tuple[str, ...]: ...
    def set_lot_taint(self, lot_id: str, incident_ids: tuple[str, ...]) -> None: ...
    def lot_children(self, lot_id: str) -> tuple[str, ...]: ...
    def dispatched(self, lot_id: str) -> str | None: ...
    def set_dispatched(self, lot_id: str, time: str) -> None: ...
    def end_transit(self, lot_id: str) -> None: ...
    def overdue_transits(self, cutoff: str) -> list[tuple[str, str]]: ...
    def subject_attestations(self, subject: str) -> tuple[str, ...]: ...
    def set_subject_attestations(self, subject: str, attestation_ids: tuple[str, ...]) -> None: ...


class Backing(Protocol):
    """Where an :class:`OverlayState` reads what it has not cached, and writes what changed.

    ``load_many`` reads many rows of several kinds at once: for each kind it can read that
    way, the rows found among the wanted keys (absent keys are simply missing); the rows of a
    kind it leaves out of its answer are read one key at a time.
    """

    def load(self, kind: str, key: str) -> Any: ...
    def load_many(self, wanted: Mapping[str, list[str]]) -> dict[str, dict[str, Any]]: ...
    def flush(self, changes: Changes) -> None: ...
    def pending_transits(
        self, low: str, high: str | None, limit: int | None
    ) -> list[tuple[str, str]]:
        """Up to ``limit`` (None: all) ``(lot, dispatched)`` of the lots pending in transit,
        dispatched on or after the date ``low`` and before the date ``high`` (None: no bound),
        ordered by ``(dispatched, lot)``."""
        ...


@dataclass
class Changes:
    """Writes accumulated by an overlay: rows by kind, each ``(value, is_new)``; appended rows.

    ``before`` holds, for rows the overlay knows the stored value of, that value (None: known to
    be absent), so that a store can write only what changed; a row missing from it may or may
    not exist in the store.
    """

    rows: dict[str, dict[str, tuple[Any, bool]]] = field(default_factory=dict)
    appended: dict[str, list[Any]] = field(default_factory=dict)
    before: dict[tuple[str, str], Any] = field(default_factory=dict)


class _MemoryBacking:
    """Keeps flushed rows in dictionaries: the store of :func:`MemoryState`."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], Any] = {}
        self.appended: dict[str, list[Any]] = {}

    def load(self, kind: str, key: str) -> Any:
        return self.rows.get((kind, key))

    def load_many(self, wanted: Mapping[str, list[str]]) -> dict[str, dict[str, Any]]:
        return {}  # in memory, a read is as cheap as a cache hit

    def pending_transits(
        self, low: str, high: str | None, limit: int | None
    ) -> list[tuple[str, str]]:
        found = sorted(
            (value[0], key)
            for (kind, key), value in self.rows.items()
            if kind == "transit" and value[1] and value[0] >= low
            and (high is None or value[0] < high)
        )  # fmt: skip
        return [(lot, time) for time, lot in found[:limit]]

    def flush(self, changes: Changes) -> None:
        for kind, table in changes.rows.items():
            for key, (value, _new) in table.items():
                self.rows[(kind, key)] = value
        for kind, values in changes.appended.items():
            self.appended.setdefault(kind, []).extend(values)


class OverlayState:
    """A :class:`State` that stages each statement's writes so they can be kept or dropped.

    Writes go straight into one table of the rows written since the last flush, each write
    noting the entry it replaced; :meth:`keep` accepts the current statement's writes (forgets
    the notes) and :meth:`drop` undoes them from the notes (a rejected statement leaves no
    trace). Reads look in the written rows, then a read-through cache, then the backing store.
    :meth:`flush` sends every accepted change to the backing store in one go (``executemany``
    for SQL).
    """

    def __init__(
        self, backing: Backing | None = None, cache: dict[tuple[str, str], Any] | None = None
    ) -> None:
        self._backing: Backing = backing or _MemoryBacking()
        # ``cache`` may carry rows over from an earlier transaction, when the caller knows the
        # backing store has not changed since (see ``Ledger``'s warm cache); rows are immutable.
        self._cache: dict[tuple[str, str], Any] = {} if cache is None else cache
        # (kind, key) -> (value, new): every row written since the last flush, kept or staged
        self._rows: dict[tuple[str, str], tuple[Any, bool]] = {}
        self._undo: list[tuple[tuple[str, str], tuple[Any, bool] | None]] = []  # staged writes
        self._appended: dict[str, list[Any]] = {}  # appended rows accepted since the last flush
        self._staged_appends: list[tuple[str, Any]] = []
        # A lower bound on the date of the earliest dispatch still pending in transit, or
        # _NO_TRANSIT when none is; _UNKNOWN until first needed. Staged and kept like rows, so
        # that a dropped statement cannot leave it too high (see :meth:`overdue_transits`), and
        # carried in the cache like them (a bound on the store as of the last flush).
        self._transit_floor: str = self._cache.get(_FLOOR, _UNKNOWN)
        self._kept_transit_floor: str = self._transit_floor

    # -- statement boundaries -------------------------------------------------------------
    def keep(self) -> None:
        if self._undo:
            self._undo = []
        if self._staged_appends:
            appended = self._appended
            for kind, value in self._staged_appends:
                appended.setdefault(kind, []).append(value)
            self._staged_appends = []
        self._kept_transit_floor = self._transit_floor

    def drop(self) -> None:
        rows = self._rows
        for key, previous in reversed(self._undo):
            if previous is None:
                del rows[key]
            else:
                rows[key] = previous
        self._undo = []
        self._staged_appends = []
        self._transit_floor = self._kept_transit_floor

    @property
    def accepted(self) -> Changes:
        """The accepted changes not flushed yet, by kind (call between statements)."""
        changes = Changes(appended=self._appended)
        for (kind, key), entry in self._rows.items():
            changes.rows.setdefault(kind, {})[key] = entry
        return changes

    def flush(self) -> None:
        self.keep()
        changes = self.accepted
        cache = self._cache
        changes.before = {key: cache[key] for key in self._rows if key in cache}
        self._backing.flush(changes)
        for key, (value, _new) in self._rows.items():
            cache[key] = value
        if self._kept_transit_floor != _UNKNOWN:
            cache[_FLOOR] = self._kept_transit_floor
        self._rows = {}
        self._appended = {}

    def prefetch(self, wanted: Iterable[tuple[str, str]]) -> None:
        """Read the rows of many ``(kind, key)`` pairs into the cache in a few queries.

        Only an optimisation: a row not prefetched is read when the rules ask for it, and a
        prefetched key that is absent is cached as absent, exactly as a single read would.
        """
        by_kind: dict[str, set[str]] = {}
        for kind, key in wanted:
            if (kind, key) not in self._cache:
                by_kind.setdefault(kind, set()).add(key)
        if not by_kind:
            return
        found = self._backing.load_many({kind: sorted(keys) for kind, keys in by_kind.items()})
        for kind, rows in found.items():
            for key in by_kind[kind]:
                self._cache[(kind, key)] = rows.get(key)

    def forget(self) -> None:
        """Empty the read cache (the audit does this after each flush to bound memory)."""
        self._cache.clear()

    @property
    def cache(self) -> dict[tuple[str, str], Any]:
        """The read cache: after :meth:`flush`, every row read or written, as stored."""
        return self._cache

    # -- generic access ---------------------------------------------------------------------
    def _get(self, kind: str, key: str) -> Any:
        cache_key = (kind, key)
        written = self._rows.get(cache_key)
        if written is not None:
            return written[0]
        cache = self._cache
        if cache_key in cache:
            return cache[cache_key]
        value = self._backing.load(kind, key)
        cache[cache_key] = value
        return value

    def _put(self, kind: str, key: str, value: Any, new: bool) -> None:
        cache_key = (kind, key)
        previous = self._rows.get(cache_key)
        self._undo.append((cache_key, previous))
        self._rows[cache_key] = (value, new or (previous is not None and previous[1]))

    def _append(self, kind: str, value: Any) -> None:
        self._staged_appends.append((kind, value))

    def _appended_of(self, kind: str, *, staged: bool) -> list[Any]:
        """Accepted (and with ``staged``, staged) appended rows of ``kind`` not yet flushed."""
        found = list(self._appended.get(kind, ()))
        if staged:
            found += [value for k, value in self._staged_appends if k == kind]
        return found

    def appended(self, kind: str) -> list[Any]:
        """Rows of an append-only kind (flags, edges) accepted so far, and for an in-memory
        state also those already flushed (a database keeps its own)."""
        kept = self._backing.appended if isinstance(self._backing, _MemoryBacking) else {}
        return [*kept.get(kind, []), *self._appended.get(kind, [])]

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

    def head_entry(self, subject: str) -> tuple[bytes, int] | None:
        """The leaf hash and sequence number of the entry that last changed ``subject``."""
        return self._get("head", subject)  # type: ignore[no-any-return]

    def set_head(self, subject: str, leaf_hash: bytes, seq: int) -> None:
        self._put("head", subject, (leaf_hash, seq), False)

    def add_link(self, seq: int, subject: str, after_entry: int) -> None:
        """Entry ``seq`` was made after entry ``after_entry``, the head of ``subject``."""
        self._append("link", (seq, subject, after_entry))

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
        self._append("flag", flag)

    def add_edge(self, child: str, parent: str, seq: int) -> None:
        self._append("edge", (child, parent, seq))

    def add_site_lot(self, site_id: str, lot_id: str, seq: int) -> None:
        """``lot_id`` was registered at ``site_id`` (what an incident on the site taints)."""
        self._append("site_lot", (site_id, lot_id, seq))

    def site_lots(self, site_id: str) -> tuple[str, ...]:
        """The lots registered at ``site_id``: stored, accepted and staged. Not cached (read
        only when an incident about the site opens)."""
        if isinstance(self._backing, _MemoryBacking):
            stored = self._backing.appended.get("site_lot", [])
            lots = {lot for site, lot, _seq in stored if site == site_id}
        else:
            reader = getattr(self._backing, "site_lots", None)
            lots = set() if reader is None else set(reader(site_id))
        lots.update(
            lot for site, lot, _seq in self._appended_of("site_lot", staged=True) if site == site_id
        )
        return tuple(sorted(lots))

    def site_status(self, site_id: str) -> SiteStatus | None:
        return self._get("site_status", site_id)  # type: ignore[no-any-return]

    def put_site_status(self, status: SiteStatus, new: bool) -> None:
        self._put("site_status", status.site, status, new)

    def add_site_status_change(self, change: SiteStatusChange) -> None:
        self._append("site_status_change", change)

    def incident(self, incident_id: str) -> Incident | None:
        return self._get("incident", incident_id)  # type: ignore[no-any-return]

    def put_incident(self, incident: Incident, new: bool) -> None:
        self._put("incident", incident.id, incident, new)

    def open_incidents(self, subject: str) -> tuple[str, ...]:
        found = self._get("open_incidents", subject)
        return () if found is None else tuple(found)

    def set_open_incidents(self, subject: str, incident_ids: tuple[str, ...]) -> None:
        self._put("open_incidents", subject, incident_ids, False)

    def lot_taint(self, lot_id: str) -> tuple[str, ...]:
        found = self._get("taint", lot_id)
        return () if found is None else tuple(found)

    def set_lot_taint(self, lot_id: str, incident_ids: tuple[str, ...]) -> None:
        self._put("taint", lot_id, incident_ids, False)

    def dispatched(self, lot_id: str) -> str | None:
        found = self._get("transit", lot_id)
        return None if found is None else str(found[0])

    def set_dispatched(self, lot_id: str, time: str) -> None:
        self._put("transit", lot_id, (time, True), False)
        floor = self._transit_floor
        if floor != _UNKNOWN and time[:10] < floor:
            self._transit_floor = time[:10]

    def end_transit(self, lot_id: str) -> None:
        """The lot is no longer pending in transit: received, or flagged as overdue."""
        found = self._get("transit", lot_id)
        if found is not None and found[1]:
            self._put("transit", lot_id, (found[0], False), False)

    def overdue_transits(self, cutoff: str) -> list[tuple[str, str]]:
        """``(lot, dispatched)`` of every lot pending in transit dispatched before the date
        ``cutoff`` (``YYYY-MM-DD``), ordered by ``(dispatched, lot)``.

        Asked for every statement, so the usual answer (none) must cost nothing: a lower bound
        on the earliest pending dispatch date is kept, and the store is read only when the
        cutoff passes it. The caller ends the transits it is given (:meth:`end_transit`); the
        bound then moves to the earliest pending dispatch on or after ``cutoff``.
        """
        floor = self._transit_floor
        if floor == _UNKNOWN:
            floor = self._transit_floor = self._earliest_pending("")
        if floor >= cutoff:  # _NO_TRANSIT sorts after every date
            return []
        found = self._pending_before(cutoff)
        self._transit_floor = self._earliest_pending(cutoff)
        return found

    def _transit_changes(self) -> dict[str, tuple[str, bool]]:
        """The transit rows this overlay has written (staged over accepted)."""
        rows = self._rows.items()
        return {key: value for (kind, key), (value, _new) in rows if kind == "transit"}

    def _pending_before(self, cutoff: str) -> list[tuple[str, str]]:
        changed = self._transit_changes()
        found = {
            lot: time
            for lot, time in self._backing_transits("", cutoff, None)
            if lot not in changed
        }
        found.update((lot, t) for lot, (t, pending) in changed.items() if pending and t < cutoff)
        return sorted(found.items(), key=lambda item: (item[1], item[0]))

    def _earliest_pending(self, low: str) -> str:
        """The date of the earliest pending dispatch on or after the date ``low`` (``""``: any),
        or _NO_TRANSIT. The overlay can hide at most as many of the store's rows as it has
        written, so one more than that is enough to read."""
        changed = self._transit_changes()
        dates = [t[:10] for t, pending in changed.values() if pending and t >= low]
        for lot, time in self._backing_transits(low, None, len(changed) + 1):
            if lot not in changed:
                dates.append(time[:10])
                break
        return min(dates) if dates else _NO_TRANSIT

    def _backing_transits(self, low: str, high: str | None, limit: int | None) -> list[Any]:
        pending = getattr(self._backing, "pending_transits", None)
        return [] if pending is None else list(pending(low, high, limit))

    def subject_attestations(self, subject: str) -> tuple[str, ...]:
        found = self._get("subject_attestations", subject)
        return () if found is None else tuple(found)

    def set_subject_attestations(self, subject: str, attestation_ids: tuple[str, ...]) -> None:
        self._put("subject_attestations", subject, attestation_ids, False)

    def lot_children(self, lot_id: str) -> tuple[str, ...]:
        """The lots made from ``lot_id``, from the edges stored, accepted and staged.

        Not cached: the edges of a lot grow, and the walks that need them are rare (an incident
        about a lot opening or resolved).
        """
        children = set(self._backing_children(lot_id))
        children.update(
            c for c, parent, _seq in self._appended_of("edge", staged=True) if parent == lot_id
        )
        return tuple(sorted(children))

    def _backing_children(self, lot_id: str) -> list[str]:
        if isinstance(self._backing, _MemoryBacking):
            edges = self._backing.appended.get("edge", [])
            return [child for child, parent, _seq in edges if parent == lot_id]
        children = getattr(self._backing, "children", None)
        return [] if children is None else list(children(lot_id))


def MemoryState() -> OverlayState:
    """An in-memory state with no backing store (tests, the offline verifier)."""
    return OverlayState()
