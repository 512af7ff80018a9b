"""The version of mvpy-vendor (read by the build backend, and written into every report and provenance file)."""

__version__ = "0.1.0"
