"""Tests of the AI plugin: offline rules and an OpenAI-compatible fake on 127.0.0.1."""
