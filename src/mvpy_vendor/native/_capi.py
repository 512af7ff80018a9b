"""The C API functions the thread-state dict analysis knows: which take a key, which take
nothing, which never return. Anything else given the dict is taken to do anything with it."""

from __future__ import annotations

__all__ = ["HARMLESS", "NORETURN", "NO_ARGUMENTS", "OBJECT_KEYED", "STRING_KEYED", "STR_FROM"]


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Imports that never return: a path ends at a call of one.
NORETURN = _names(
    "abort exit _exit __stack_chk_fail __assert_fail __fortify_fail Py_FatalError _Py_FatalErrorFunc "
    "_Py_FatalErrorFormat Py_Exit longjmp _longjmp siglongjmp __longjmp_chk __cxa_throw __cxa_rethrow "
    "_Unwind_Resume _ZSt9terminatev __cxa_bad_cast __cxa_pure_virtual"
)
# What reads or writes a dict by a C string key (the dict first, the key second).
STRING_KEYED = _names(
    "PyDict_GetItemString PyDict_SetItemString PyDict_DelItemString _PyDict_GetItemStringWithError "
    "PyDict_GetItemStringRef PyDict_ContainsString PyDict_PopString PyMapping_GetItemString "
    "PyMapping_SetItemString PyMapping_HasKeyString PyMapping_HasKeyStringWithError "
    "PyMapping_GetOptionalItemString PyObject_DelItemString"
)
# What reads or writes a mapping by an object key (the mapping first, the key second).
OBJECT_KEYED = _names(
    "PyDict_GetItem PyDict_GetItemWithError PyDict_SetItem PyDict_DelItem PyDict_Contains PyDict_SetDefault "
    "PyDict_SetDefaultRef PyDict_GetItemRef PyDict_Pop _PyDict_Pop _PyDict_GetItem_KnownHash "
    "_PyDict_SetItem_KnownHash _PyDict_DelItem_KnownHash _PyDict_Contains_KnownHash _PyDict_GetItemWithError "
    "PyObject_GetItem PyObject_SetItem PyObject_DelItem PyMapping_GetItem PyMapping_GetOptionalItem "
    "PyMapping_HasKey PyMapping_HasKeyWithError"
)
# What may be given the dict without reading or writing any key of it.
HARMLESS = _names(
    "Py_IncRef Py_DecRef Py_XIncRef Py_XDecRef _Py_IncRef _Py_DecRef _Py_Dealloc PyDict_Size PyObject_Size "
    "PyObject_Length PyMapping_Size PyObject_IsTrue"
)
# Imports that take no argument: what the argument registers hold does not go to them
# (the subset of CPython's argument-less API that extension modules call, and libc's).
NO_ARGUMENTS = _names(
    "PyErr_Occurred PyErr_Clear PyErr_NoMemory PyErr_Print PyErr_BadArgument PyErr_BadInternalCall "
    "PyErr_CheckSignals PyErr_GetHandledException PyEval_GetBuiltins PyEval_GetFrame PyEval_GetGlobals "
    "PyEval_GetLocals PyEval_SaveThread PyEval_InitThreads PyGILState_Check PyGILState_Ensure "
    "PyGILState_GetThisThreadState PyThreadState_Get PyThreadState_GetDict _PyThreadState_UncheckedGet "
    "PyInterpreterState_Get PyInterpreterState_Main PyImport_GetModuleDict PyDict_New PyContext_CopyCurrent "
    "PyOS_InterruptOccurred PyThread_get_thread_ident PyThread_get_thread_native_id PyThread_allocate_lock "
    "PyThread_tss_alloc Py_GetRecursionLimit Py_IsInitialized Py_LeaveRecursiveCall Py_MakePendingCalls "
    "_Py_IsFinalizing __errno_location pthread_self getpid"
)
# What makes a str from a C string (its only argument): the str is known from the string.
STR_FROM = frozenset({"PyUnicode_FromString", "PyUnicode_InternFromString"})
