/* Checker() imports its own package by a name put together at run time (no patcher can see it)
   and aborts unless that package is its own version: the original makes it; a renamed copy
   reaches the other version's cquirk and aborts, which verify must report as fatal. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct { PyObject_HEAD } CheckerObject;

static PyObject *checker_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
    char name[16];
    snprintf(name, sizeof name, "%s%s", "cq", "uirk");
    PyObject *package = PyImport_ImportModule(name);
    PyObject *version = package ? PyObject_GetAttrString(package, "__version__") : NULL;
    if (!version || PyUnicode_CompareWithASCIIString(version, FIXTURE_VERSION) != 0) abort();
    Py_DECREF(version);
    Py_DECREF(package);
    return type->tp_alloc(type, 0);
}

static PyTypeObject CheckerType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "cquirk._check.Checker",
    .tp_basicsize = sizeof(CheckerObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = checker_new,
};

static struct PyModuleDef moduledef = {PyModuleDef_HEAD_INIT, "cquirk._check", NULL, -1, NULL};

PyMODINIT_FUNC PyInit__check(void) {
    PyObject *m = PyModule_Create(&moduledef);
    if (!m || PyType_Ready(&CheckerType) < 0) return NULL;
    Py_INCREF(&CheckerType);
    PyModule_AddObject(m, "Checker", (PyObject *)&CheckerType);
    return m;
}
