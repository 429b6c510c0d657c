"""Tests of the Discord plugin against a fake Discord on 127.0.0.1."""
