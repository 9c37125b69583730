"""``tensorscope push`` stays a light client: a CI job's last step must not pay for the analysis stack."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def test_push_imports_neither_pandas_nor_sqlalchemy() -> None:
    code = (
        "import sys, json; from tensorscope.cli import _parser; _parser(['push']); "
        "import tensorscope.store.cmd_push; "
        "print(json.dumps(sorted(m for m in ('pandas', 'pyarrow', 'sqlalchemy', 'numpy') if m in sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert json.loads(out.stdout) == []


def test_the_store_package_still_gives_its_functions() -> None:
    """Its names are imported on first use; ``ingest`` and ``export`` stay the functions after their
    modules (of the same names) are imported."""
    code = (
        "import tensorscope.store.ingest, tensorscope.store.export, tensorscope.store.server\n"
        "import tensorscope.store as s\n"
        "from tensorscope.store import ingest, export, open_store, load_store, StoreError\n"
        "print(callable(ingest), callable(export), s.ingest is ingest, ingest.__module__, export.__module__, issubclass(StoreError, Exception))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.split() == ["True", "True", "True", "tensorscope.store.ingest", "tensorscope.store.export", "True"]
