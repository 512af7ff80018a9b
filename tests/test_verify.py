"""verify/: the report it reads, what it imports, and a run through the library API."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mvpy_vendor import ApplyOptions, BuildRequest, build
from mvpy_vendor.cli import main
from mvpy_vendor.errors import BuildError, ConfigError, VerifyError
from mvpy_vendor.report import REPORT_NAME, SCHEMA_VERSION, Report
from mvpy_vendor.verify import VerifyOptions, VerifyResult, verify_wheelhouse
from mvpy_vendor.verify import probe as probe_module
from mvpy_vendor.verify.probe import ProbeServer, run_probe

from .conftest import C_SET, EXT_SUFFIX, FOO_SET, compile_extension, pick, rewrite_wheel


def test_importing_verify_loads_neither_the_rewriter_nor_lief() -> None:
    # nor the planner or the binary modules, nor importlib.metadata: verify's start stays cheap
    heavy = ("libcst", "lief", "capstone", "mvpy_vendor.planning.plan", "mvpy_vendor.native", "importlib.metadata")
    code = f"import sys, mvpy_vendor.verify; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.fixture(scope="module")
def foo_house(wheels: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("house")
    build(BuildRequest(wheels=pick(wheels, *FOO_SET), options=ApplyOptions(jobs=1)), out)
    return out


def test_the_report_loads_typed(foo_house: Path) -> None:
    report = Report.load(foo_house)
    assert report.schema == SCHEMA_VERSION
    renamed = [o for o in report.outputs if o.renamed]
    assert [(o.distribution, o.top_level, dict(o.import_map)) for o in renamed] == [
        ("mv-foo-1-0-0", ("_mv_foo_1_0_0",), {"foo": "_mv_foo_1_0_0"})
    ]
    assert [dict(w) for w in report.worlds] == [
        {"foo": "2.0.0", "myapp": "0.1.0"},
        {"foo": "1.0.0", "slow-package": "0.1.0"},
    ]
    assert all(path.is_file() for path in report.inputs)


class Steps:
    def __init__(self) -> None:
        self.steps: list[str] = []

    def step(self, text: str) -> None:
        self.steps.append(text)

    def progress(self, done: int, total: int, label: str) -> None:
        raise AssertionError("verify has steps, not counted progress")


INSTALLERS = ["uv", "pip"]


@pytest.mark.slow
@pytest.mark.parametrize("installer", INSTALLERS)
def test_verify_through_the_library_reports_its_steps(foo_house: Path, installer: str) -> None:
    steps = Steps()
    result = verify_wheelhouse(foo_house, reporter=steps, options=VerifyOptions(installer=installer))
    assert result.ok and (result.distributions, result.modules_imported) == (4, 14)
    assert result.installer == installer
    assert steps.steps[:3] == [
        f"creating a fresh virtual environment ({installer})",
        f"installing the wheelhouse with {installer}, offline",
        "importing every module of every distribution",
    ]
    assert "checking that slow-package imports no unrenamed foo" in steps.steps


# ---- the truth rules, each on a wheelhouse made for it here ------------------------------------


def _house(foo_house: Path, tmp_path: Path, members: dict[str, dict[str, bytes | None]]) -> Path:
    """A copy of the foo wheelhouse with members added to (or replaced in) its wheels."""
    house = tmp_path / "house"
    shutil.copytree(foo_house, house)
    for wheel, changes in members.items():
        rewrite_wheel(house / wheel, changes)
    return house


RENAMED = "mv_foo_1_0_0-1.0.0-py3-none-any.whl"
CONSUMER = "slow_package-0.1.0-py3-none-any.whl"
PRIMARY = "foo-2.0.0-py3-none-any.whl"
APP = "myapp-0.1.0-py3-none-any.whl"


def _verify(
    house: Path, installer: str, timeout: float = 60.0
) -> tuple[VerifyResult, dict[tuple[str, str], list[str]]]:
    result = verify_wheelhouse(house, options=VerifyOptions(timeout=timeout, installer=installer))
    by_kind: dict[tuple[str, str], list[str]] = {}
    for f in result.findings:
        by_kind.setdefault((f.kind, f.distribution), []).append(f.module)
    return result, by_kind


@pytest.mark.slow
@pytest.mark.parametrize("installer", INSTALLERS)
def test_a_renamed_package_that_serves_the_primarys_files_fails(
    foo_house: Path, tmp_path: Path, installer: str
) -> None:
    # The renamed package's __path__ points at the primary's directory: its submodules are foo 2's.
    serve = b"import os\n__path__ = [os.path.join(os.path.dirname(os.path.dirname(__file__)), 'foo')]\n"
    house = _house(foo_house, tmp_path, {RENAMED: {"_mv_foo_1_0_0/__init__.py": serve}})
    result, by_kind = _verify(house, installer)
    assert not result.ok
    assert "_mv_foo_1_0_0.cli" in by_kind[("wrong provenance", "mv-foo-1-0-0")]
    detail = next(f.detail for f in result.findings if f.module == "_mv_foo_1_0_0.cli")
    assert detail.endswith("/foo/cli.py, which belongs to foo")


@pytest.mark.slow
@pytest.mark.parametrize("installer", INSTALLERS)
def test_a_consumer_importing_its_own_worlds_primary_is_correct(
    foo_house: Path, tmp_path: Path, installer: str
) -> None:
    # slow-package reaches myapp (world 0), whose plain "import foo" is foo 2 by design; its own
    # plain "import foo" (oops.py) is a leak.
    house = _house(
        foo_house,
        tmp_path,
        {
            APP: {"myapp/uses_foo.py": b"import foo\n"},
            CONSUMER: {"slow_package/via_app.py": b"import myapp.uses_foo\n"},
        },
    )
    result, by_kind = _verify(house, installer)
    assert result.ok, result.findings
    house = _house(foo_house, tmp_path / "second", {CONSUMER: {"slow_package/oops.py": b"import foo\n"}})
    result, by_kind = _verify(house, installer)
    assert by_kind[("pulls unrenamed", "slow-package")] == ["foo"]


@pytest.mark.slow
def test_a_wheel_rewritten_in_place_is_installed_and_compiled_as_it_is_now(foo_house: Path, tmp_path: Path) -> None:
    # uv keys its cache by a local wheel's path: verify installs from a copy at a path named after
    # the wheel's content, so the same file name (and modification time) with other bytes is a
    # miss; bytecode is kept by the content of its source, so the changed module is compiled anew.
    house = _house(foo_house, tmp_path, {RENAMED: {"_mv_foo_1_0_0/hijack.py": b"x = 1\n"}})
    cache = tmp_path / "cache"
    options = VerifyOptions(installer="uv", cache_dir=cache)
    assert verify_wheelhouse(house, options=options).ok
    assert list((cache / "verify" / "bytecode").rglob("*/*/??/*"))  # the store was filled
    wheel = house / RENAMED
    stat = wheel.stat()
    leak = b"import sys\nsys.modules['foo.hijack'] = sys.modules[__name__]\n"
    rewrite_wheel(wheel, {"_mv_foo_1_0_0/hijack.py": leak})
    os.utime(wheel, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    result = verify_wheelhouse(house, options=options)
    assert [(f.kind, f.module) for f in result.findings] == [("leak", "foo.hijack")]
    assert len(list((cache / "verify" / "wheels").glob(f"*/{RENAMED}"))) == 2  # both contents, side by side


def test_what_the_probe_will_import_is_compiled_ahead_in_a_process_of_its_own(tmp_path: Path) -> None:
    # Sources a walk imports and that have no bytecode yet; not __main__, not a directory without
    # __init__.py (a walk does not enter it), not a source whose .pyc is there already.
    from mvpy_vendor.verify.bytecode import compile_ahead

    site = tmp_path / "site"
    files = ["pkg/__init__.py", "pkg/a.py", "pkg/__main__.py", "pkg/sub/__init__.py", "pkg/sub/b.py"]
    files += ["pkg/data/x.py", "top.py", "other.py", "kept.py"]
    for name in files:
        (site / name).parent.mkdir(parents=True, exist_ok=True)
        (site / name).write_text("X = 1\n")
    tag = sys.implementation.cache_tag
    kept = site / "__pycache__" / f"kept.{tag}.pyc"
    kept.parent.mkdir()
    kept.write_bytes(b"placed")
    proc = compile_ahead(Path(sys.executable), [str(site)], ["pkg", "top", "kept"])
    assert proc is not None and proc.wait() == 0
    compiled = sorted(p.relative_to(site).as_posix() for p in site.rglob("*.pyc"))
    assert compiled == [
        f"__pycache__/kept.{tag}.pyc",
        f"__pycache__/top.{tag}.pyc",
        f"pkg/__pycache__/__init__.{tag}.pyc",
        f"pkg/__pycache__/a.{tag}.pyc",
        f"pkg/sub/__pycache__/__init__.{tag}.pyc",
        f"pkg/sub/__pycache__/b.{tag}.pyc",
    ]
    assert kept.read_bytes() == b"placed"
    assert compile_ahead(Path(sys.executable), [str(site)], ["pkg", "top", "kept"]) is None  # nothing left


@pytest.mark.slow
def test_a_module_writing_its_own_file_in_place_leaves_no_trace_in_the_cache(foo_house: Path, tmp_path: Path) -> None:
    # Installed files are hard links into uv's cache: a write in place reaches it. verify sees
    # that after the probes, drops the cache and verifies again without it.
    touchy = b"with open(__file__, 'a') as fh:\n    fh.write('# touched\\n')\n"
    house = _house(foo_house, tmp_path, {PRIMARY: {"foo/touchy.py": touchy}})
    cache = tmp_path / "cache"
    steps = Steps()
    result = verify_wheelhouse(house, reporter=steps, options=VerifyOptions(installer="uv", cache_dir=cache))
    assert result.ok and result.modules_imported == 15, result.findings
    again = [s for s in steps.steps if s.endswith("into uv's cache: verifying again without the cache")]
    assert len(again) == 1 and "/foo/touchy.py was written in place" in again[0]
    assert not (cache / "verify" / "uv").exists()
    assert steps.steps.count("creating a fresh virtual environment (uv)") == 2


CRASH = """
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <signal.h>
PyMODINIT_FUNC PyInit__crash(void) { raise(SIGSEGV); return NULL; }
"""


@pytest.mark.slow
@pytest.mark.parametrize(("installer", "fork"), [("uv", True), ("pip", True), ("uv", False)])
def test_crashes_hangs_and_exits_are_named_and_the_rest_still_probed(
    foo_house: Path, tmp_path: Path, installer: str, fork: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # fork=False: every probe an interpreter of its own, as where there is no os.fork
    monkeypatch.setattr(probe_module, "_FORK", fork)
    crash = compile_extension(tmp_path / "c", "_crash", CRASH)
    house = _house(
        foo_house,
        tmp_path,
        {
            PRIMARY: {
                f"foo/_crash{EXT_SUFFIX}": crash,
                "foo/hangs.py": b"import time\ntime.sleep(3600)\n",
                "foo/quits.py": b"import os\nos._exit(3)\n",
            },
        },
    )
    result, _ = _verify(house, installer, timeout=3)
    crashed = {f.module: f.detail for f in result.findings if f.kind == "crashed"}
    # added to the wheelhouse after the build: the original wheels have no such modules
    assert crashed == {
        "foo._crash": "killed by SIGSEGV (the original: has no such module)",
        "foo.hangs": "hung: no progress for 3 s (the original: has no such module)",
        "foo.quits": "exited with code 3 (the original: has no such module)",
    }
    assert all(f.fatal for f in result.findings if f.kind == "crashed") and not result.ok
    # Everything else was still imported: the 14 modules of the clean wheelhouse.
    assert result.modules_imported == 14


def _site(tmp_path: Path, modules: dict[str, str]) -> Path:
    site = tmp_path / "site"
    site.mkdir()
    for name, code in modules.items():
        (site / f"{name}.py").write_text(code)
    return site


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (ended, not yet reaped by the server's parent) is gone too
    return Path(f"/proc/{pid}/stat").read_text().split(") ")[-1][:1] != "Z"


@pytest.mark.parametrize("fork", [True, False])
def test_a_probe_forked_by_the_server_is_a_process_of_its_own(tmp_path: Path, fork: bool) -> None:
    # Each probe has its own exit status, streams and timeout, forked or not.
    site = _site(
        tmp_path,
        {
            "ok": "VALUE = 1\n",
            "quits": "import os\nos._exit(3)\n",
            "segv": "import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n",
            "hangs": "import time\ntime.sleep(3600)\n",
            "noisy": "import sys, os\nprint('{not json', end='')\nos.close(1)\n",
        },
    )
    spec = {"modules": ["hangs", "noisy", "ok", "quits", "segv"], "site_dirs": [str(site)]}
    python = Path(sys.executable)
    with ProbeServer(python, tmp_path / "server") if fork else contextlib.nullcontext() as server:
        result = run_probe(python, spec, tmp_path / "probe", 2.0, bare=True, server=server)
    assert {c.module: c.how for c in result.crashes} == {
        "hangs": "hung: no progress for 2 s",
        "quits": "exited with code 3",
        "segv": "killed by SIGSEGV",
    }
    assert result.report["imported"] == ["noisy", "ok"]


MADE = """
import os, signal, time
PRIMED = False
class Crashes:
    def __init__(self):
        os.kill(os.getpid(), signal.SIGSEGV)
class Exits:
    def __init__(self):
        os._exit(5)
class Fine:
    pass
class Hangs:
    def __init__(self):
        time.sleep(3600)
class Local:
    def __init__(self):
        class Local:  # not found by its name: pickling fails
            pass
        self.__class__ = Local
class Primer:
    def __init__(self):
        global PRIMED
        PRIMED = True
class Primed:  # crashes only where a Primer was made before it
    def __init__(self):
        if PRIMED:
            os.kill(os.getpid(), signal.SIGSEGV)
"""


@pytest.mark.parametrize("fork", [True, False])
def test_classes_are_made_in_children_and_a_crash_or_hang_ends_only_its_own(tmp_path: Path, fork: bool) -> None:
    # Each class is made with no arguments (and pickled) in a child of the probe: a crash, an exit
    # or a hang is named with the class and how, and the others are still made; a class is judged
    # as if made alone (Primed crashes only after Primer, made before it in the same child).
    site = _site(tmp_path, {"made": MADE})
    names = ["Crashes", "Exits", "Fine", "Hangs", "Local", "Missing", "Primer", "Primed"]
    spec = {"modules": ["made"], "walk": False, "objects": {"made": names}, "timeout": 2, "site_dirs": [str(site)]}
    python = Path(sys.executable)
    with ProbeServer(python, tmp_path / "server") if fork else contextlib.nullcontext() as server:
        result = run_probe(python, spec, tmp_path / "probe", 2.0, bare=True, server=server)
    assert result.crashes == []
    made = result.report["constructed"]
    assert {k: v["outcome"] for k, v in made.items()} == {
        "made.Crashes": "killed by SIGSEGV",
        "made.Exits": "exited with code 5",
        "made.Fine": "ok",
        "made.Hangs": "hung: no progress for 2 s",
        "made.Local": "pickling fails",
        "made.Missing": "missing",
        "made.Primer": "ok",
        "made.Primed": "ok",
    }
    assert "Local" in made["made.Local"]["error"]


class _Fine:
    """Found by its name: pickles."""


def test_without_fork_classes_are_made_in_the_probe_and_still_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    from mvpy_vendor.verify._probe import _construct

    class Local:
        def __init__(self) -> None:
            class Local:
                pass

            self.__class__ = Local

    monkeypatch.delattr(os, "fork")  # as on Windows: no child, and a crash would end the probe
    seen: list[str] = []
    made = _construct([("m.Fine", _Fine), ("m.Local", Local)], 2.0, lambda key, outcome: seen.append(key))
    assert {k: v["outcome"] for k, v in made.items()} == {"m.Fine": "ok", "m.Local": "pickling fails"}
    assert seen == ["m.Fine", "m.Local"]


def test_a_probe_that_kills_the_server_is_a_one_line_error(tmp_path: Path) -> None:
    site = _site(tmp_path, {"regicide": "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n"})
    spec = {"modules": ["regicide"], "site_dirs": [str(site)]}
    with ProbeServer(Path(sys.executable), tmp_path / "server") as server, pytest.raises(VerifyError) as caught:
        run_probe(Path(sys.executable), spec, tmp_path / "probe", 30.0, bare=True, server=server)
    assert str(caught.value) == "the probe server ended (killed by SIGKILL)"


def test_the_server_ends_its_probes_when_it_is_closed_or_its_caller_is_gone(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    site = _site(
        tmp_path,
        {"waits": f"import os, time\nopen({str(pids)!r}, 'a').write(f'{{os.getpid()}}\\n')\ntime.sleep(3600)\n"},
    )
    spec_file, events = tmp_path / "spec.json", tmp_path / "events.jsonl"
    spec_file.write_text(json.dumps({"modules": ["waits"], "site_dirs": [str(site)]}))
    server = ProbeServer(Path(sys.executable), tmp_path / "server")
    server.start(spec_file, events, tmp_path / "stderr.txt")
    deadline = time.monotonic() + 30
    while not pids.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    (pid,) = map(int, pids.read_text().split())
    assert _alive(pid)
    server.close()
    assert not _alive(pid) and server.proc.returncode == 0
    # the caller killed: the server sees its stdin end, and ends its probe
    driver = (
        "import sys, time\nfrom pathlib import Path\nfrom mvpy_vendor.verify.probe import ProbeServer\n"
        f"s = ProbeServer(Path(sys.executable), Path({str(tmp_path / 'server2')!r}))\n"
        f"s.start(Path({str(spec_file)!r}), Path({str(events)!r}), Path({str(tmp_path / 'err2')!r}))\n"
        "time.sleep(3600)\n"
    )
    pids.unlink()
    caller = subprocess.Popen([sys.executable, "-c", driver])
    while not pids.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    (pid,) = map(int, pids.read_text().split())
    caller.kill()
    caller.wait()
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(pid)


@pytest.mark.slow
def test_a_forked_probe_runs_site_first_as_a_started_interpreter_does(tmp_path: Path) -> None:
    # A .pth file of the environment runs before the main probe's imports, forked or not; the
    # alone probes (bare) never run it.
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    (site,) = json.loads(
        subprocess.run(
            [str(python), "-c", "import json, site; print(json.dumps(site.getsitepackages()))"],
            capture_output=True, text=True, check=True,
        ).stdout
    )  # fmt: skip
    Path(site, "hook.pth").write_text("import sys; sys.hooked = True\n")
    Path(site, "needs_hook.py").write_text("import sys\nassert getattr(sys, 'hooked', False), 'no .pth ran'\n")
    spec = {"modules": ["needs_hook"], "site_dirs": [site]}
    with ProbeServer(python, tmp_path / "server") as server:
        for via in (server, None):
            with_site = run_probe(python, spec, tmp_path / "with", 30.0, server=via).report
            bare = run_probe(python, spec, tmp_path / "bare", 30.0, bare=True, server=via).report
            assert (with_site["imported"], with_site["failures"]) == (["needs_hook"], {})
            assert bare["failures"] == {"needs_hook": "AssertionError: no .pth ran"}


@pytest.mark.slow
@pytest.mark.parametrize("installer", INSTALLERS)
def test_what_imported_code_prints_or_closes_does_not_reach_the_findings(
    foo_house: Path, tmp_path: Path, installer: str
) -> None:
    noisy = {
        "foo/no_newline.py": b"import sys\nsys.stdout.write('{not json')\nsys.stdout.flush()\n",
        # last in import order: it closes the streams the others write to
        "foo/z_closes.py": b"import os, sys\nsys.stdout.flush()\nos.close(1)\nos.close(2)\n",
        "foo/at_exit.py": b"import atexit\natexit.register(lambda: print('bye', flush=True))\n",
        "foo/thread.py": b"import threading, time\nthreading.Thread(target=time.sleep, args=(3600,)).start()\n",
    }
    house = _house(foo_house, tmp_path, {PRIMARY: noisy})
    result, _ = _verify(house, installer)
    assert result.ok, result.findings
    assert result.modules_imported == 18


@pytest.mark.slow
def test_one_cause_is_one_group(foo_house: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hijacks = {
        f"_mv_foo_1_0_0/hijack{i}.py": f"import sys\nsys.modules['foo.hijack{i}'] = sys.modules[__name__]\n".encode()
        for i in range(6)
    }
    house = _house(foo_house, tmp_path, {RENAMED: hijacks})
    assert main(["verify", str(house)]) == 1
    rows = [" ".join(line.split()) for line in capsys.readouterr().out.splitlines()]
    assert rows[0] == "finding distribution count cause examples"
    assert rows[1] == (
        "leak mv-foo-1-0-0 6 renamed module registered under 'foo' foo.hijack0, foo.hijack1, foo.hijack2 (+3 more)"
    )
    assert rows[2:] == ["verify: FAILED: 4 distributions, 20 modules imported, 6 problems"]
    assert main(["verify", "--json", str(house)]) == 1
    data = json.loads(capsys.readouterr().out)
    (group,) = data["groups"]
    assert (group["kind"], group["count"], len(group["findings"])) == ("leak", 6, 6)
    assert main(["verify", "-v", str(house)]) == 1
    lines = capsys.readouterr().out.splitlines()  # -v: the steps, then every finding
    table = lines[next(i for i, line in enumerate(lines) if line.startswith("finding")) :]
    assert len(table) == 1 + 6 + 1


HIDDEN = """
#define PY_SSIZE_T_CLEAN
#include <Python.h>
typedef struct { PyObject_HEAD } HiddenObject;
static PyTypeObject HiddenType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "cfoo_extra.Hidden",  /* not an attribute of the module: pickling it by name fails */
    .tp_basicsize = sizeof(HiddenObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
};
static struct PyModuleDef moduledef = { PyModuleDef_HEAD_INIT, "cfoo_extra", NULL, -1, NULL };
PyMODINIT_FUNC PyInit_cfoo_extra(void) {
    PyObject *m = PyModule_Create(&moduledef);
    if (!m || PyType_Ready(&HiddenType) < 0) return NULL;
    Py_INCREF(&HiddenType);
    PyModule_AddObject(m, "Visible", (PyObject *)&HiddenType);
    return m;
}
"""


@pytest.mark.slow
@pytest.mark.parametrize("installer", INSTALLERS)
def test_a_pickling_failure_the_original_shares_is_not_fatal(wheels: Path, tmp_path: Path, installer: str) -> None:
    inputs = tmp_path / "in"
    for wheel in pick(wheels, *C_SET):
        rewrite_wheel(wheel, {}, inputs)
    old = next(inputs.glob("cfoo-1.0-*.whl"))
    rewrite_wheel(old, {f"cfoo_extra{EXT_SUFFIX}": compile_extension(tmp_path / "c", "cfoo_extra", HIDDEN)})
    out = tmp_path / "out"
    build(BuildRequest(wheels=sorted(inputs.iterdir())), out)
    result, _ = _verify(out, installer)
    shared = [f for f in result.findings if f.module == "_mv_cfoo_extra_1_0.Visible"]
    assert [(f.kind, f.fatal) for f in shared] == [("same in original", False)]
    assert result.ok


@pytest.mark.slow
def test_what_the_original_wheels_did_is_kept_by_their_content(wheels: Path, tmp_path: Path) -> None:
    # A module that fails in the renamed copy and in the original (winreg: Windows only), and one
    # in the primary, need their worlds' original environments once; a second run with the same
    # original wheels judges them by what was seen then, builds none, and reports the same
    # findings in the same order. Other original wheels, or no cache, probe again.
    base = tmp_path / "base"
    for wheel in pick(wheels, *FOO_SET):
        rewrite_wheel(wheel, {}, base)
    rewrite_wheel(base / "foo-2.0.0-py3-none-any.whl", {"foo/winonly.py": b"import winreg\n"})  # once: same bytes

    def house_of(name: str, code: bytes) -> Path:
        inputs = tmp_path / name / "in"
        shutil.copytree(base, inputs)
        rewrite_wheel(inputs / "foo-1.0.0-py3-none-any.whl", {"foo/winonly.py": code})
        build(BuildRequest(wheels=sorted(inputs.iterdir()), options=ApplyOptions(jobs=1)), tmp_path / name / "out")
        return tmp_path / name / "out"

    def run(house: Path, cache: Path | None) -> tuple[list[tuple[str, str, bool]], int]:
        steps = Steps()
        result = verify_wheelhouse(house, reporter=steps, options=VerifyOptions(installer="uv", cache_dir=cache))
        assert result.ok, result.findings
        envs = steps.steps.count("creating a fresh virtual environment (uv)")
        originals = sum(s.startswith("checking 1 finding(s) against the original wheels") for s in steps.steps)
        assert envs == 1  # the main environment; originals are made quietly
        return [(f.kind, f.module, f.fatal) for f in result.findings], originals

    cache = tmp_path / "cache"
    house = house_of("a", b"import winreg\n")
    also = "same in original"
    expected = [(also, "foo.winonly", False), (also, "_mv_foo_1_0_0.winonly", False)]  # world 0, then 1
    assert run(house, cache) == (expected, 2)
    assert len(list((cache / "verify").glob("*/verdicts/??/*.json"))) == 2  # under verify's own cache
    assert run(house, cache) == (expected, 0)  # judged by what the same original wheels did
    assert run(house, None) == (expected, 2)  # no cache: probed again
    other = house_of("b", b"import winreg  # other bytes, another original wheel\n")
    assert run(other, cache) == (expected, 1)  # world 1's original wheel is new; world 0's is not


class _StateNotRestorable:
    """Pickled by its name, but its state cannot be set back (as a mypyc class's ``Final`` attribute)."""

    def __getstate__(self) -> dict[str, int]:
        return {"x": 1}

    def __setstate__(self, state: dict[str, int]) -> None:
        raise AttributeError("attribute 'x' of '_StateNotRestorable' objects is not writable")


def test_only_a_failure_of_pickle_dumps_is_a_pickling_failure() -> None:
    from mvpy_vendor.verify._probe import _pickling_error

    class Local:  # not found by its name: what a class under a leaked name gets
        pass

    assert _pickling_error(_StateNotRestorable) is None  # loads fails: no name is involved
    error = _pickling_error(Local)
    assert error is not None and "Local" in error


def _house_with_report(tmp_path: Path, text: str) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / REPORT_NAME).write_text(text, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not a readable report: Expecting property name"),
        ("", "not a readable report: Expecting value"),
        ('{"outputs": []}', "not a report this version understands: KeyError: 'inputs'"),
        ("[1, 2]", "not a report this version understands: AttributeError"),
        (json.dumps({"schema": SCHEMA_VERSION + 1}), f"schema {SCHEMA_VERSION + 1} is newer than {SCHEMA_VERSION}"),
    ],
    ids=["garbage", "empty", "missing key", "not an object", "newer schema"],
)
def test_a_bad_report_is_one_line_error(tmp_path: Path, text: str, message: str) -> None:
    house = _house_with_report(tmp_path / "house", text)
    with pytest.raises(BuildError) as info:
        Report.load(house)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_a_missing_report_or_directory_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ConfigError, match=r"no mvpy-vendor-report\.json"):
        Report.load(tmp_path)
    assert main(["verify", str(tmp_path / "missing")]) == 2
    assert capsys.readouterr().err == f"mvpy-vendor: error: {tmp_path / 'missing'}: not a directory\n"


def test_cli_verify_of_a_garbage_report_exits_1_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    house = _house_with_report(tmp_path / "house", "{oops")
    assert main(["verify", str(house)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("mvpy-vendor: error: ") and err.count("\n") == 1


def test_the_stores_forget_what_went_unused_for_a_month(tmp_path: Path) -> None:
    from mvpy_vendor.verify.environment import _KEEP_DAYS, prune

    old = time.time() - (_KEEP_DAYS + 1) * 86400
    for name in ("used", "unused"):
        (tmp_path / "aa").mkdir(exist_ok=True)
        (tmp_path / "aa" / name).write_bytes(b"code")
    os.utime(tmp_path / "aa" / "unused", (old, old))
    prune(tmp_path, levels=2)
    assert sorted(p.name for p in (tmp_path / "aa").iterdir()) == ["used"]
    os.utime(tmp_path / "aa" / "used", (old, old))
    prune(tmp_path, levels=2)  # at most once a day
    assert sorted(p.name for p in (tmp_path / "aa").iterdir()) == ["used"]
