/* Classes whose no-argument constructor crashes (Crasher: SIGSEGV, as pandas 1.5.3's
   parsers.TextReader) or never returns (Sleeper), in the original too. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <signal.h>
#include <unistd.h>

typedef struct { PyObject_HEAD } QuirkObject;

static PyObject *crash_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
    raise(SIGSEGV);
    return NULL;
}

static PyObject *sleep_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
    for (;;) sleep(3600);
    return NULL;
}

static PyTypeObject CrasherType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "cquirk._made.Crasher",
    .tp_basicsize = sizeof(QuirkObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = crash_new,
};

static PyTypeObject SleeperType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "cquirk._made.Sleeper",
    .tp_basicsize = sizeof(QuirkObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = sleep_new,
};

static struct PyModuleDef moduledef = {PyModuleDef_HEAD_INIT, "cquirk._made", NULL, -1, NULL};

PyMODINIT_FUNC PyInit__made(void) {
    PyObject *m = PyModule_Create(&moduledef);
    if (!m || PyType_Ready(&CrasherType) < 0 || PyType_Ready(&SleeperType) < 0) return NULL;
    Py_INCREF(&CrasherType);
    PyModule_AddObject(m, "Crasher", (PyObject *)&CrasherType);
    Py_INCREF(&SleeperType);
    PyModule_AddObject(m, "Sleeper", (PyObject *)&SleeperType);
    return m;
}
