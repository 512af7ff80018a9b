"""The harness's pytest plugin: per-test outcomes, deselection, the newest release imported first.

Copied into every test environment's site-packages and loaded with ``-p mvconf_plugin``. It runs
inside the suite's interpreter under whatever pytest the target pins (old ones too), so it uses
only hooks that pytest has had since 3.x and nothing outside the standard library. Settings come
from environment variables, written by the harness:

* ``MVCONF_OUT``: a JSON-lines file; one ``{"start": id}`` line when a test starts, one
  ``{"id", "outcome", "message"}`` line when it ends (flushed at once, so a crash loses nothing
  but the test that crashed, which the harness finds as the last start without an end);
* ``MVCONF_RENAMES``: ``renamed=original,...``; each renamed top-level name is written back as
  the original in test ids, so ids compare between the original and the renamed runs;
* ``MVCONF_PATHS``: ``path=label`` pairs (``os.pathsep``-separated) written as their label in ids;
* ``MVCONF_DESELECT``: a file of normalized test ids (or prefixes ending in ``/`` or ``::``, or
  globs) to deselect, one a line;
* ``MVCONF_SELECT``: a file of normalized test ids; only these run (the harness's reruns);
* ``MVCONF_PREIMPORT``: modules to import before anything of the suite (the newest release, as a
  user's process would have it);
* ``MVCONF_TEST_TIMEOUT``: seconds; a test running longer ends the process (faulthandler prints
  where it was), and the harness records it and resumes after it.
"""

from __future__ import annotations

import faulthandler
import fnmatch
import importlib
import json
import os
import re
import sys
from typing import Any

_OUT = os.environ.get("MVCONF_OUT")
_TIMEOUT = float(os.environ.get("MVCONF_TEST_TIMEOUT") or 0)
_ORIGINAL: dict[str, str] = {
    p.partition("=")[0]: p.partition("=")[2] for p in (os.environ.get("MVCONF_RENAMES") or "").split(",") if "=" in p
}
_RENAME_RE = (
    re.compile(
        r"(?<![A-Za-z0-9_])("
        + "|".join(re.escape(new) for new in sorted(_ORIGINAL, key=len, reverse=True))
        + r")(?![A-Za-z0-9_])"
    )
    if _ORIGINAL
    else None
)

if "mvconf_alias" in sys.modules:
    # as-written mode: the alias hook goes back in front of pytest's assertion rewriter
    sys.modules["mvconf_alias"].first()

for _name in filter(None, (os.environ.get("MVCONF_PREIMPORT") or "").split(",")):
    # before the suite's conftest and test modules: the newest release is the one already loaded
    importlib.import_module(_name)

_stream = open(_OUT, "a", encoding="utf-8") if _OUT else None  # noqa: SIM115 (open for the session)
_phases: dict[str, dict[str, Any]] = {}


#: machine paths that differ between the runs (the test root, the venv), longest first
_PATHS = sorted(
    (tuple(p.split("=", 1)) for p in (os.environ.get("MVCONF_PATHS") or "").split(os.pathsep) if "=" in p),
    key=lambda pair: -len(pair[0]),
)


def normalize(nodeid: str) -> str:
    """``nodeid`` with every renamed top-level name written as the original, and run paths as labels.

    A parameter id may hold a path (``__file__``, ``pytest.__file__``): site-packages, the test
    root and the venv, each written ``<path>``, make it the same in every run.
    """
    for path, label in _PATHS:
        nodeid = nodeid.replace(path, label)
    if _RENAME_RE is None:
        return nodeid
    return _RENAME_RE.sub(lambda m: _ORIGINAL[m.group(1)], nodeid)


def _emit(record: dict[str, Any]) -> None:
    if _stream is not None:
        _stream.write(json.dumps(record, sort_keys=True) + "\n")
        _stream.flush()


def _message(report: Any) -> str:
    crash = getattr(getattr(report, "longrepr", None), "reprcrash", None)
    if crash is not None and getattr(crash, "message", None):
        text = str(crash.message)
    elif isinstance(getattr(report, "longrepr", None), tuple):
        text = str(report.longrepr[-1])  # a skip: (path, line, reason)
    else:
        text = str(getattr(report, "longreprtext", "") or getattr(report, "longrepr", "") or "")
        text = text.strip().splitlines()[-1] if text.strip() else ""
    return text[:500]


def _deselect_patterns() -> list[str]:
    path = os.environ.get("MVCONF_DESELECT")
    if not path or not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        return [line.strip() for line in f if line.strip() and not line.startswith("#")]


def _matches(nodeid: str, patterns: list[str], exact: set[str]) -> bool:
    if nodeid in exact:
        return True
    for pattern in patterns:
        if pattern.endswith(("/", "::")) and nodeid.startswith(pattern):
            return True
        if nodeid.startswith(pattern + "::") or nodeid.startswith(pattern + "["):
            return True
        if any(c in pattern for c in "*?[") and fnmatch.fnmatchcase(nodeid, pattern):
            return True
    return False


def _selected() -> set[str] | None:
    path = os.environ.get("MVCONF_SELECT")
    if not path:
        return None
    with open(path, encoding="utf-8") as f:
        return {line.strip() for line in f if line.strip()}


def pytest_collection_modifyitems(session: Any, config: Any, items: list[Any]) -> None:
    patterns = _deselect_patterns()
    selected = _selected()
    if not patterns and selected is None:
        return
    exact = set(patterns)
    keep: list[Any] = []
    drop: list[Any] = []
    for item in items:
        nodeid = normalize(item.nodeid)
        dropped = _matches(nodeid, patterns, exact) or (selected is not None and nodeid not in selected)
        (drop if dropped else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_runtest_logstart(nodeid: str, location: Any) -> None:
    _emit({"start": normalize(nodeid)})
    if _TIMEOUT > 0:
        faulthandler.dump_traceback_later(_TIMEOUT, exit=True)


def pytest_runtest_logreport(report: Any) -> None:
    nodeid = normalize(report.nodeid)
    state = _phases.setdefault(nodeid, {"outcome": None, "message": ""})
    xfail = hasattr(report, "wasxfail")
    if report.when == "call":
        if report.passed:
            state["outcome"] = "xpassed" if xfail else "passed"
        elif report.skipped:
            state["outcome"] = "xfailed" if xfail else "skipped"
            state["message"] = str(getattr(report, "wasxfail", "")) or _message(report)
        else:
            state["outcome"] = "failed"
            state["message"] = _message(report)
    elif report.failed:
        # a failing setup or teardown is an error, whatever the call did
        state["outcome"] = "error"
        state["message"] = f"{report.when}: {_message(report)}"
    elif report.skipped and report.when == "setup":
        state["outcome"] = "xfailed" if xfail else "skipped"
        state["message"] = _message(report)
    if report.when == "teardown":
        _emit({"id": nodeid, "outcome": state["outcome"] or "error", "message": state["message"]})
        _phases.pop(nodeid, None)


def pytest_runtest_logfinish(nodeid: str, location: Any) -> None:
    if _TIMEOUT > 0:
        faulthandler.cancel_dump_traceback_later()


def pytest_collectreport(report: Any) -> None:
    if report.failed:
        _emit(
            {"id": normalize(report.nodeid) or "<collection>", "outcome": "collect-error", "message": _message(report)}
        )


def pytest_sessionfinish(session: Any, exitstatus: Any) -> None:
    _emit({"finished": int(exitstatus)})
    if _stream is not None:
        _stream.flush()
