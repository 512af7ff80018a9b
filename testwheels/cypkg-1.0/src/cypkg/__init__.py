from cypkg._fast import Counter, helper_version

__all__ = ["Counter", "helper_version"]
