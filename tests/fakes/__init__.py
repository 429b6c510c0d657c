"""Fake outside services (Discord, an OpenAI-compatible LLM) as real HTTP servers on 127.0.0.1."""
