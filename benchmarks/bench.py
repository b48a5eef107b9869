"""The row-heavy benchmark under its old name: ``python benchmarks/bench.py [options]``
is ``python -m benchmarks rows [options]`` (see benchmarks/README.md)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.__main__ import main

if __name__ == "__main__":
    sys.exit(main(["rows", *sys.argv[1:]]))
