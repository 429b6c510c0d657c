"""Tests of the core's shared rate limiting."""
