"""Kovan's part of the project: the health endpoint, the cache clear endpoint and clear_cache.

Kovan regenerates this package; changes made here are overwritten.
"""
