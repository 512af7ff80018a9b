/* cquirk._bare names itself "_quirkbare" and registers sys.modules["_quirkbare"], as scipy 1.11's
   Cython modules do (_csparsetools): the original does it too. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static struct PyModuleDef moduledef = {PyModuleDef_HEAD_INIT, "_quirkbare", NULL, -1, NULL};

PyMODINIT_FUNC PyInit__bare(void) {
    PyObject *m = PyModule_Create(&moduledef);
    if (!m) return NULL;
    if (PyDict_SetItemString(PyImport_GetModuleDict(), "_quirkbare", m) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
