#!/usr/bin/env bash
# make demo: the outage and both ways out, with the tofu CLI against a fake Cisco DNA Center
# on 127.0.0.1 (Tests/Fixtures/tls_peers.py). Loopback only; cleans up after itself.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:?usage: demo.sh BIN_DIR}
tofu="$bin/tofu"
work=$(mktemp -d /tmp/tofu-demo.XXXXXX)
export TOFU_STORE="$work/store.sqlite" TOFU_RPC="$bin/tofu-rpc"
password="demo-password"

coproc PEERS { exec python3 "$root/Tests/Fixtures/tls_peers.py"; }
peers_pid=$PEERS_PID
cleanup() {
  exec {PEERS[1]}>&- 2>/dev/null || true
  kill "$peers_pid" 2>/dev/null || true
  wait "$peers_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

fixture() { jq -cn "$@" >&"${PEERS[1]}"; IFS= read -r reply <&"${PEERS[0]}"; jq -e '.ok' <<<"$reply" >/dev/null || { echo "fixture: $reply" >&2; exit 1; }; }
certificate() { openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=kong -days 365 \
                  -keyout "$work/$1.key" -out "$work/$1.crt" 2>/dev/null; }
# certificate_with_key NAME OLD: a renewal that keeps OLD's key (new serial, new validity).
certificate_with_key() { openssl req -x509 -key "$work/$2.key" -nodes -subj /CN=kong -days 730 -out "$work/$1.crt" 2>/dev/null
                         cp "$work/$2.key" "$work/$1.key"; }
present() { fixture --argjson id "$id" --arg cert "$work/$1.crt" --arg key "$work/$1.key" '{op: "set_cert", id: $id, cert: $cert, key: $key}'; }
# Bold headings on a terminal only: a log or a pipe gets plain text.
if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold="" plain=""; fi
step() { printf '\n%s== %s%s\n' "$bold" "$1" "$plain"; }
show() { printf '$ tofu %s\n' "$*"; "$tofu" "$@" || printf '(exit status %s)\n' "$?"; }
add() { printf '$ tofu add-dnac-server --server %s --username admin --password-stdin %s\n' "$server" "$*"
        printf '%s\n' "$password" | "$tofu" add-dnac-server --server "$server" --username admin --password-stdin "$@" || printf '(exit status %s)\n' "$?"; }

certificate first
fixture --arg cert "$work/first.crt" --arg key "$work/first.key" --arg pw "$password" \
  '{op: "listen", mode: "tls", cert: $cert, key: $key, dnac: {username: "admin", password: $pw}}'
port=$(jq '.ports[0]' <<<"$reply"); id=$(jq '.ids[0]' <<<"$reply")
server="127.0.0.1:$port"
echo "A fake Cisco DNA Center (CN = kong, self-signed) listens on $server; the store is $TOFU_STORE."

step "Add Cisco DNA Center Server (Prime Infrastructure pins the controller's certificate on first use)"
add
step "The controller regenerates its certificate (a new CSR: new key, new serial, same address)"
certificate second
fixture --argjson id "$id" --arg cert "$work/second.crt" --arg key "$work/second.key" '{op: "set_cert", id: $id, cert: $cert, key: $key}'
echo "done"
step "Adding it again fails: the certificate no longer matches the pin (the outage)"
add
step "View Certificate Validation List (ncs certvalidation tofu-certs listcerts)"
show certvalidation tofu-certs listcerts
step "Delete Certificate (ncs certvalidation tofu-certs deletecert host 127.0.0.1_$port)"
show certvalidation tofu-certs deletecert host "127.0.0.1_$port"
step "Verify Certificate: list again, the stale pin is gone"
show certvalidation tofu-certs listcerts
step "Add Cisco DNA Center Server again: the new certificate is pinned"
add
step "verifycert: the controller presents the pinned certificate"
show verifycert "127.0.0.1_$port"

step "The one-step way: the controller regenerates again; re-add with the fingerprint you confirmed"
certificate third
fixture --argjson id "$id" --arg cert "$work/third.crt" --arg key "$work/third.key" '{op: "set_cert", id: $id, cert: $cert, key: $key}'
fingerprint=$(openssl x509 -in "$work/third.crt" -noout -fingerprint -sha256 | cut -d= -f2)
echo "The administrator confirms the new fingerprint: $fingerprint"
add --accept-fingerprint "$fingerprint"

step "Planned rotation, no outage: the administrator hands over the controller's next certificate ahead of time"
certificate fourth
show pin-cert "127.0.0.1_$port" --pem "$work/fourth.crt" --next
show listcerts -v
step "Until the controller rotates, its current certificate still matches"
show verifycert "127.0.0.1_$port"
step "The controller rotates to the staged certificate (at 2 a.m., nobody watching)"
present fourth
echo "done"
step "The next verifycert just works: the staged certificate is promoted to the pin"
show verifycert "127.0.0.1_$port"
step "and so does add-dnac-server"
add
step "Renewals that keep the key: policy public-key"
show set-policy "127.0.0.1_$port" public-key
certificate_with_key fifth fourth
present fifth
echo "The controller renews its certificate with the same key (new serial, new expiry)."
add
step "An unplanned change is still refused: a new key, neither the pin nor a staged certificate"
certificate sixth
present sixth
show verifycert "127.0.0.1_$port"
step "History of the pin: the story of every change"
show history "127.0.0.1_$port"
