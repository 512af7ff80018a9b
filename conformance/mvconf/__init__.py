"""The conformance harness of mvpy-vendor: upstream test suites, original vs. renamed copy, per test."""
