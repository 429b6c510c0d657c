#!/usr/bin/env bash
# Fetch promtool, prometheus, amtool and alertmanager at the versions compose.monitoring.yml
# pins, from Debian trixie's packages, into .tools/bin — without touching the system's apt
# state (private sources list, lists, cache and status) and without starting any service.
#
# Debian's Alertmanager reads its default notification templates from a fixed path,
# /usr/share/prometheus/alertmanager (default.tmpl, email.tmpl), and will not start without
# them: the script installs the package's copy there when it is missing (hence root).
#
# Idempotent: when every binary is present at the pinned version it returns in milliseconds.
# Usage: bash scripts/fetch-tools.sh   (or `make tools`); --print-mirror shows the mirror used.
set -euo pipefail

PROMETHEUS_DEB_VERSION="2.53.3+ds1-2"        # prometheus + promtool  -> Prometheus 2.53.3
ALERTMANAGER_DEB_VERSION="0.28.1+ds-1"       # prometheus-alertmanager -> Alertmanager 0.28.1
PROMETHEUS_VERSION="${PROMETHEUS_DEB_VERSION%%+*}"
ALERTMANAGER_VERSION="${ALERTMANAGER_DEB_VERSION%%+*}"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="${BOSS_TOOLS_DIR:-$ROOT/.tools}"
BIN="$TOOLS/bin"
STAMP="$BIN/.versions"
SHARE="${BOSS_PROMETHEUS_SHARE_DIR:-/usr/share/prometheus}"
WANT="prometheus=$PROMETHEUS_VERSION alertmanager=$ALERTMANAGER_VERSION"

have_all() {
    [[ -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" ]] || return 1
    local tool
    for tool in promtool prometheus amtool alertmanager; do
        [[ -x "$BIN/$tool" ]] || return 1
    done
    [[ -f "$SHARE/alertmanager/default.tmpl" && -f "$SHARE/alertmanager/email.tmpl" ]]
}

# The machine's own Debian mirror, from its apt sources: deb822 files
# ($APT_ETC/sources.list.d/*.sources, "URIs:" of an enabled "Types: deb" stanza whose suites
# are not only -security) or one-line ones ($APT_ETC/sources.list and sources.list.d/*.list,
# "deb" lines). BOSS_DEBIAN_MIRROR overrides; there is no built-in host.
APT_ETC="${BOSS_APT_ETC:-/etc/apt}"
find_mirror() {
    local file uri
    if [[ -n "${BOSS_DEBIAN_MIRROR:-}" ]]; then
        echo "$BOSS_DEBIAN_MIRROR"
        return 0
    fi
    for file in "$APT_ETC"/sources.list.d/*.sources; do
        [[ -f "$file" ]] || continue
        uri="$(awk '
            function flush() {
                if (types ~ /(^| )deb( |$)/ && enabled != "no" && uris != "" && suites !~ /^[^ ]*-security( [^ ]*-security)*$/) {
                    split(uris, u, " "); for (i in u) if (u[i] ~ /^https?:\/\//) { print u[i]; found = 1; exit }
                }
                types = ""; uris = ""; suites = ""; enabled = ""
            }
            /^[ \t]*#/ { next }
            /^[ \t]*$/ { flush(); next }
            tolower($1) == "types:"   { $1 = ""; types = substr($0, 2) }
            tolower($1) == "uris:"    { $1 = ""; uris = substr($0, 2) }
            tolower($1) == "suites:"  { $1 = ""; suites = substr($0, 2) }
            tolower($1) == "enabled:" { enabled = tolower($2) }
            END { if (!found) flush() }
        ' "$file")"
        if [[ -n "$uri" ]]; then
            echo "$uri"
            return 0
        fi
    done
    for file in "$APT_ETC"/sources.list "$APT_ETC"/sources.list.d/*.list; do
        [[ -f "$file" ]] || continue
        uri="$(awk '$1 == "deb" && $0 !~ /-security/ {for (i = 2; i <= NF; i++) if ($i ~ /^https?:\/\//) {print $i; exit}}' "$file")"
        if [[ -n "$uri" ]]; then
            echo "$uri"
            return 0
        fi
    done
    echo "fetch-tools: no Debian mirror found: no enabled 'Types: deb' stanza with http(s) URIs: in $APT_ETC/sources.list.d/*.sources and no 'deb http…' line in $APT_ETC/sources.list or $APT_ETC/sources.list.d/*.list; set BOSS_DEBIAN_MIRROR=http://<mirror>/debian" >&2
    return 1
}

if [[ "${1:-}" == "--print-mirror" ]]; then
    find_mirror
    exit $?
fi

if have_all; then
    exit 0
fi

mirror="$(find_mirror)"

work="$(mktemp -d "${TMPDIR:-/tmp}/boss-tools.XXXXXX")"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/debs" "$work/root"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
cat >"$work/trixie.sources" <<EOF
Types: deb
URIs: $mirror
Suites: trixie
Components: main
Signed-By: $keyring
EOF

apt_opts=(
    -o "Dir::Etc::SourceList=$work/trixie.sources"
    -o "Dir::Etc::SourceParts=/dev/null"
    -o "Dir::State::Lists=$work/lists"
    -o "Dir::State::status=/dev/null"
    -o "Dir::Cache=$work/cache"
    -o "APT::Sandbox::User=root"
    -o "Debug::NoLocking=1"
    -qq
)

echo "fetch-tools: downloading Prometheus $PROMETHEUS_VERSION and Alertmanager $ALERTMANAGER_VERSION from $mirror (trixie)" >&2
apt-get "${apt_opts[@]}" update
(
    cd "$work/debs"
    apt-get "${apt_opts[@]}" download \
        "prometheus=$PROMETHEUS_DEB_VERSION" \
        "promtool=$PROMETHEUS_DEB_VERSION" \
        "prometheus-alertmanager=$ALERTMANAGER_DEB_VERSION"
)
for deb in "$work"/debs/*.deb; do
    dpkg-deb -x "$deb" "$work/root"
done

mkdir -p "$BIN"
install -m 0755 "$work/root/usr/bin/promtool" "$BIN/promtool"
install -m 0755 "$work/root/usr/bin/prometheus" "$BIN/prometheus"
install -m 0755 "$work/root/usr/bin/amtool" "$BIN/amtool"
install -m 0755 "$work/root/usr/bin/prometheus-alertmanager" "$BIN/alertmanager"

# The templates (and UI assets) the Debian binaries read from their fixed share path;
# never overwrite what is there already.
mkdir -p "$SHARE"
cp -rn "$work/root/usr/share/prometheus/." "$SHARE/"

"$BIN/promtool" --version 2>&1 | grep -q "version $PROMETHEUS_VERSION" ||
    { echo "fetch-tools: promtool is not version $PROMETHEUS_VERSION" >&2; exit 1; }
"$BIN/alertmanager" --version 2>&1 | grep -q "version $ALERTMANAGER_VERSION" ||
    { echo "fetch-tools: alertmanager is not version $ALERTMANAGER_VERSION" >&2; exit 1; }
echo "$WANT" >"$STAMP"
echo "fetch-tools: promtool, prometheus, amtool, alertmanager in $BIN" >&2
