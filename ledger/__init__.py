"""ASM custody ledger.

The top-level modules of this package are the *pure core*: canonical encoding, hashing, signing,
statements, disclosures, entries, Merkle proofs, checkpoints and the rule engine. They import no
database driver and no web framework, read no environment and touch no files, so a buyer's offline
verifier can be built from them alone. Storage lives in ``ledger.store``, the registry and custody
domains in ``ledger.registry`` and ``ledger.custody``, and the command line in ``ledger.cli``.
"""

__version__ = "0.1.0"
