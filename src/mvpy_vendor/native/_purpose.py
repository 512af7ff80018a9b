"""What a compiled module uses a string for: a module name (the reference is repointed), something
that is not one (kept), or a use that cannot be told (kept too, and said so).

Told from the binary itself, in two ways:

* **the struct a pointer sits in** (64-bit layouts of CPython's headers, the same on every
  platform): ``tp_name`` of a static ``PyTypeObject`` (a module path and a type name),
  ``m_name`` of a ``PyModuleDef``, the name of a ``PyType_Spec`` or of a
  ``PyStructSequence_Desc``, an entry of Cython's
  ``__Pyx_StringTabEntry`` table (its import targets among them; the length beside it counts
  the NUL); ``ml_name`` of a ``PyMethodDef``, the name of a ``PyGetSetDef`` or ``PyMemberDef``
  (attribute names, never module names); an entry of a NULL-terminated array of strings that
  code passes to ``PyArg_ParseTupleAndKeywords`` as its keyword list;
* **what the code does with the string's address** (:mod:`._flow`): the imported function it is
  passed to and as which argument (``PyImport_ImportModule``'s name, ``PyCapsule_New``'s name,
  ``PyErr_NewException``'s name; ``PyObject_GetAttrString``'s attribute, ``PyDict_SetItemString``'s
  key, ``PyArg_ParseTuple``'s format, ``PyErr_SetString``'s message), followed into the binary's
  own functions and through the Python string ``PyUnicode_FromString`` makes of it (to
  ``PyImport_Import``); the struct it is stored into (``tp_name`` of a type made ready at run time,
  an array passed as a keyword list, an entry of a Cython string table built on the stack).

A key of ``sys.modules`` (the dict ``PyImport_GetModuleDict`` returns) is a module name; so is,
for renaming, a key of the thread-state dict (``PyThreadState_GetDict``'s) that names a module
(a module keeps its state there under its own path, which the copy must not share); a key of any
other dict is not. A message may name a module; a string only ever used in messages is
kept (its text is the original's), one also used as a module name is repointed. A string handed
to Python code as a value (``Py_BuildValue``, ``PyObject_CallFunction``'s arguments, a value
stored into a dict or an attribute) is repointed like the string literals of the renamed Python
code are (README, *Import rewriting*): numpy 1.26 hands ``"numpy.dtypes.Int8DType"`` to
``numpy/dtypes.py``, which strips the prefix ``"numpy.dtypes."``, renamed in the copy.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal, Protocol

from ._flow import Call, Code, Value, Walk

__all__ = ["Memory", "Purpose", "code_purposes", "data_purpose", "decide", "keyword_list", "reader"]

Constants = Mapping[int, Sequence[tuple[int, int, int]]]
Use = Literal["module", "python", "never", "message", "unknown", "refuse"]


@dataclass(frozen=True)
class Purpose:
    """One use of one reference to a string. ``length``: where the layout keeps the string's
    length apart from it (address, width in bytes, whether it counts the NUL)."""

    use: Use
    why: str
    length: tuple[int, int, bool] | None = None
    sized: bool = False  # read with the length passed beside it (PyUnicode_FromStringAndSize): that length must follow


class Memory(Protocol):
    """The words of a binary's loaded image, and which of them the loader relocates."""

    def word(self, address: int) -> int | None: ...

    def pointer(self, address: int) -> int | None:
        """The address the relocated pointer stored at ``address`` points to (-1: an imported
        symbol), or None if no pointer is stored there."""
        ...

    def executable(self, address: int) -> bool: ...

    def c_string(self, address: int) -> bytes | None: ...


# -- what imported functions do with their arguments ----------------------------------------

_MODULE: Use = "module"
_NEVER: Use = "never"
_MESSAGE: Use = "message"
_PYTHON: Use = "python"
_MODULES_KEY = "key of sys.modules, or of another dict"
_STR = "str made from it"

# name -> (how many arguments it takes, {argument: (use, what it is to the function)})
_C_API: dict[str, tuple[int, dict[int, tuple[str, str]]]] = {}
# a Python string made from the C string -> the same, for functions taking objects
_OBJECT_API: dict[str, tuple[int, dict[int, tuple[str, str]]]] = {}


def _define(table: dict[str, tuple[int, dict[int, tuple[str, str]]]], names: str, arity: int, **uses: str) -> None:
    """``uses``: ``a0="module:the module imported by"``, one per argument that matters."""
    parsed = {int(k[1:]): (v.partition(":")[0], v.partition(":")[2]) for k, v in uses.items()}
    for name in names.split():
        table[name] = (arity, parsed)


_IMPORTED, _MADE, _ATTRIBUTE, _KEY = (
    "module:the module imported by",
    "module:the module made by",
    "never:the attribute name of",
    f"{_MODULES_KEY}:the key of",
)
_VALUE, _ITEM, _TEXT = (
    "python:the value (given to Python code) of",
    "python:an item (given to Python code) of",
    "message:the message of",
)
# fmt: off
_define(_C_API, "PyImport_ImportModule PyImport_ImportModuleNoBlock", 1, a0=_IMPORTED)
_define(_C_API, "PyImport_AddModule PyImport_AddModuleRef", 1, a0=_IMPORTED)
_define(_C_API, "PyModule_New PyImport_ImportFrozenModule", 1, a0=_MADE)
_define(_C_API, "PyImport_ImportModuleLevel", 5, a0=_IMPORTED)
_define(_C_API, "PyImport_ExecCodeModule", 2, a0=_MADE)
_define(_C_API, "PyImport_ExecCodeModuleEx", 3, a0=_MADE)
_define(_C_API, "PyImport_ExecCodeModuleWithPathnames", 4, a0=_MADE)
_define(_C_API, "PyCapsule_Import", 2, a0="module:the capsule name (module path and attribute) of")
_define(_C_API, "PyCapsule_New", 3, a1="module:the capsule name of")
_define(_C_API, "PyCapsule_GetPointer PyCapsule_IsValid", 2, a1="module:the capsule name checked by")
_define(_C_API, "PyCapsule_SetName", 2, a1="module:the capsule name of")
_define(_C_API, "PyErr_NewException", 3, a0="module:the qualified exception name of")
_define(_C_API, "PyErr_NewExceptionWithDoc", 4, a0="module:the qualified exception name of", a1="message:the doc of")
_define(_C_API, "PyCode_NewEmpty", 3, a1="module:the qualified function name of")
_define(_C_API, "PyObject_GetAttrString PyObject_HasAttrString PyObject_DelAttrString", 2, a1=_ATTRIBUTE)
_define(_C_API, "PyObject_HasAttrStringWithError", 2, a1=_ATTRIBUTE)
_define(_C_API, "PyObject_SetAttrString PyObject_GetOptionalAttrString", 3, a1=_ATTRIBUTE)
_define(_C_API, "PyModule_AddObject PyModule_AddObjectRef PyModule_Add PyModule_AddIntConstant", 3, a1=_ATTRIBUTE)
_define(_C_API, "PyModule_AddStringConstant", 3, a1=_ATTRIBUTE, a2=_VALUE)
_define(_C_API, "PyDict_GetItemString PyDict_DelItemString PyDict_ContainsString PyMapping_HasKeyString", 2, a1=_KEY)
_define(_C_API, "PyMapping_GetItemString PyMapping_DelItemString", 2, a1=_KEY)
_define(_C_API, "PyDict_SetItemString PyDict_GetItemStringRef PyMapping_SetItemString", 3, a1=_KEY)
_define(_C_API, "PyMapping_GetOptionalItemString", 3, a1=_KEY)
_define(_C_API, "PyUnicode_FromString PyUnicode_InternFromString PyUnicode_DecodeFSDefault", 1, a0=f"{_STR}:")
_define(_C_API, "PyUnicode_FromStringAndSize", 2, a0=f"{_STR}:")
_define(_C_API, "PyUnicode_DecodeUTF8 PyUnicode_DecodeASCII PyUnicode_DecodeLatin1", 3, a0=f"{_STR}:")
_define(_C_API, "PyErr_SetString", 2, a1=_TEXT)
_define(_C_API, "PyErr_WarnEx", 3, a1=_TEXT)
_define(_C_API, "PyErr_WarnExplicit", 6, a1=_TEXT)
_define(_C_API, "Py_FatalError", 1, a0=_TEXT)
_define(_C_API, "PyArg_UnpackTuple", -1, a1="message:the function name in messages of")
_define(_C_API, "PyType_Ready PyModule_Create2 PyType_FromSpec PyStructSequence_NewType", 2)
_define(_OBJECT_API, "PyImport_Import PyImport_GetModule PyImport_AddModuleObject PyModule_NewObject", 1, a0=_IMPORTED)
_define(_OBJECT_API, "PyImport_ImportModuleLevelObject", 5, a0=_IMPORTED)
_define(_OBJECT_API, "PyObject_GetAttr PyObject_HasAttr PyObject_DelAttr PyObject_HasAttrWithError", 2, a1=_ATTRIBUTE)
_define(_OBJECT_API, "PyObject_SetAttr PyObject_GetOptionalAttr", 3, a1=_ATTRIBUTE, a2=_VALUE)
_define(_OBJECT_API, "PyDict_GetItem PyDict_DelItem PyDict_GetItemWithError PyDict_Contains", 2, a1=_KEY)
_define(_OBJECT_API, "PyObject_GetItem PyObject_DelItem", 2, a1=_KEY)
_define(_OBJECT_API, "PyDict_SetItem PyObject_SetItem PyDict_SetDefault PyDict_GetItemRef", 3, a1=_KEY, a2=_VALUE)
_define(_OBJECT_API, "PyModule_AddObject PyModule_AddObjectRef PyModule_Add", 3, a2=_VALUE)
_define(_OBJECT_API, "PyTuple_SetItem PyList_SetItem", 3, a2=_ITEM)
_define(_OBJECT_API, "PyList_Append", 2, a1=_ITEM)
_define(_OBJECT_API, "PyErr_WriteUnraisable", 1, a0="message:the context in the message of")

# Functions taking a format (its argument), and what the values it formats become: text of a
# message, Python objects handed to Python code, or (parsing) pointers to variables.
_FORMATS: dict[str, tuple[int, str]] = {}
for _names, _index, _values in (
    ("PyErr_Format PyErr_FormatV fprintf sprintf __printf_chk", 1, "message"),
    ("PyUnicode_FromFormat PyUnicode_FromFormatV PyBytes_FromFormat printf PySys_WriteStdout PySys_WriteStderr "
     "PySys_FormatStdout PySys_FormatStderr", 0, "message"),
    ("PyOS_snprintf PyOS_vsnprintf PyErr_WarnFormat snprintf vsnprintf __fprintf_chk", 2, "message"),
    ("__sprintf_chk", 3, "message"), ("__snprintf_chk __vsnprintf_chk", 4, "message"),
    ("PyErr_WarnExplicitFormat", 5, "message"),
    ("Py_BuildValue _Py_BuildValue_SizeT", 0, "python"),
    ("PyObject_CallFunction _PyObject_CallFunction_SizeT", 1, "python"),
    ("PyObject_CallMethod _PyObject_CallMethod_SizeT", 2, "python"),
    ("PyArg_ParseTuple _PyArg_ParseTuple_SizeT PyArg_Parse _PyArg_Parse_SizeT", 1, "parsed"),
    ("PyArg_ParseTupleAndKeywords _PyArg_ParseTupleAndKeywords_SizeT PyArg_VaParseTupleAndKeywords "
     "_PyArg_VaParseTupleAndKeywords_SizeT", 2, "parsed"),
):
    _FORMATS.update((_name, (_index, _values)) for _name in _names.split())
# fmt: on
# Functions taking a NULL-terminated array of keyword names, and at which argument.
_KEYWORD_LISTS = {
    "PyArg_ParseTupleAndKeywords": 3,
    "_PyArg_ParseTupleAndKeywords_SizeT": 3,
    "PyArg_VaParseTupleAndKeywords": 3,
    "_PyArg_VaParseTupleAndKeywords_SizeT": 3,
}
# Makers of a Python string that take the C string's length beside it.
_SIZED = {"PyUnicode_FromStringAndSize", "PyUnicode_DecodeUTF8", "PyUnicode_DecodeASCII", "PyUnicode_DecodeLatin1"}
# Structs passed to these hold a module path at this offset of this argument.
_STRUCTS: dict[tuple[str, int, int], str] = {
    ("PyType_Ready", 0, 24): "tp_name of a type made ready at run time",
    ("PyModule_Create2", 0, 40): "m_name of a PyModuleDef",
    ("PyModule_FromDefAndSpec2", 0, 40): "m_name of a PyModuleDef",
    ("PyModuleDef_Init", 0, 40): "m_name of a PyModuleDef",
    ("PyType_FromSpec", 0, 0): "the name of a PyType_Spec",
    ("PyType_FromSpecWithBases", 0, 0): "the name of a PyType_Spec",
    ("PyType_FromModuleAndSpec", 1, 0): "the name of a PyType_Spec",
    ("PyType_FromMetaclass", 2, 0): "the name of a PyType_Spec",
    ("PyStructSequence_NewType", 0, 0): "the name of a PyStructSequence_Desc",
    ("PyStructSequence_InitType", 1, 0): "the name of a PyStructSequence_Desc",
    ("PyStructSequence_InitType2", 1, 0): "the name of a PyStructSequence_Desc",
}
_DEPTH = 3  # functions of the binary followed into, one inside the other
_LOADS = 64  # loads of one variable followed
_KEYWORDS_MAX = 64  # entries of a keyword list


def _api(name: str) -> str:
    """An imported function's name as the C API spells it (no symbol version)."""
    return name.partition("@")[0]


def _dict_of(walk: Walk, value: Value | None, memory: Memory) -> str | None:
    """Which dict ``value`` is: ``"modules"`` for ``sys.modules`` (what ``PyImport_GetModuleDict()``
    or ``PySys_GetObject("modules")`` returned), ``"thread"`` for the thread-state dict (what
    ``PyThreadState_GetDict()`` returned), ``"other"`` for any other; None where the walk cannot
    tell what it is."""
    if value is None:
        return None
    if value[0] != "ret":
        return "other"
    call = next((c for c in walk.calls if c.at == value[1]), None)
    name = _api(call.callee) if call is not None and isinstance(call.callee, str) else ""
    if name == "PyImport_GetModuleDict":
        return "modules"
    if name == "PyThreadState_GetDict":
        return "thread"
    if name in ("PySys_GetObject", "_PySys_GetAttr") and call is not None and call.args:
        arg = call.args[0]
        modules = arg is not None and arg[0] == "addr" and memory.c_string(int(arg[1])) == b"modules"  # type: ignore[call-overload]
        return "modules" if modules else "other"
    return "other"


class _Reader:
    """Classifies the uses of one value along walks, following the binary's own functions."""

    def __init__(
        self,
        code: Code,
        memory: Memory,
        constants: Constants,
        loads: Mapping[int, Sequence[int]],
        entries: Sequence[int] = (),
    ) -> None:
        self.code = code
        self.memory = memory
        self.constants = constants
        self.loads = loads
        self.entries = entries
        self._globals: dict[tuple[int, bool], tuple[Purpose, ...]] = {}
        # every walk's calls by where they are: a block reached by a jump from far away is seen
        # with what its registers hold by the walk that took the jump
        self.sites: dict[int, list[tuple[Call, Walk]]] = {}
        self._params: dict[tuple[int, int], tuple[Purpose, ...]] = {}

    def remember(self, walk: Walk) -> None:
        for call in walk.calls:
            self.sites.setdefault(call.at, []).append((call, walk))

    def _key(self, walk: Walk, call: Call, name: str, key: str) -> Purpose:
        """A dict key: a module name where the dict is sys.modules, along this walk or another one
        through the same call. A key of the thread-state dict is repointed too: that dict is one
        per thread for every module of the process, and a module keys its own state there by its
        own path (scipy's ``_superlu``: ``"scipy.sparse.linalg._dsolve._superlu.__global_object"``)
        so that no other module meets it; kept, two versions of the module would share it. A key
        of any other dict is not a module name."""
        seen = {_dict_of(walk, call.args[0], self.memory)}
        seen |= {_dict_of(w, c.args[0], self.memory) for c, w in self.sites.get(call.at, ()) if c.args}
        if "modules" in seen:
            return Purpose(_MODULE, f"{key}a key of sys.modules ({name})")
        if "thread" in seen:
            return Purpose(_MODULE, f"{key}a key of the thread-state dict ({name})")
        if "other" in seen:
            return Purpose(_NEVER, f"{key}a dict key ({name})")
        return Purpose("unknown", f"{key}a key of a dict that cannot be told ({name})")

    def uses(self, walk: Walk, root: Value, text: str, depth: int = 0, made_root: bool = False) -> list[Purpose]:
        """Every use of ``root`` along ``walk``: the C string's address, or (``made_root``) a
        Python string made from it."""
        found: list[Purpose] = []
        made: dict[Value, bool] = {}  # Python strings made from it -> made with its length
        holders: dict[Value, int] = {}  # structs it is stored into (their address) -> at which offset
        stack: set[int] = set()  # stack slots it is stored into
        for call in walk.calls:
            name = _api(call.callee) if isinstance(call.callee, str) else None
            maker = name is not None and _C_API.get(name, (0, {}))[1].get(0, ("", ""))[0] == _STR
            if maker and not made_root and call.args and call.args[0] == root:
                made[("ret", call.at)] = name in _SIZED
        for store in walk.stores:
            target = store.target
            value = store.value
            variable = target is not None and target[0] == "addr" and isinstance(target[1], int)
            if variable and value is not None and (value == root or value in made):
                assert target is not None and isinstance(target[1], int)
                held = self.held(target[1], text, depth, made_root or value in made)
                found += [replace(p, sized=made.get(value, False)) for p in held]
            if store.value == root and target is not None:
                if target[0] == "field" and isinstance(target[2], int):
                    holders[target[1]] = target[2]  # type: ignore[index]
                elif target[0] == "stack" and isinstance(target[1], int):
                    stack.add(target[1])
        for call in walk.calls:
            name = _api(call.callee) if isinstance(call.callee, str) else None
            for k, arg in enumerate(call.args):
                if arg is None:
                    continue
                if arg == root and made_root:
                    found += self._object(walk, call, name, k) if name is not None else []
                elif arg == root:
                    found += self._direct(walk, call, name, k, text, depth)
                elif arg in made and name is not None:
                    found += [replace(p, sized=made[arg]) for p in self._object(walk, call, name, k)]
                elif arg in holders and name is not None:
                    found += self._holder(name, k, holders[arg])
                elif arg[0] == "stack" and isinstance(arg[1], int) and name is not None:
                    for slot in stack:
                        if 0 <= slot - arg[1] < 8 * _KEYWORDS_MAX:
                            found += self._holder(name, k, slot - arg[1])
        for slot in stack:
            entry = _stack_string_table(walk, slot, text, self.constants, self.entries)
            if entry is not None:
                found.append(entry)
        return found

    def _direct(self, walk: Walk, call: Call, name: str | None, k: int, text: str, depth: int) -> list[Purpose]:
        """The string passed as argument ``k`` of ``call``."""
        if name is None:
            if isinstance(call.callee, int) and depth < _DEPTH:
                where = self.code.name(call.callee)
                inner = self.param(call.callee, k, text, depth + 1)
                return [replace(p, why=f"{p.why}, through argument {k + 1} of {where}") for p in inner]
            return [Purpose("unknown", f"it is passed as argument {k + 1} of {self.code.name(call.callee)}")]
        if name in _KEYWORD_LISTS and k == _KEYWORD_LISTS[name]:
            return [Purpose(_NEVER, f"the keyword list of {name}")]
        if name in _FORMATS:
            index, values = _FORMATS[name]
            if k == index:
                return [Purpose(_NEVER, f"the format of {name}")]
            if k > index and values == "message":
                return [Purpose(_MESSAGE, f"a value formatted by {name}")]
            if k > index and values == "python":
                return [Purpose(_PYTHON, f"a value {name} hands to Python code")]
            if k > index:
                return []  # a pointer to a variable the parsed value is stored in
        if name not in _C_API:
            arity = _OBJECT_API.get(name, (-1, {}))[0]
            if 0 <= arity <= k:
                return []  # a register the function does not read
            return [Purpose("unknown", f"it is passed as argument {k + 1} of {name}")]
        arity, meanings = _C_API[name]
        if 0 <= arity <= k:
            return []  # a register the function does not read
        use, why = meanings.get(k, ("unknown", f"argument {k + 1} of"))
        if use == _STR:
            return []  # what the string made from it is used for is read on
        if use == _MODULES_KEY:
            return [self._key(walk, call, name, "")]
        if use == "unknown":
            return [Purpose("unknown", f"it is passed as {why} {name}")]
        return [Purpose(use, f"{why} {name}")]  # type: ignore[arg-type]

    def _object(self, walk: Walk, call: Call, name: str, k: int) -> list[Purpose]:
        """The Python string made from it passed as argument ``k``."""
        arity, meanings = _OBJECT_API.get(name, (-1, {}))
        if 0 <= arity <= k:
            return []
        meaning = meanings.get(k)
        if meaning is None:
            return [Purpose("unknown", f"the string made from it is passed as argument {k + 1} of {name}")]
        use, why = meaning
        if use == _MODULES_KEY:
            return [self._key(walk, call, name, "the string made from it is ")]
        return [Purpose(use, f"the string made from it is {why} {name}")]  # type: ignore[arg-type]

    @staticmethod
    def _holder(name: str, k: int, offset: int) -> list[Purpose]:
        """It is stored ``offset`` bytes into a struct (or array) passed as argument ``k``."""
        if name in _KEYWORD_LISTS and k == _KEYWORD_LISTS[name] and offset % 8 == 0:
            return [Purpose(_NEVER, f"an entry of the keyword list of {name}")]
        what = _STRUCTS.get((name, k, offset))
        if what is not None:
            return [Purpose(_MODULE, f"{what} ({name})")]
        return [Purpose("unknown", f"it is stored into a struct passed as argument {k + 1} of {name}")]

    def held(self, variable: int, text: str, depth: int, made: bool) -> tuple[Purpose, ...]:
        """What the code does with the pointer (``made``: the Python string made from it) kept in
        the variable at ``variable``, wherever it loads it."""
        key = (variable, made)
        if key not in self._globals:
            self._globals[key] = ()  # recursion: nothing known yet
            sites = list(self.loads.get(variable, ()))[:_LOADS]
            found: list[Purpose] = []
            for site in sites:
                walk = self.code.walk(site, {}, {("load", variable)}, after=site)
                found += self.uses(walk, ("load", variable), text, depth + 1, made)
            where = f"kept in the variable at 0x{variable:x}"
            if not found:
                found = [Purpose("unknown", f"it is {where}, which no code is seen reading")]
            self._globals[key] = tuple(replace(p, why=f"{p.why} ({where})") for p in found)
        return self._globals[key]

    def param(self, function: int, k: int, text: str, depth: int) -> tuple[Purpose, ...]:
        """What the binary's own function at ``function`` does with its argument ``k``."""
        key = (function, k)
        if key not in self._params:
            self._params[key] = ()  # recursion: nothing known yet
            walk = self.code.entry(function)
            self._params[key] = tuple(self.uses(walk, ("param", function, k), text, depth))
        return self._params[key]


def _stack_string_table(
    walk: Walk, slot: int, text: str, constants: Constants, entries: Sequence[int]
) -> Purpose | None:
    """An entry of Cython's string table built on the stack (Cython 3.0:
    ``{&p, s, sizeof(s), encoding, is_unicode, is_str, intern}``, 40 bytes): a pointer stored 8
    bytes before the string and its length counting the NUL 8 bytes after, as an immediate. Where
    the entries are stored with vector instructions (``&p`` and ``s`` by one 16-byte store), the
    lengths are stored apart, once, in the same function: exactly one such constant, at that
    place of the stack, in the function (``constants``: every constant stored to a stack slot,
    by displacement; ``entries``: where functions start)."""
    own = [s for s in walk.stores if s.target == ("stack", slot) and s.value is not None and s.value[0] == "ref"]
    pointer = [s for s in walk.stores if s.target == ("stack", slot - 8) and s.size == 8]
    # ``&p`` before it: an address, or unknown (moved through a vector register), never a constant
    if not own or not pointer or (pointer[-1].value is not None and pointer[-1].value[0] == "imm"):
        return None
    why = "a Cython string constant (string table built on the stack)"
    length = [s for s in walk.stores if s.target == ("stack", slot + 8) and s.size == 8]
    if length:
        if length[-1].value == ("imm", len(text) + 1) and length[-1].immediate is not None:
            at, width = length[-1].immediate
            return Purpose(_MODULE, why, (at, width, True))
        return None
    rsp = own[-1].rsp
    if rsp is None or pointer[-1].at != own[-1].at:
        return None
    start = entries[bisect.bisect_right(entries, own[-1].at) - 1] if entries and entries[0] <= own[-1].at else 0
    end = entries[bisect.bisect_right(entries, own[-1].at)] if entries and entries[-1] > own[-1].at else 1 << 64
    found = [c for c in constants.get(rsp + 8, ()) if c[2] == len(text) + 1 and start <= c[0] < end]
    if len(found) != 1:
        return None
    at, width, _value = found[0]
    return Purpose(_MODULE, why, (at, width, True))


def code_purposes(
    code: Code, memory: Memory, walk: Walk, target: int, text: str, reader: _Reader | None = None
) -> list[Purpose]:
    """Every use, along ``walk``, of the address ``target`` (a string reading ``text``)."""
    reader = reader or _Reader(code, memory, {}, {})
    found = reader.uses(walk, ("ref", target), text)
    if not found:
        why = "its address is not passed to any function on the path followed"
        found = [Purpose("unknown", why + ("" if walk.complete else " (the path was too long to follow)"))]
    return found


def reader(
    code: Code, memory: Memory, constants: Constants, loads: Mapping[int, Sequence[int]], entries: Sequence[int]
) -> _Reader:
    """One reader per binary: what each of its functions does with its arguments is read once.
    ``constants``: small constants stored to stack slots, by displacement from ``rsp``;
    ``loads``: the instructions that load a pointer from a variable, by its address;
    ``entries``: where the binary's functions start (sorted)."""
    return _Reader(code, memory, constants, loads, entries)


# -- structs in data -----------------------------------------------------------------------


def _refcount(word: int | None) -> bool:
    """A static object's reference count: 1, or immortal (3.12+: the low 32 bits at 2**31 or more,
    3.14 adds flags in the high bits)."""
    return word == 1 or (word is not None and (word & 0xFFFFFFFF) >= 1 << 31)


def _zero(memory: Memory, address: int) -> bool:
    return memory.pointer(address) is None and memory.word(address) == 0


def _null_or_pointer(memory: Memory, address: int) -> bool:
    return memory.pointer(address) is not None or memory.word(address) == 0


def _small(memory: Memory, address: int, limit: int = 1 << 24) -> bool:
    """A plain integer (not a pointer) below ``limit``."""
    word = memory.word(address)
    return memory.pointer(address) is None and word is not None and 0 <= word < limit


def data_purpose(memory: Memory, slot: int, text: str) -> Purpose:
    """What a string pointed to from ``slot`` is, by the struct the pointer sits in."""
    word, pointer = memory.word, memory.pointer
    after = pointer(slot + 8)
    if (
        _refcount(word(slot - 24))
        and _null_or_pointer(memory, slot - 16)
        and _zero(memory, slot - 8)
        and _small(memory, slot + 8)
        and _small(memory, slot + 16)
        and _null_or_pointer(memory, slot + 24)
    ):
        return Purpose(_MODULE, "tp_name of a static PyTypeObject")
    if (
        _refcount(word(slot - 40))
        and _null_or_pointer(memory, slot - 32)
        and all(_zero(memory, slot - d) for d in (24, 16, 8))
        and _null_or_pointer(memory, slot + 8)
    ):
        return Purpose(_MODULE, "m_name of a PyModuleDef")
    if after is not None and after > 0 and memory.executable(after):
        return Purpose(_NEVER, "the name of a method or attribute (PyMethodDef, PyGetSetDef)")
    fields = pointer(slot + 16)
    if (
        _null_or_pointer(memory, slot + 8)
        and fields is not None
        and fields > 0
        and pointer(fields) is not None
        and _small(memory, slot + 24, 256)
        and (word(slot + 24) or 0) > 0
    ):
        return Purpose(_MODULE, "the name of a PyStructSequence_Desc")
    if (
        pointer(slot - 8) is not None
        and word(slot + 8) == len(text) + 1
        and pointer(slot + 8) is None
        and _null_or_pointer(memory, slot + 16)
        and _cython_flags(word(slot + 24))
    ):
        return Purpose(
            _MODULE, "a Cython string constant (__Pyx_StringTabEntry): its import targets", (slot + 8, 8, True)
        )
    if (
        _small(memory, slot + 8, 1 << 64)
        and all((word(slot + 8) or 0) >> shift & 0xFFFFFFFF < 1 << 24 for shift in (0, 32))
        and _small(memory, slot + 16, 1 << 32)
        and pointer(slot + 24) is not None
    ):
        return Purpose(_MODULE, "the name of a PyType_Spec")
    if (
        _small(memory, slot + 8, 64)
        and _small(memory, slot + 16)
        and _small(memory, slot + 24, 256)
        and _null_or_pointer(memory, slot + 32)
    ):
        return Purpose(_NEVER, "the name of a member (PyMemberDef)")
    return Purpose("unknown", "its pointer is in a struct of no known layout")


def _cython_flags(word: int | None) -> bool:
    """``is_unicode``, ``is_str``, ``intern`` (chars, 0 or 1), then padding."""
    return word is not None and word >> 24 == 0 and all((word >> (8 * i)) & 0xFF in (0, 1) for i in range(3))


def keyword_list(memory: Memory, slot: int) -> int | None:
    """The first slot of the NULL-terminated array of pointers ``slot`` is in, if it is one."""
    end = slot
    for _ in range(_KEYWORDS_MAX):
        end += 8
        if memory.word(end) == 0 and memory.pointer(end) is None:
            break
        if memory.pointer(end) is None:
            return None
    else:
        return None
    start = slot
    while memory.pointer(start - 8) is not None and slot - start < 8 * _KEYWORDS_MAX:
        start -= 8
    return start


def decide(purposes: Iterable[Purpose]) -> tuple[Literal["repoint", "keep", "refuse"], Purpose]:
    """One reference's fate from all its uses: repointed where any use is a module name, unless
    another use must keep it (refused then); kept where every use is told and none is a module
    name (a value handed to Python code is data there, as the build keeps the strings of Python
    code that are not used as module names: the Python code that uses it as one maps it), or
    where the use cannot be told."""
    found = list(purposes)
    refused = [p for p in found if p.use == "refuse"]
    modules = [p for p in found if p.use == _MODULE]
    never = [p for p in found if p.use == _NEVER]
    if refused:
        return "refuse", refused[0]
    if modules and never:
        return "refuse", Purpose(_NEVER, f"it is both {modules[0].why} and {never[0].why}")
    if modules:
        return "repoint", modules[0]
    if never:
        return "keep", never[0]
    told = [p for p in found if p.use in (_MESSAGE, _PYTHON)] + [p for p in found if p.use == "unknown"]
    return "keep", told[0] if told else Purpose("unknown", "no use of it is found")
