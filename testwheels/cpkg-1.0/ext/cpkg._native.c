/* Multi-phase submodule cpkg._native: imports its sibling cpkg.helper from C. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static PyObject *helper_version(PyObject *m, PyObject *unused) {
    PyObject *helper = PyImport_ImportModule("cpkg.helper");
    if (!helper) return NULL;
    PyObject *v = PyObject_GetAttrString(helper, "VERSION");
    Py_DECREF(helper);
    return v;
}
static PyObject *built_for(PyObject *m, PyObject *unused) { return PyUnicode_FromString(FIXTURE_VERSION); }
static PyMethodDef methods[] = {
    {"helper_version", helper_version, METH_NOARGS, NULL},
    {"built_for", built_for, METH_NOARGS, NULL},
    {NULL}
};
static PyModuleDef_Slot slots[] = {{0, NULL}};
static struct PyModuleDef moduledef = {PyModuleDef_HEAD_INIT, "cpkg._native", NULL, 0, methods, slots};

PyMODINIT_FUNC PyInit__native(void) { return PyModuleDef_Init(&moduledef); }
