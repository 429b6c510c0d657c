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
# Usage: bash scripts/fetch-tools.sh   (or `make tools`)
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

if have_all; then
    exit 0
fi

# The machine's own Debian mirror (deb822 or one-line format), else the public one.
mirror=""
if [[ -f /etc/apt/sources.list.d/debian.sources ]]; then
    mirror="$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)"
fi
if [[ -z "$mirror" && -f /etc/apt/sources.list ]]; then
    mirror="$(awk '$1 == "deb" && $0 !~ /security/ {for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) {print $i; exit}}' /etc/apt/sources.list)"
fi
mirror="${mirror:-http://deb.debian.org/debian}"

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
