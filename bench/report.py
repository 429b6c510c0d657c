"""Turn the section documents into ``bench/results/summary.md``, a page a person can read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench._common import Options, results_dir

__all__ = ("write_summary",)


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return [*out, ""]


def _verdict(target: dict[str, Any]) -> str:
    if target["met"] is None:
        share = target.get("others_share_median", 0)
        return f"not judged: other processes used {share:.0%} of the server core (median)"
    return "met" if target["met"] else "missed"


def _http(doc: dict[str, Any]) -> list[str]:
    lines = [
        "## 1. HTTP overhead",
        "",
        f"Route: {doc['route']}. {doc['connections']} connections, {doc['rounds']} interleaved "
        f"rounds of {doc['seconds_per_run']:g} s; medians; ratios are per round against plain "
        "Litestar, then the median. *CPU ratio* = plain Litestar's CPU time per request over "
        "the app's (1.0 = as cheap), *others* = share of the server core used by other "
        "processes during the run.",
        "",
    ]
    for title, key in (("Fixed task id", "fixed_id"), ("Random task ids", "random_ids")):
        rows = [
            [
                f"`{name}`",
                f"{r['rps']:.0f}",
                f"{r['ratio_to_litestar']:.2f}x",
                f"{r['p50_ms']:.2f}",
                f"{r['p99_ms']:.2f}",
                f"{r['cpu_us_per_request']:.0f}",
                f"{r['cpu_ratio_to_litestar']:.2f}x",
                f"{r['others_share']:.0%}",
            ]
            for name, r in doc[key].items()
        ]
        lines += [f"### {title}", ""]
        lines += _table(
            ["app", "req/s", "ratio", "p50 ms", "p99 ms", "CPU µs/req", "CPU ratio", "others"], rows
        )
    if "in_process" in doc:
        inproc = doc["in_process"]
        lines += [
            "### In process (no server, no network)",
            "",
            f"Each app called as an ASGI callable, {inproc['rounds']} interleaved rounds of "
            f"{inproc['requests_per_round']} requests; thread CPU time per request (time "
            "descheduled by other processes does not count); ratio on the minimum.",
            "",
        ]
        lines += _table(
            ["app", "CPU µs/req (min)", "median", "CPU ratio"],
            [
                [
                    f"`{name}`",
                    f"{r['cpu_us_min']:.1f}",
                    f"{r['cpu_us_median']:.1f}",
                    f"{r['cpu_ratio_to_litestar']:.2f}x",
                ]
                for name, r in inproc["apps"].items()
            ],
        )
    target = doc["target"]
    lines += [
        f"Target boss instrumented >= {target['goal']}x plain Litestar (throughput): "
        f"**{target['boss_instrumented_vs_litestar']:.2f}x** — {_verdict(target)}; "
        f"by CPU time per request "
        f"{target['cpu_boss_instrumented_vs_litestar']:.2f}x. Instrumentation cost inside boss "
        f"(instrumented / uninstrumented): {target['boss_instrumented_vs_uninstrumented']:.2f}x "
        f"throughput, {target['cpu_boss_instrumented_vs_uninstrumented']:.2f}x CPU. In process: "
        f"{target.get('in_process_boss_instrumented_vs_litestar', 0):.2f}x plain Litestar; the "
        f"instrumentation adds {target.get('in_process_instrumentation_us', 0):.1f} µs per request.",
        "",
        f"`/metrics` series before and after the random-id rounds: "
        f"{doc['series_before_random']} → {doc['series_after_random']} "
        f"({'flat' if doc['series_flat'] else 'NOT flat'}).",
        "",
    ]
    return lines


def _scrape(doc: dict[str, Any]) -> list[str]:
    lines = ["## 2. Scrape cost", ""]
    rows = []
    load_rows = []
    for mode, label in (("single", "1 process"), ("workers_2", "boss serve --workers 2")):
        for series, entry in doc.get(mode, {}).items():
            rows.append(
                [
                    label,
                    series,
                    entry["scrape_ms_median"],
                    entry["scrape_ms_max"],
                    f"{entry['body_bytes'] / 1024:.0f} KiB",
                    entry["series_exposed"],
                ]
            )
            if "concurrent" in entry:
                c = entry["concurrent"]
                load_rows.append(
                    [
                        label,
                        series,
                        f"{c['api_alone']['p50_ms']:.2f} / {c['api_alone']['p99_ms']:.2f} / "
                        f"{c['api_alone']['max_ms']:.0f}",
                        f"{c['api_while_scraping']['p50_ms']:.2f} / "
                        f"{c['api_while_scraping']['p99_ms']:.2f} / "
                        f"{c['api_while_scraping']['max_ms']:.0f}",
                        f"{c['api_alone']['rps']:.0f} → {c['api_while_scraping']['rps']:.0f}",
                        c["scrapes_during_load"],
                        c["scrape_ms_during_load"],
                    ]
                )
    lines += _table(
        ["mode", "synthetic series", "scrape ms (median)", "max ms", "body", "series exposed"], rows
    )
    lines += ["API requests while a client scrapes back to back (largest size):", ""]
    lines += _table(
        [
            "mode",
            "series",
            "alone p50/p99/max ms",
            "while scraping p50/p99/max ms",
            "req/s",
            "scrapes",
            "scrape ms",
        ],
        load_rows,
    )
    return lines


def _tasks(doc: dict[str, Any]) -> list[str]:
    lines = ["## 3. Task API on PostgreSQL", ""]
    if "skipped" in doc:
        return [*lines, f"Skipped: {doc['skipped']}", ""]
    lines += [f"{doc['connections']} connections; {doc['auth']}; {doc['database']}.", ""]
    rows = [
        [
            variant,
            operation,
            f"{r['rps']:.0f}",
            f"{r['p50_ms']:.2f}",
            f"{r['p99_ms']:.2f}",
            f"{r['cpu_us_per_request']:.0f}",
            f"{r['others_share']:.0%}",
        ]
        for variant, ops in doc["results"].items()
        for operation, r in ops.items()
    ]
    return lines + _table(
        ["variant", "operation", "req/s", "p50 ms", "p99 ms", "CPU µs/req", "others"], rows
    )


def _build(doc: dict[str, Any]) -> list[str]:
    lines = ["## 4. Monitoring build", ""]
    if "skipped" in doc:
        return [*lines, f"Skipped: {doc['skipped']}", ""]
    builtin = doc["builtin"]
    if "error" in builtin:
        lines += ["Built-in plugins: the build failed:", "", "```", builtin["error"], "```", ""]
    else:
        lines += [f"Built-in plugins (`{builtin['command']}`): {builtin['wall_s_median']} s wall."]
        if "note" in builtin:
            lines += ["", f"Note: {builtin['note']}."]
        lines.append("")
    rows = []
    for r in doc["generated"]:
        if "skipped" in r or "error" in r:
            rows.append([r["plugins"], "—", "—", "—", r.get("skipped") or "failed"])
        else:
            rows.append([r["plugins"], r["total_s"], r["s_per_plugin"], r["render_s"], ""])
    lines += ["Generated plugins (Python API, plus core):", ""]
    lines += _table(["plugins", "total s", "s / plugin", "render s", "note"], rows)
    lines += [
        f"Per-plugin growth largest/smallest size: {doc['per_plugin_growth']} "
        f"({'linear' if doc['linear'] else 'NOT linear'}).",
        "",
    ]
    return lines


def _memory(doc: dict[str, Any]) -> list[str]:
    rows = [[name, f"{kib / 1024:.1f}"] for name, kib in sorted(doc["peak_rss_kib"].items())]
    return [
        "## 5. Peak RSS of serving workers (VmHWM after load)",
        "",
        *_table(["server", "MiB"], rows),
    ]


def write_summary(documents: dict[str, Any], info: dict[str, Any], options: Options) -> Path:
    """Write ``bench/results/summary.md`` from the documents of this run."""
    lines = [
        "# boss benchmark summary",
        "",
        f"Measured {info['date']} on {info['nproc']} CPUs ({info['cpu_model']}), Linux "
        f"{info['kernel']}, Python {info['python']}, {info['wrk']}. Server pinned to CPU "
        f"{options.server_core}, load generator to CPU {options.load_core}; everything on "
        f"127.0.0.1.{' QUICK smoke run: not for quoting.' if options.quick else ''}",
        "",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in info["versions"].items()) + ".",
        "",
    ]
    writers = {
        "http": _http,
        "scrape": _scrape,
        "tasks": _tasks,
        "build": _build,
        "memory": _memory,
    }
    titles = {"http": "1. HTTP overhead", "scrape": "2. Scrape cost", "tasks": "3. Task API"}
    titles |= {"build": "4. Monitoring build"}
    for name, writer in writers.items():
        if name not in documents:
            continue
        if "error" in documents[name]:
            lines += [f"## {titles[name]}", "", "The section failed:", "", "```"]
            lines += [documents[name]["error"], "```", ""]
            continue
        lines += writer(documents[name])
    folder = results_dir(options.quick)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "summary.md"
    path.write_text("\n".join(lines))
    return path
