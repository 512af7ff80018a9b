from cpkg._native import helper_version

__all__ = ["helper_version"]
