"""Rewriting imports: Python sources (:mod:`.source`, the one entry point), wheel metadata
(:mod:`.metadata`), and what they share (:mod:`.names`, :mod:`.tables`)."""
