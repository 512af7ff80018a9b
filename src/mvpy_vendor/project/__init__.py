"""Project mode: from ``[tool.mvpy-vendor]`` in ``pyproject.toml`` to the wheels a build needs.

:mod:`.config` reads and checks the table; :mod:`.resolvers` resolves each world with uv or
pip; :mod:`.lock` keeps the result as a PEP 751 lock; :mod:`.fetch` brings the files, checked
against their hashes, and builds sdists; :mod:`.gather` runs them in order and fills in a
:class:`~mvpy_vendor.options.BuildRequest`.
"""
