"""Fault injection against a real multi-worker server (short CI run; bench/soak.py runs long)."""
