/* Per-thread state kept in the interpreter's thread-state dict under a key that is a module path,
 * as scipy's sparse.linalg._dsolve._superlu does ("scipy.sparse.linalg._dsolve._superlu.__global_object"):
 * a renamed copy's patched key is its own. bump() counts calls per thread and says which
 * version's object it found. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static PyObject *get_state(void) {
    PyObject *thread_dict = PyThreadState_GetDict(), *state;
    if (thread_dict == NULL) {
        PyErr_SetString(PyExc_SystemError, "no thread state dict");
        return NULL;
    }
    state = PyDict_GetItemString(thread_dict, "fcb._state.__global_object");
    if (state != NULL) return state;
    state = Py_BuildValue("{s:s,s:i}", "version", FIXTURE_VERSION, "count", 0);
    if (state == NULL) return NULL;
    if (PyDict_SetItemString(thread_dict, "fcb._state.__global_object", state) < 0) {
        Py_DECREF(state);
        return NULL;
    }
    Py_DECREF(state);
    return state;
}

static PyObject *bump(PyObject *module, PyObject *unused) {
    PyObject *state = get_state(), *count, *next;
    if (state == NULL) return NULL;
    count = PyDict_GetItemString(state, "count");
    next = PyLong_FromLong(PyLong_AsLong(count) + 1);
    if (next == NULL || PyDict_SetItemString(state, "count", next) < 0) return NULL;
    Py_DECREF(next);
    return Py_BuildValue("(Oi)", PyDict_GetItemString(state, "version"), (int)PyLong_AsLong(next));
}

static PyMethodDef methods[] = {
    {"bump", bump, METH_NOARGS, "bump(): (version whose state was found, calls so far in this thread)"},
    {NULL},
};
static struct PyModuleDef moduledef = {PyModuleDef_HEAD_INIT, "fcb._state", NULL, -1, methods};

PyMODINIT_FUNC PyInit__state(void) { return PyModule_Create(&moduledef); }
