"""Settings from the environment. Read once, at the edge (CLI, app factory), never in the core.

``DATABASE_URL`` (default: the embedded SQLite file ``var/ledger.db``), ``LEDGER_KEYS_DIR``
(default ``keys/``), ``LEDGER_KEY_PASSPHRASE`` (no default: without it no key can be unlocked) and
``LEDGER_PUBLIC_URL``, the base URL of the public pages that QR codes point to (default: none;
the server then uses the host a request came to).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DATABASE_URL = "sqlite:///var/ledger.db"


@dataclass(frozen=True)
class Settings:
    database_url: str
    keys_dir: Path
    passphrase: str | None
    public_url: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        url = env.get("DATABASE_URL") or DEFAULT_DATABASE_URL
        return cls(
            database_url=url,
            keys_dir=Path(env.get("LEDGER_KEYS_DIR") or "keys"),
            passphrase=env.get("LEDGER_KEY_PASSPHRASE") or None,
            public_url=(env.get("LEDGER_PUBLIC_URL") or "").rstrip("/") or None,
        )

    def ensure_sqlite_dir(self) -> None:
        """Create the directory of an SQLite file, so a fresh checkout can just run."""
        prefix = "sqlite:///"
        if self.database_url.startswith(prefix):
            path = Path(self.database_url[len(prefix) :])
            if str(path) not in ("", ":memory:"):
                path.parent.mkdir(parents=True, exist_ok=True)
