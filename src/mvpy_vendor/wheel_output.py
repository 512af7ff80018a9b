"""Write wheels deterministically: fixed timestamps and modes, members in the order given, fresh RECORD."""

from __future__ import annotations

import csv
import io
import os
import time
import zipfile
from pathlib import Path
from types import TracebackType

from .wheel_input import record_hash

__all__ = ["WheelWriter", "zip_date_time"]

_EPOCH_1980 = 315532800  # the earliest time a zip file can store


def zip_date_time() -> tuple[int, int, int, int, int, int]:
    """SOURCE_DATE_EPOCH if set (clamped to 1980), else 1980-01-01 00:00:00."""
    raw = os.environ.get("SOURCE_DATE_EPOCH", "")
    epoch = int(raw) if raw.strip().isdigit() else _EPOCH_1980
    return time.gmtime(max(epoch, _EPOCH_1980))[:6]


class WheelWriter:
    """Add members one at a time (streamed, never all held); ``close`` appends RECORD."""

    def __init__(self, path: Path, dist_info: str) -> None:
        self.path = path
        self.record_name = f"{dist_info}/RECORD"
        self._date_time = zip_date_time()
        self._zip = zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6)
        self._record: list[tuple[str, str, str]] = []
        self._names: set[str] = set()

    def write(self, name: str, data: bytes, executable: bool = False) -> None:
        if name in self._names:
            raise ValueError(f"{self.path.name}: {name} written twice")
        self._names.add(name)
        info = zipfile.ZipInfo(name, self._date_time)
        info.create_system = 3
        info.external_attr = (0o100755 if executable else 0o100644) << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        self._zip.writestr(info, data, compresslevel=6)
        self._record.append((name, record_hash(data), str(len(data))))

    def close(self) -> None:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerows(self._record)
        writer.writerow((self.record_name, "", ""))
        self._names.discard(self.record_name)
        self.write(self.record_name, buf.getvalue().encode("utf-8"))
        self._zip.close()

    def abort(self) -> None:
        self._zip.close()
        self.path.unlink(missing_ok=True)

    def __enter__(self) -> WheelWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
