#!/bin/sh
# make run: a random passphrase for the demo keystore when LEDGER_KEY_PASSPHRASE is unset.
# Written once, mode 0600, outside the repository's tracked files (var/ is git-ignored).
set -eu
dir="${LEDGER_DATA_DIR:-var}"
[ -n "${LEDGER_KEY_PASSPHRASE:-}" ] && exit 0
[ -f "$dir/demo-passphrase" ] && exit 0
mkdir -p "$dir"
umask 077
python3 -c 'import secrets; print(secrets.token_urlsafe(24))' > "$dir/demo-passphrase"
echo "generated a demo passphrase in $dir/demo-passphrase (set LEDGER_KEY_PASSPHRASE in production)"
