"""Run inside the verification environment: import modules and report what ``sys.modules`` holds.

Usage: ``python -I _probe.py SPEC.json`` where SPEC is
``{"modules": [top-level names], "forbidden": [names], "renamed": {renamed top-level name: original},
"site_dirs": [...]}``.
Prints one JSON object. Standard library only: it runs in the environment under test.
"""

from __future__ import annotations

import importlib
import json
import os
import pickle
import pkgutil
import sys
import sysconfig
import traceback
import types


def _import(name: str, failures: dict[str, str]) -> object | None:
    try:
        return importlib.import_module(name)
    except BaseException as exc:  # noqa: BLE001 - any failure of any module is a finding
        last = traceback.format_exception_only(type(exc), exc)[-1].strip()
        failures[name] = last
        return None


def _walk(top: str, failures: dict[str, str], imported: list[str]) -> None:
    module = _import(top, failures)
    if module is None:
        return
    imported.append(top)
    paths = getattr(module, "__path__", None)
    if paths is None:
        return
    for info in sorted(pkgutil.iter_modules(list(paths), top + "."), key=lambda i: i.name):
        if info.name.rsplit(".", 1)[-1] == "__main__":
            continue
        if info.ispkg:
            _walk(info.name, failures, imported)
        elif _import(info.name, failures) is not None:
            imported.append(info.name)


def _renamed_owner(filename: object, sites: set[str], renamed: dict[str, str]) -> str | None:
    """The renamed top-level name whose files contain ``filename``, if any."""
    if not isinstance(filename, str):
        return None
    real = os.path.normcase(os.path.realpath(filename))
    for site in sites:
        if real.startswith(site + os.sep):
            first = real[len(site) + 1 :].split(os.sep, 1)[0]
            top = first.split(".", 1)[0]
            return top if top in renamed else None
    return None


def _object_leaks(key: str, module: object, owner: str, original: str) -> list[dict[str, str]]:
    """Public classes and functions of a renamed module must not claim the original name;
    instances of classes defined in a renamed compiled module must pickle round trip."""
    found = []
    compiled = str(getattr(module, "__file__", "")).endswith((".so", ".pyd"))
    for attr, value in sorted(vars(module).items()):
        if attr.startswith("_") or not isinstance(value, (type, types.FunctionType, types.BuiltinFunctionType)):
            continue
        defined_in = getattr(value, "__module__", None)
        if isinstance(defined_in, str) and defined_in.partition(".")[0] == original:
            found.append({"key": f"{key}.{attr}", "owner": owner, "what": f"__module__ is {defined_in!r}"})
            continue
        if compiled and isinstance(value, type) and defined_in == getattr(module, "__name__", None):
            try:
                instance = value()
            except Exception:  # noqa: BLE001 - a class that needs arguments is not probed
                continue
            try:
                data = pickle.dumps(instance)
            except (pickle.PicklingError, AttributeError, ImportError) as exc:
                # Failures of finding the class by its name: what a leaked name causes.
                same = False
                error = f"{type(exc).__name__}: {exc}"
            except Exception:  # noqa: BLE001 - not picklable by design (e.g. Cython __cinit__)
                continue
            else:
                # dumps found every class and function by its name; a failure to restore the
                # state (a mypyc class's read-only Final attribute) is not about names.
                try:
                    same = type(pickle.loads(data)) is value
                except Exception:  # noqa: BLE001 - not restorable by design
                    continue
                error = "unpickled as another class"
            if not same:
                found.append({"key": f"{key}.{attr}", "owner": owner, "what": f"pickling fails ({error})"})
    return found


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as fh:
        spec = json.load(fh)
    if "site_dirs" in spec:
        # Run with -S so that no .pth hook imports anything before we look: make the
        # environment's packages importable without executing its .pth files. (Under -S a
        # virtual environment's interpreter reports the base prefix, so the caller says where.)
        site_dirs = list(spec["site_dirs"])
        sys.path.extend(d for d in site_dirs if d not in sys.path)
    else:
        site_dirs = sorted({sysconfig.get_paths()[k] for k in ("purelib", "platlib")})
    failures: dict[str, str] = {}
    imported: list[str] = []
    for top in spec["modules"]:
        _walk(top, failures, imported)
    forbidden = set(spec.get("forbidden", ()))
    pulled = sorted(k for k in list(sys.modules) if k.partition(".")[0] in forbidden)
    leaks = []
    renamed = dict(spec.get("renamed", {}))  # renamed top-level name -> original
    sites = {os.path.normcase(os.path.realpath(d)) for d in site_dirs}
    for key, module in sorted(list(sys.modules.items())):
        owner = _renamed_owner(getattr(module, "__file__", None), sites, renamed)
        if owner is None:
            continue
        name = getattr(module, "__name__", key)
        if key.partition(".")[0] != owner or not isinstance(name, str) or name.partition(".")[0] != owner:
            leaks.append({"key": key, "owner": owner, "what": f"registered (module __name__ {name!r})"})
        leaks.extend(_object_leaks(key, module, owner, renamed[owner]))
    report = {"imported": imported, "failures": failures, "pulled": pulled, "leaks": leaks, "site_dirs": site_dirs}
    json.dump(report, sys.stdout)


if __name__ == "__main__":
    main()
