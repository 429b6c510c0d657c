"""scripts/fetch-tools.sh reads the Debian mirror from the machine's apt sources (deb822 or
one-line), never a built-in host, and says clearly what it looked for when there is none."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "fetch-tools.sh"


def mirror(etc: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k != "BOSS_DEBIAN_MIRROR"}
    return subprocess.run(
        ["bash", str(SCRIPT), "--print-mirror"],
        env={**base, "BOSS_APT_ETC": str(etc), **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )


def test_deb822_sources_skip_security_and_disabled_stanzas(tmp_path: Path) -> None:
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\nURIs: http://security.example/debian-security\nSuites: trixie-security\n\n"
        "Types: deb\nURIs: http://off.example/debian\nSuites: trixie\nEnabled: no\n\n"
        "Types: deb-src\nURIs: http://src.example/debian\nSuites: trixie\n\n"
        "Types: deb\n# a comment\nURIs: http://mirror.example/debian\nSuites: trixie trixie-updates\n"
    )
    done = mirror(tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "http://mirror.example/debian"


def test_one_line_sources(tmp_path: Path) -> None:
    (tmp_path / "sources.list").write_text(
        "# deb http://commented.example/debian trixie main\n"
        "deb http://security.example/debian-security trixie-security main\n"
        "deb [signed-by=/k.gpg] https://line.example/debian trixie main\n"
    )
    done = mirror(tmp_path)
    assert done.stdout.strip() == "https://line.example/debian", done.stderr


def test_no_sources_is_a_clear_error_and_the_override_wins(tmp_path: Path) -> None:
    done = mirror(tmp_path)
    assert done.returncode == 1
    assert "no Debian mirror found" in done.stderr
    assert "BOSS_DEBIAN_MIRROR" in done.stderr
    assert "deb.debian.org" not in SCRIPT.read_text()
    done = mirror(tmp_path, BOSS_DEBIAN_MIRROR="http://override.example/debian")
    assert done.stdout.strip() == "http://override.example/debian"
