#define PY_SSIZE_T_CLEAN
#include <Python.h>


static PyObject *CfooError;

typedef struct { PyObject_HEAD long value; } ThingObject;

static PyObject *Thing_get(ThingObject *self, PyObject *unused) { return PyLong_FromLong(self->value); }
static int Thing_init(ThingObject *self, PyObject *args, PyObject *kw) {
    long v = 0;
    if (!PyArg_ParseTuple(args, "|l", &v)) return -1;
    self->value = v;
    return 0;
}
static PyObject *Thing_reduce(ThingObject *self, PyObject *unused) {
    return Py_BuildValue("(O(l))", Py_TYPE(self), self->value);
}
static PyMethodDef Thing_methods[] = {
    {"get", (PyCFunction)Thing_get, METH_NOARGS, NULL},
    {"__reduce__", (PyCFunction)Thing_reduce, METH_NOARGS, NULL},
    {NULL}
};
static PyTypeObject ThingType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "cfoo.Thing",
    .tp_basicsize = sizeof(ThingObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Thing_init,
    .tp_methods = Thing_methods,
};
static PyObject *version(PyObject *m, PyObject *unused) { return PyUnicode_FromString(FIXTURE_VERSION); }
static PyObject *fail(PyObject *m, PyObject *unused) { PyErr_SetString(CfooError, "failed"); return NULL; }
static PyMethodDef methods[] = {
    {"version", version, METH_NOARGS, NULL},
    {"fail", fail, METH_NOARGS, NULL},
    {NULL}
};
static struct PyModuleDef moduledef = { PyModuleDef_HEAD_INIT, "cfoo", NULL, -1, methods };

PyMODINIT_FUNC PyInit_cfoo(void) {
    PyObject *m = PyModule_Create(&moduledef);
    if (!m) return NULL;
    if (PyType_Ready(&ThingType) < 0) return NULL;
    Py_INCREF(&ThingType);
    PyModule_AddObject(m, "Thing", (PyObject *)&ThingType);
    CfooError = PyErr_NewException("cfoo.Error", NULL, NULL);
    PyModule_AddObject(m, "Error", CfooError);
    return m;
}
