"""Run the conformance suite: upstream tests of the original release vs. its renamed copy, per test.

    python conformance/run.py [--only TARGET ...] [--mode isolated|as-written] [--tool PATH]

See conformance/README.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mvconf.cli import main

if __name__ == "__main__":
    sys.exit(main())
