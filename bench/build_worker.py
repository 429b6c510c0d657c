"""Time one monitoring build of N generated plugins in a fresh process (``python -m``).

Prints one JSON line: seconds to load and validate, and to render (which also runs
promtool over every query and every rule test).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from bench.generated_plugins import generate, write_runbooks
from boss.monitoring import BuildOptions, load_fragments, render
from boss.monitoring.validate import validate
from boss.settings import load_settings

__all__ = ("main",)


def main(count: int) -> dict[str, float | int]:
    """Build ``count`` generated plugins (plus core) in memory; return the timings."""
    with tempfile.TemporaryDirectory(prefix="boss-bench-build-") as tmp:
        runbooks = Path(tmp) / "runbooks"
        runbooks.mkdir()  # core's and the plugins' pages come from their packages
        write_runbooks(count, runbooks)
        started = time.perf_counter()
        plugins = generate(count)
        loaded = load_fragments(load_settings({"BOSS_DATA_DIR": tmp}), plugins)
        loaded_s = time.perf_counter() - started
        for item in loaded:  # pages the core may not have written yet must not fail the timing
            for alert in item.plugin.alerts:
                page = runbooks / alert.runbook_page
                if not page.exists():
                    page.write_text(f"# {alert.name}\n\nPlaceholder for the build benchmark.\n")
        options = BuildOptions(runbooks_dir=runbooks)
        loaded_at = time.perf_counter()
        problems = validate(loaded, runbooks)
        if problems:
            raise SystemExit(f"generated plugins do not validate: {problems[:3]}")
        validated_at = time.perf_counter()
        files = render(loaded, options)
        done = time.perf_counter()
    return {
        "plugins": count,
        "files": len(files),
        "load_s": round(loaded_s, 4),
        "validate_s": round(validated_at - loaded_at, 4),
        "render_s": round(done - validated_at, 4),
        "total_s": round(loaded_s + done - loaded_at, 4),
    }


if __name__ == "__main__":
    print("BUILDJSON " + json.dumps(main(int(sys.argv[1]))))
