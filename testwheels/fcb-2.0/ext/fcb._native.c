/* What f2py generates for a Fortran routine that calls back into Python (numpy/f2py/cb_rules.py
 * and src/fortranobject.c), reduced to one routine:
 *
 * - the routine's wrapper saves the active callback pointer, sets its own, calls the routine and
 *   restores the saved one (swap_active_cb_fn around each call);
 * - the callback Fortran calls finds the Python callable through that pointer (get_active_cb_fn);
 * - the pointer is a thread-local static where the compiler has thread-local storage (gcc, clang,
 *   MSVC: F2PY_THREAD_LOCAL_DECL); only without it is it kept in the thread-state dict, under a
 *   fixed key ("__f2py_cb_" + the callback's name), by the two helpers of fortranobject.c, which
 *   are linked into every module either way (hidden; called only with -DF2PY_USE_PYTHON_TLS).
 *
 * Versions differ in the weight the routine gives each callback result (the version's major
 * number), so a result shows which version's routine ran with which callable. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <setjmp.h>
#include <stdlib.h>

__attribute__((visibility("hidden"))) void *F2PySwapThreadLocalCallbackPtr(char *key, void *ptr) {
    PyObject *local_dict = PyThreadState_GetDict(), *value;
    void *prev = NULL;
    if (local_dict == NULL) Py_FatalError("F2PySwapThreadLocalCallbackPtr: PyThreadState_GetDict failed");
    value = PyDict_GetItemString(local_dict, key);
    if (value != NULL) {
        prev = PyLong_AsVoidPtr(value);
        if (PyErr_Occurred()) Py_FatalError("F2PySwapThreadLocalCallbackPtr: PyLong_AsVoidPtr failed");
    }
    value = PyLong_FromVoidPtr(ptr);
    if (value == NULL) Py_FatalError("F2PySwapThreadLocalCallbackPtr: PyLong_FromVoidPtr failed");
    if (PyDict_SetItemString(local_dict, key, value) != 0)
        Py_FatalError("F2PySwapThreadLocalCallbackPtr: PyDict_SetItemString failed");
    Py_DECREF(value);
    return prev;
}

__attribute__((visibility("hidden"))) void *F2PyGetThreadLocalCallbackPtr(char *key) {
    PyObject *local_dict = PyThreadState_GetDict(), *value;
    void *prev = NULL;
    if (local_dict == NULL) Py_FatalError("F2PyGetThreadLocalCallbackPtr: PyThreadState_GetDict failed");
    value = PyDict_GetItemString(local_dict, key);
    if (value != NULL) {
        prev = PyLong_AsVoidPtr(value);
        if (PyErr_Occurred()) Py_FatalError("F2PyGetThreadLocalCallbackPtr: PyLong_AsVoidPtr failed");
    }
    return prev;
}

typedef struct {
    PyObject *capi;
    PyTupleObject *args_capi;
    int nofargs;
    jmp_buf jmpbuf;
} cb_fn_t;

#ifndef F2PY_USE_PYTHON_TLS
static _Thread_local cb_fn_t *_active_cb_fn = NULL;

static cb_fn_t *swap_active_cb_fn(cb_fn_t *ptr) {
    cb_fn_t *prev = _active_cb_fn;
    _active_cb_fn = ptr;
    return prev;
}

static cb_fn_t *get_active_cb_fn(void) { return _active_cb_fn; }
#else
/* f2py without thread-local storage: the same pointer, in the thread-state dict */
static cb_fn_t *swap_active_cb_fn(cb_fn_t *ptr) {
    return (cb_fn_t *)F2PySwapThreadLocalCallbackPtr("__f2py_cb_cb_fn", ptr);
}

static cb_fn_t *get_active_cb_fn(void) { return (cb_fn_t *)F2PyGetThreadLocalCallbackPtr("__f2py_cb_cb_fn"); }
#endif

/* The callback handed to the routine: calls the active Python callable with (i, x). */
static double cb_fn(int *i, double *x) {
    cb_fn_t *cb = get_active_cb_fn();
    PyObject *result = PyObject_CallFunction(cb->capi, "id", *i, *x);
    double value;
    if (result == NULL) longjmp(cb->jmpbuf, 1);
    value = PyFloat_AsDouble(result);
    Py_DECREF(result);
    if (value == -1.0 && PyErr_Occurred()) longjmp(cb->jmpbuf, 1);
    return value;
}

/* The "Fortran" routine: the weighted sum of f(i, x) for i < n. */
static void drive(double (*f)(int *, double *), int n, double x, double *out) {
    double weight = atof(FIXTURE_VERSION), total = 0.0;
    for (int i = 0; i < n; i++) total += weight * f(&i, &x);
    *out = total;
}

static PyObject *call(PyObject *module, PyObject *args) {
    PyObject *fn;
    int n;
    double x, out = 0.0;
    if (!PyArg_ParseTuple(args, "Oid", &fn, &n, &x)) return NULL;
    cb_fn_t cb = {fn, NULL, 2};
    cb_fn_t *prev = swap_active_cb_fn(&cb);
    if (setjmp(cb.jmpbuf)) {
        /* the callback raised: restore the pointer with the exception set aside (the dict
         * helpers treat a pending exception as their own failure) */
        PyObject *type, *value, *traceback;
        PyErr_Fetch(&type, &value, &traceback);
        swap_active_cb_fn(prev);
        PyErr_Restore(type, value, traceback);
        return NULL;
    }
    drive(cb_fn, n, x, &out);
    swap_active_cb_fn(prev);
    return PyFloat_FromDouble(out);
}

static PyObject *version(PyObject *module, PyObject *unused) { return PyUnicode_FromString(FIXTURE_VERSION); }

static PyMethodDef methods[] = {
    {"call", call, METH_VARARGS, "call(fn, n, x): the routine, calling fn(i, x) back for i < n"},
    {"version", version, METH_NOARGS, NULL},
    {NULL},
};
static struct PyModuleDef moduledef = {PyModuleDef_HEAD_INIT, "fcb._native", NULL, -1, methods};

PyMODINIT_FUNC PyInit__native(void) { return PyModule_Create(&moduledef); }
