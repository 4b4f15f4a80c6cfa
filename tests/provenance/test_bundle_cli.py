"""``ledger bundle``, ``ledger verify-bundle`` and ``ledger qr`` on both engines; the verifier
also runs as ``python -m ledger.verify_bundle`` with the database and web libraries absent."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from ledger import qr
from ledger.cli import main
from ledger.custody.log import Ledger
from ledger.demo import SHOWCASE_LOT, DemoSummary


@pytest.fixture(autouse=True)
def _covered(demo: tuple[Ledger, DemoSummary]) -> None:
    """Keep a checkpoint of the whole demo: the commands run without the operator key."""
    demo[0].latest_checkpoint()


def _invoke(db_url: str, *args: str, code: int = 0, public_url: str | None = None) -> Result:
    env = {"DATABASE_URL": db_url, "LEDGER_PUBLIC_URL": public_url or ""}
    result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result


def test_bundle_then_verify_bundle(
    demo: tuple[Ledger, DemoSummary], db_url: str, tmp_path: Path
) -> None:
    ledger, _ = demo
    key = str(ledger.verifier_key())
    out = tmp_path / "bundle.json"
    _invoke(db_url, "bundle", SHOWCASE_LOT, "--out", str(out))
    result = _invoke(db_url, "verify-bundle", str(out), "--key", key)
    lines = result.output.splitlines()
    assert lines[-1].startswith(f"VERIFIED: lot {SHOWCASE_LOT}, 59 entries, against checkpoint")
    assert all(line.startswith(("ok  ", "VERIFIED")) for line in lines)
    broken = bytearray(out.read_bytes())
    broken[len(broken) // 2] ^= 1
    out.write_bytes(bytes(broken))
    failed = _invoke(db_url, "verify-bundle", str(out), "--key", key, code=1)
    assert "FAIL" in failed.output and failed.output.splitlines()[-1].startswith("NOT VERIFIED")


def test_verify_bundle_with_since(
    demo: tuple[Ledger, DemoSummary], db_url: str, tmp_path: Path
) -> None:
    ledger, _ = demo
    key = str(ledger.verifier_key())
    kept = tmp_path / "kept.txt"
    kept.write_text(ledger.sign_checkpoint(50, ledger.root_at(50)))
    with_proof, without = tmp_path / "since.json", tmp_path / "plain.json"
    _invoke(db_url, "bundle", SHOWCASE_LOT, "--since", "50", "--out", str(with_proof))
    _invoke(db_url, "bundle", SHOWCASE_LOT, "--out", str(without))
    ok = _invoke(db_url, "verify-bundle", str(with_proof), "--key", key, "--since", str(kept))
    assert "ok   consistency: the log of size" in ok.output
    refused = _invoke(
        db_url, "verify-bundle", str(without), "--key", key, "--since", str(kept), code=1
    )
    assert "FAIL consistency" in refused.output


def test_verify_bundle_usage_errors(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["verify-bundle", str(tmp_path / "none"), "--key", "x+y+z"])
    assert result.exit_code == 2 and "verifier key is malformed" in result.output
    key = "x.example/log+0a0b0c0d+AQ" + "A" * 42 + "=="
    result = CliRunner().invoke(main, ["verify-bundle", str(tmp_path / "none"), "--key", key])
    assert result.exit_code == 2


def test_bundle_of_an_unknown_lot(demo: tuple[Ledger, DemoSummary], db_url: str) -> None:
    result = _invoke(db_url, "bundle", "NO-SUCH-LOT", code=1)
    assert "error [unknown_lot]" in result.output


def test_qr_writes_a_label(demo: tuple[Ledger, DemoSummary], db_url: str, tmp_path: Path) -> None:
    label = tmp_path / "label.svg"
    result = _invoke(
        db_url, "qr", SHOWCASE_LOT, "--out", str(label), public_url="https://ledger.example.org/"
    )
    assert f"https://ledger.example.org/p/{SHOWCASE_LOT}?h=" in result.output
    text = label.read_text()
    assert text.startswith("<svg") and SHOWCASE_LOT in text and "tin metal" in text
    assert 'width="60mm"' in text and " kg<" in text
    bad = _invoke(db_url, "qr", SHOWCASE_LOT, "--base-url", "ftp://x", code=1)
    assert "https://" in bad.output
    missing = _invoke(db_url, "qr", "NO-SUCH-LOT", "--out", str(label), code=1)
    assert "unknown_lot" in missing.output


def test_the_verifier_runs_without_the_database_and_web_libraries(
    demo: tuple[Ledger, DemoSummary], tmp_path: Path
) -> None:
    ledger, _ = demo
    from ledger.custody.bundles import bundle_bytes

    (tmp_path / "b.json").write_bytes(bundle_bytes(ledger, SHOWCASE_LOT))
    program = textwrap.dedent(
        """
        import sys
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in {"sqlalchemy", "flask", "click", "marshmallow", "qrcode"}:
                    raise ImportError("blocked: " + name)
        sys.meta_path.insert(0, Block())
        from ledger.verify_bundle import main
        sys.exit(main(sys.argv[1:]))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", program, str(tmp_path / "b.json"), "--key",
         str(ledger.verifier_key())],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr + done.stdout
    assert "VERIFIED" in done.stdout


@pytest.mark.parametrize("lot", ["L-1", "a:b.c_d"])
def test_page_url_carries_a_head_prefix(lot: str) -> None:
    url = qr.page_url("https://x.example/", lot, bytes(range(32)))
    assert url == f"https://x.example/p/{lot.replace(':', '%3A')}?h=0001020304050607"
