"""The pure core imports no database, web or schema library (STYLE.md, "A pure core").

Each check runs in a fresh interpreter whose import system refuses the forbidden packages, so a
stray ``import sqlalchemy`` anywhere in the core's import graph fails the test. The same block
applied to a storage module must fail, which shows that the block works.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

FORBIDDEN = ("sqlalchemy", "flask", "marshmallow", "alembic", "psycopg")
CORE = (
    "ledger.errors",
    "ledger.canonical",
    "ledger.crypto",
    "ledger.statements",
    "ledger.disclosures",
    "ledger.entries",
    "ledger.bodies",
    "ledger.merkle",
    "ledger.checkpoint",
    "ledger.state",
    "ledger.rules",
    "ledger.rulebook",
    "ledger.registry.rules",
    "ledger.registry.types",
    "ledger.custody.rules",
    "ledger.custody.types",
    "ledger.builder",
    "ledger.custody.privacy",
    "ledger.registry.access",
    "ledger.replay",
    "ledger.bundle",
    "ledger.verify_bundle",
    "ledger.custody.public_view",
)
# Besides the standard library and ledger itself, the core may load only these (and the native
# helper modules of cryptography, whose names start with an underscore).
ALLOWED_THIRD_PARTY = {"cryptography", "rfc8785"}

_PROGRAM = textwrap.dedent(
    """
    import importlib, json, sys

    FORBIDDEN = {forbidden!r}

    class Block:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in FORBIDDEN:
                raise ImportError(f"blocked: {{name}}")
            return None

    sys.meta_path.insert(0, Block())
    before = set(sys.modules)
    failed = {{}}
    for name in {modules!r}:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            failed[name] = str(exc)
    loaded = sorted(set(sys.modules) - before)
    print(json.dumps({{"failed": failed, "loaded": loaded}}))
    """
)


def _import_blocked(modules: tuple[str, ...]) -> dict[str, object]:
    program = _PROGRAM.format(forbidden=FORBIDDEN, modules=modules)
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.fixture(scope="module")
def core_import() -> dict[str, object]:
    return _import_blocked(CORE)


def test_core_imports_with_database_and_web_libraries_blocked(
    core_import: dict[str, object],
) -> None:
    assert core_import["failed"] == {}


def test_core_loads_only_stdlib_cryptography_and_rfc8785(core_import: dict[str, object]) -> None:
    loaded = core_import["loaded"]
    assert isinstance(loaded, list)
    assert set(CORE) <= set(loaded)
    tops = {name.split(".")[0] for name in loaded}
    foreign = {
        top
        for top in tops - set(sys.stdlib_module_names) - {"ledger"} - ALLOWED_THIRD_PARTY
        if not top.startswith("_")
    }
    assert foreign == set()
    assert not any(name.split(".")[0] in FORBIDDEN for name in loaded)
    storage = {
        "ledger.db",
        "ledger.sqlstate",
        "ledger.custody.log",
        "ledger.cli",
        "ledger.keystore",
    }
    assert storage.isdisjoint(loaded)


@pytest.mark.parametrize("module", ["ledger.sqlstate", "ledger.db", "ledger.custody.log"])
def test_the_block_catches_a_storage_module(module: str) -> None:
    result = _import_blocked((module,))
    failed = result["failed"]
    assert isinstance(failed, dict)
    assert "blocked: sqlalchemy" in failed[module]
