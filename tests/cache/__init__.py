"""Tests of the cache plugin (boss-cache)."""
