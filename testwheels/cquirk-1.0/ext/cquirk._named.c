/* cquirk._named names itself under another package, as websockets 10.4's speedups names itself
   "websocket.speedups": the original does it too. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static struct PyModuleDef moduledef = {PyModuleDef_HEAD_INIT, "quirkish.named", NULL, -1, NULL};

PyMODINIT_FUNC PyInit__named(void) { return PyModule_Create(&moduledef); }
