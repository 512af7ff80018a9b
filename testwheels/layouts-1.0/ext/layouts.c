/* Every C layout a renamed copy must keep as it is, and every use of a string equal to the
 * module's name that renaming must (or must not) follow. Many of the literals below are the same
 * string "layouts": the linker keeps one copy, so each reference to it is decided on its own.
 *
 * Kept: a keyword-list entry, a member, function and getset name, a dict key, a format, a message,
 * a value handed to Python code (data: the Python side maps it where it uses it as a module name),
 * and every word beside a pointer that looks like a length (tp_basicsize after tp_name, a
 * member's type, a function's flags).
 * Renamed: tp_name, m_name, the exception name, the capsule name (made and imported), the key of
 * sys.modules, a key of the thread-state dict that names the module, an import of a name made
 * with its length. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

typedef struct { PyObject_HEAD long value; } Record;  /* 24 bytes */

static PyObject *Plain_get(PyObject *self, void *closure) { return PyUnicode_FromString("getset"); }
static int Record_init(Record *self, PyObject *args, PyObject *kw) {
    self->value = 5;
    return 0;
}

/* A member named like the module, of type T_BYTE: 8, the name's length counting the NUL. */
static PyMemberDef Record_members[] = {
    {"layouts", T_BYTE, offsetof(Record, value), 0, NULL},
    {NULL}
};
static PyGetSetDef Plain_getset[] = {
    {"layouts", Plain_get, NULL, NULL, NULL},
    {NULL}
};
/* tp_basicsize (24) is the length of tp_name counting the NUL. */
static PyTypeObject RecordType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "layouts.RecordOfEight24",
    .tp_basicsize = sizeof(Record),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Record_init,
    .tp_members = Record_members,
};
/* tp_basicsize (16) is the length of tp_name without the NUL. */
static PyTypeObject PlainType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "layouts.Plain_16",
    .tp_basicsize = sizeof(PyObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_getset = Plain_getset,
};

static int api_value = 42;

static PyObject *parse(PyObject *m, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"obj", "layouts", NULL};
    PyObject *obj;
    int flag = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|p", kwlist, &obj, &flag)) return NULL;
    return Py_BuildValue("(Oi)", obj, flag);
}
static PyObject *registered(PyObject *m, PyObject *unused) {
    PyObject *found = PyDict_GetItemString(PyImport_GetModuleDict(), "layouts");
    return PyBool_FromLong(found == m);
}
static PyObject *keyed(PyObject *m, PyObject *unused) {
    PyObject *d = PyDict_New();
    if (d == NULL || PyDict_SetItemString(d, "layouts", Py_True) < 0) return NULL;
    return d;
}
/* The module's own slot in the thread-state dict, shared by every module of the process: the
 * renamed copy's must be its own. */
static PyObject *state(PyObject *m, PyObject *unused) {
    PyObject *d = PyThreadState_GetDict();
    if (d == NULL || PyDict_SetItemString(d, "layouts.__state", Py_True) < 0) return NULL;
    return PyDict_Keys(d);
}
static PyObject *message(PyObject *m, PyObject *unused) {
    PyErr_SetString(PyExc_ValueError, "layouts");
    return NULL;
}
static PyObject *formatted(PyObject *m, PyObject *unused) { return PyUnicode_FromFormat("layouts"); }
static PyObject *capsule(PyObject *m, PyObject *unused) {
    int *p = PyCapsule_Import("layouts._C_API", 0);
    if (p == NULL) return NULL;
    return PyLong_FromLong(*p);
}
static PyObject *imported(PyObject *m, PyObject *unused) {
    PyObject *name = PyUnicode_FromStringAndSize("layouts", 7);
    if (name == NULL) return NULL;
    PyObject *module = PyImport_Import(name);
    Py_DECREF(name);
    if (module == NULL) return NULL;
    PyObject *result = PyObject_GetAttrString(module, "__name__");
    Py_DECREF(module);
    return result;
}
static PyObject *handed(PyObject *m, PyObject *unused) { return Py_BuildValue("s", "layouts.handed"); }
static PyObject *method(PyObject *m, PyObject *arg) { return Py_BuildValue("(sO)", "method", arg); }

/* A function named like the module, METH_O: 8, the name's length counting the NUL, two words on. */
static PyMethodDef methods[] = {
    {"layouts", method, METH_O, NULL},
    {"parse", (PyCFunction)(void (*)(void))parse, METH_VARARGS | METH_KEYWORDS, NULL},
    {"registered", registered, METH_NOARGS, NULL},
    {"keyed", keyed, METH_NOARGS, NULL},
    {"state", state, METH_NOARGS, NULL},
    {"message", message, METH_NOARGS, NULL},
    {"formatted", formatted, METH_NOARGS, NULL},
    {"capsule", capsule, METH_NOARGS, NULL},
    {"imported", imported, METH_NOARGS, NULL},
    {"handed", handed, METH_NOARGS, NULL},
    {NULL}
};
static struct PyModuleDef moduledef = {PyModuleDef_HEAD_INIT, "layouts", NULL, -1, methods};

PyMODINIT_FUNC PyInit_layouts(void) {
    PyObject *m = PyModule_Create(&moduledef);
    if (m == NULL || PyType_Ready(&RecordType) < 0 || PyType_Ready(&PlainType) < 0) return NULL;
    Py_INCREF(&RecordType);
    PyModule_AddObject(m, "Record", (PyObject *)&RecordType);
    Py_INCREF(&PlainType);
    PyModule_AddObject(m, "Plain", (PyObject *)&PlainType);
    PyModule_AddObject(m, "Error", PyErr_NewException("layouts.Error", NULL, NULL));
    PyModule_AddObject(m, "_C_API", PyCapsule_New(&api_value, "layouts._C_API", NULL));
    return m;
}
