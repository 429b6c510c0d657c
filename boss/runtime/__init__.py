"""Runtime metrics of every worker: process, Python GC, event-loop lag, in-flight, build info.

Submodules hold the parts (``fragments``, ``process``, ``sampler``, ``info``, ``workers``).
This package module imports none of them, so the ``/metrics`` render child, which needs only
``workers``, starts without loading the rest.
"""

from __future__ import annotations

__all__: tuple[str, ...] = ()
