# cython: language_level=3
"""Compiled with Cython: an absolute import of a sibling, and a cdef class that pickles."""
import cypkg.helper


def helper_version():
    return cypkg.helper.VERSION


cdef class Counter:
    cdef public long value

    def __init__(self, value=0):
        self.value = value

    def bump(self):
        self.value += 1
        return self.value
