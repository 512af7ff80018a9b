"""``python -m mvpy_vendor.backend wheelhouse OUT WHEEL ...``: a wheelhouse ``mvpy-vendor verify OUT`` can check.

OUT gets copies of the wheels (a library that embeds renamed copies, and what is installed
beside it, such as the other version), ``requirements.txt`` and a report naming the embedded
copies' top-level names.
"""

from __future__ import annotations

import sys
from pathlib import Path

from mvpy_vendor.errors import MvpyError

from .embed import write_wheelhouse


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[0] != "wheelhouse":
        sys.stderr.write("usage: python -m mvpy_vendor.backend wheelhouse OUT WHEEL [WHEEL ...]\n")
        return 2
    try:
        out = write_wheelhouse([Path(w) for w in argv[2:]], Path(argv[1]))
    except MvpyError as exc:
        sys.stderr.write(f"mvpy-vendor: error: {exc}\n")
        return exc.exit_code
    sys.stdout.write(f"wrote {len(argv) - 2} wheels to {out}; check it with: mvpy-vendor verify {out}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
