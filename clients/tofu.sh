#!/usr/bin/env bash
# tofu.sh: the tofu command line in bash + jq, speaking NDJSON to tofu-rpc over a coprocess.
# Same commands, words, output and exit codes as the Swift `tofu`. See clients/README.md.
#
# JSON is only ever built with jq --arg/--argjson, so a host, user name or password holding
# quotes, backslashes, $(...), newlines or any other text goes through unharmed.
set -uo pipefail
# No core files: this shell and the jq and tofu-rpc it starts hold the password (tofu-rpc also
# makes itself not dumpable, which a shell cannot do). Soft and hard limit.
ulimit -c 0 2>/dev/null

readonly EX_OK=0 EX_FAILURE=1 EX_USAGE=2 EX_MISMATCH=3 EX_NOT_FOUND=4 EX_UNREACHABLE=5 EX_AUTH=6 EX_STORE=7 EX_NOT_DNAC=8

note() { printf 'tofu: %s\n' "$1" >&2; }
die() { note "$2"; exit "$1"; }
usage() { die "$EX_USAGE" "$1 (see: tofu.sh help)"; }

help() {
  cat <<'TEXT'
tofu.sh: Trust-On-First-Use certificate pins, in bash + jq (the same as the Swift `tofu`).

  tofu.sh listcerts [--host K] [--expiring-within DAYS] [--staged] [-v]
  tofu.sh deletecert host K [--expected-fingerprint F] [--next]
  tofu.sh verifycert K | --all [--concurrency N] [--timeout-ms MS]
  tofu.sh add-dnac-server --server S [--port P] --username U [--password-stdin]
                          [--no-check-credentials] [--accept-fingerprint F] [--timeout-ms MS]
                          [--policy certificate|public-key]
  tofu.sh pin-cert K --pem FILE [--policy certificate|public-key | --next]
  tofu.sh set-policy K certificate|public-key
  tofu.sh list-dnac-servers
  tofu.sh remove-dnac-server S
  tofu.sh history [K] [--limit N]
  tofu.sh certvalidation tofu-certs listcerts | deletecert host K     (PI's own words)

Every command takes --store PATH, --server-path PATH (default: $TOFU_RPC, else tofu-rpc on
PATH) and --json. Example addresses: 192.0.2.10_443.

Exit status: 0 success; 1 failure; 2 usage (bad arguments or host key); 3 certificate
mismatch; 4 not found (no such pin or server, or not pinned); 5 host unreachable;
6 authentication failed; 7 pin store unavailable; 8 not a DNA Center.
TEXT
}

# Text from tofu-rpc (certificate subjects above all) made safe to print on a terminal, as the
# Swift tofu does: every control character (U+0000-U+001F, U+007F-U+009F), bidirectional
# formatting character (U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069) and line or
# paragraph separator (U+2028, U+2029) is shown as \xNN below U+0100, else \uNNNN (\x1B, \x9B,
# \u202E). `esc` for text, `safe_json` for --json (the same JSON value, those code points as
# JSON escapes). Prepended to every jq program that prints what tofu-rpc sent.
readonly JQ_ESCAPE='
def must_escape: . < 32 or (. >= 127 and . < 160) or . == 173 or . == 847 or . == 1564
  or . == 4447 or . == 4448 or . == 6068 or . == 6069 or (. >= 6155 and . <= 6159)
  or (. >= 8203 and . <= 8207) or (. >= 8232 and . <= 8238) or (. >= 8288 and . <= 8303)
  or . == 12644 or (. >= 65024 and . <= 65039) or . == 65279 or . == 65440 or (. >= 65520 and . <= 65528);
def hex4: [(. / 4096 | floor) % 16, (. / 256 | floor) % 16, (. / 16 | floor) % 16, . % 16]
  | map("0123456789ABCDEF"[.:. + 1]) | add;
def escaped_with(f): explode as $codes
  | if any($codes[]; must_escape) then [$codes[] | if must_escape then f else [.] | implode end] | add else . end;
def esc: tostring | escaped_with(if . < 256 then "\\x" + (hex4 | .[2:]) else "\\u" + hex4 end);
def safe_json: tojson | escaped_with("\\u" + (hex4 | ascii_downcase));
'

# tofu-rpc's failures in the CLI's words, as the Swift tofu prints them (FailureText.swift):
# `explanation` is an error's data.summary, then each of data.nextSteps (its sentence, then its
# calls as tofu commands, indented); `invalid_params` is -32602 with the option names.
# (\u0027 is a single quote.)
readonly JQ_RENDER='
def word: if test("^[A-Za-z0-9_@%+=:,./-]+$") then . else "\u0027" + gsub("\u0027"; "\u0027\\\u0027\u0027") + "\u0027" end;
def sentence: if length > 0 and (.[-1:] | test("[.?!]") | not) then . + "." else . end;
def command($pem): (.params // {}) as $p
  | def val($n): if ($p[$n] // null) == null then null else ($p[$n] | tostring | esc | word) end;
    def flag($n): $p[$n] == true;
    def when(c; w): if c then w else [] end;
    (.method // "") as $m
  | if $m == "listCerts" then ["tofu", "listcerts"] + when(val("host"); [val("host"), "-v"])
    elif $m == "listDnacServers" then ["tofu", "list-dnac-servers"]
    elif $m == "deleteCert" then ["tofu", "deletecert", "host", (val("host") // "KEY")] + when(flag("next"); ["--next"])
      + when(val("expectedFingerprint"); ["--expected-fingerprint", val("expectedFingerprint")])
    elif $m == "pinCert" then ["tofu", "pin-cert", (val("host") // "KEY"), "--pem", (if $pem != "" then ($pem | esc | word) else "FILE" end)]
      + when(flag("next"); ["--next"])
    elif $m == "verifyCert" then ["tofu", "verifycert", (val("host") // "KEY")]
    elif $m == "removeDnacServer" then ["tofu", "remove-dnac-server", (val("server") // "KEY")]
    elif $m == "addDnacServer" then ["tofu", "add-dnac-server", "--server", (val("server") // "SERVER"), "--username", (val("username") // "USER")]
      + when(val("acceptFingerprint"); ["--accept-fingerprint", val("acceptFingerprint")])
      + when(($p.policy | type) == "string"; ["--policy", (if $p.policy == "publicKey" then "public-key" else ($p.policy | esc | word) end)])
      + when($p.checkCredentials == false; ["--no-check-credentials"])
    else [($m | esc), ($p | safe_json)] end
  | join(" ");
def explanation($pem): [(.summary | esc)] + [.nextSteps[]? | (.text | esc), (.calls[]? | "  " + command($pem)), (.commands[]? | "  " + esc)]
  | join("\n");
def option_names: [["host", "the host key"], ["server", "--server"], ["port", "--port"], ["username", "--username"],
  ["password", "the password"], ["confirmPassword", "the confirmation"], ["acceptFingerprint", "--accept-fingerprint"],
  ["expectedFingerprint", "--expected-fingerprint"], ["timeoutMs", "--timeout-ms"], ["limit", "--limit"],
  ["expiringWithinDays", "--expiring-within"], ["concurrency", "--concurrency"], ["policy", "--policy"], ["pem", "--pem"],
  ["next", "--next"], ["all", "--all"], ["staged", "--staged"]];
def invalid_params:
  if (.value | type) == "string" and (.problem | type) == "string" then "\u0027\(.value)\u0027 is not a host key: \(.problem)" | sentence | esc
  elif (.field | type) == "string" and (.reason | type) == "string" then
    .field as $field
    | (reduce option_names[] as $name (.reason; gsub("\u0027" + $name[0] + "\u0027"; $name[1]))) as $words
    | ([option_names[] | select(.[0] == $field) | .[1]] | first // "\u0027\($field)\u0027") as $subject
    | ($subject | if test("^[a-z]") then (.[:1] | ascii_upcase) + .[1:] else . end) + " " + $words | sentence | esc
  else null end;
def failure_text($pem): if (.data.summary | type) == "string" then .data | explanation($pem)
  elif .code == -32602 and (.data | type) == "object" and (.data | invalid_params) != null then .data | invalid_params
  else .message | esc end;
'

# --- the tofu-rpc coprocess ---------------------------------------------------------------

store=""; server_path=""; json=0; next_id=0
RESULT=""

start_server() {
  local path=${server_path:-${TOFU_RPC:-}}
  if [ -z "$path" ]; then path=$(command -v tofu-rpc) || die "$EX_FAILURE" "cannot find tofu-rpc: put it on PATH, or give --server-path or TOFU_RPC"; fi
  local args=()
  [ -n "$store" ] && args=(--store "$store")
  coproc RPC { exec "$path" "${args[@]}"; }
}

exit_status_for() {
  case "$1" in
    -32602|-32600|-32601) echo "$EX_USAGE" ;;
    -32001) echo "$EX_NOT_FOUND" ;;
    -32002) echo "$EX_MISMATCH" ;;
    -32003) echo "$EX_UNREACHABLE" ;;
    -32004) echo "$EX_AUTH" ;;
    -32005) echo "$EX_STORE" ;;
    -32006) echo "$EX_NOT_DNAC" ;;
    *) echo "$EX_FAILURE" ;;
  esac
}

# rpc METHOD PARAMS_JSON [on_notification]: sets RESULT to the result; on an error answer,
# sets ERROR to the error object and returns 1.
rpc() {
  local method=$1 params=$2 on_notification=${3:-:} line id
  next_id=$((next_id + 1))
  # The params go through stdin, never argv: they may hold a password. (A here-string, not a
  # pipe: bash closes a coprocess's descriptors in the subshells of a pipeline.)
  jq -c --arg method "$method" --argjson id "$next_id" \
    '{jsonrpc: "2.0", id: $id, method: $method, params: .}' <<<"$params" >&"${RPC[1]}" \
    || die "$EX_FAILURE" "tofu-rpc stopped before the request could be sent"
  while IFS= read -r line <&"${RPC[0]}"; do
    id=$(jq -r '.id // empty' <<<"$line")
    if [ "$id" != "$next_id" ]; then
      "$on_notification" "$line"
      continue
    fi
    if jq -e 'has("error")' <<<"$line" >/dev/null; then
      ERROR=$(jq -c '.error' <<<"$line")
      return 1
    fi
    RESULT=$(jq -c '.result' <<<"$line")
    return 0
  done
  die "$EX_FAILURE" "tofu-rpc exited without answering (see its message above)"
}

# fail_with_error: reports ERROR in the CLI's words (with --json also on stdout, as
# {"error": {code, message, data}}) and exits with its status. pem_context is the file
# pin-cert was given, for the next command.
pem_context=""
fail_with_error() {
  local message code
  [ "$json" = 1 ] && jq -r "$JQ_ESCAPE"'{error: .} | safe_json' <<<"$ERROR"
  message=$(jq -r --arg pem "$pem_context" "$JQ_ESCAPE$JQ_RENDER"'failure_text($pem)' <<<"$ERROR")
  code=$(jq -r '.code' <<<"$ERROR")
  note "$message"
  exit "$(exit_status_for "$code")"
}

call() { rpc "$@" || fail_with_error; }

# --- output: PI's line format, fields joined by ";  " ----------------------------------------

pin_line() {  # pin_line VERBOSE  (pin JSON on stdin)
  jq -r --argjson verbose "$1" "$JQ_ESCAPE"'
    [["host", .host], ["subject", .subject]]
    + (if $verbose then [["serial", .serialNumber], ["sha256", .sha256Fingerprint], ["notAfter", .notAfter], ["policy", .policy]]
       + (if .next != null then [["next", .next.sha256Fingerprint], ["nextSerial", .next.serialNumber], ["nextNotAfter", .next.notAfter]] else [] end)
       else [] end)
    | map("\(.[0])=\(.[1] // "" | esc)") | join(";  ")'
}

# certificate | public-key (or the protocol's publicKey) as the protocol spells it; "" if neither.
policy_name() { case "$1" in certificate) echo certificate ;; public-key|publicKey) echo publicKey ;; *) echo "" ;; esac; }

print_result() { [ "$json" = 1 ] && { jq -r "$JQ_ESCAPE"'safe_json' <<<"$RESULT"; return 0; }; return 1; }

# The reader of stdout went away (`tofu.sh listcerts | head -1`): stop as the Swift tofu does,
# by SIGPIPE, rather than go on paging into a closed pipe. A shell started with SIGPIPE ignored
# cannot take it back, and exits 141 instead (what a shell reports for SIGPIPE).
stdout_gone() { trap - PIPE; kill -PIPE "$$" 2>/dev/null; exit 141; }

# --- commands ------------------------------------------------------------------------------

cmd_listcerts() {
  local host="" within="" verbose=false staged=false cursor="null" params pin line
  while [ $# -gt 0 ]; do
    case "$1" in
      --host) host=${2:?--host needs a key}; shift 2 ;;
      --staged) staged=true; shift ;;
      --expiring-within) within=${2:?--expiring-within needs days}; shift 2 ;;
      -v|--verbose) verbose=true; shift ;;
      *) usage "listcerts: unexpected '$1'" ;;
    esac
  done
  [ -z "$within" ] || [[ "$within" =~ ^[0-9]+$ ]] || usage "--expiring-within must be a number of days"
  start_server
  while :; do
    params=$(jq -cn --arg host "$host" --arg within "$within" --argjson cursor "$cursor" --argjson staged "$staged" '
      {} + (if $host != "" then {host: $host} else {} end)
         + (if $staged then {staged: true} else {} end)
         + (if $within != "" then {expiringWithinDays: ($within | tonumber)} else {} end)
         + (if $cursor != null then {cursor: $cursor} else {} end)')
    call listCerts "$params"
    if ! print_result; then
      while IFS= read -r pin; do
        line=$(pin_line "$verbose" <<<"$pin")
        printf '%s\n' "$line" 2>/dev/null || stdout_gone
      done < <(jq -c '.certs[]' <<<"$RESULT")
    fi
    cursor=$(jq -c '.nextCursor' <<<"$RESULT")
    [ "$cursor" = null ] && break
  done
}

cmd_deletecert() {
  local keyword=${1:-} key=${2:-} expected="" next=false params
  [ "$keyword" = host ] || usage "expected the word 'host' before the key, as in: tofu.sh deletecert host 192.0.2.10_443"
  [ -n "$key" ] || usage "deletecert: missing the host key"
  shift 2
  while [ $# -gt 0 ]; do
    case "$1" in
      --expected-fingerprint) expected=${2:?--expected-fingerprint needs a fingerprint}; shift 2 ;;
      --next) next=true; shift ;;
      *) usage "deletecert: unexpected '$1'" ;;
    esac
  done
  params=$(jq -cn --arg host "$key" --arg expected "$expected" --argjson next "$next" '{host: $host}
    + (if $expected != "" then {expectedFingerprint: $expected} else {} end) + (if $next then {next: true} else {} end)')
  start_server
  call deleteCert "$params"
  if [ "$next" = true ]; then
    print_result || jq -r "$JQ_ESCAPE"'"deleted next host=\(.pin.host | esc);  subject=\(.deletedNext.subject | esc);  sha256=\(.deletedNext.sha256Fingerprint | esc)"' <<<"$RESULT"
    return 0
  fi
  print_result || jq -r --arg key "$key" "$JQ_ESCAPE"'if .damagedRow != null then .damagedRow | "deleted damaged host=\(.host // $key | esc);  table=\(.table | esc);  rowid=\(.rowid | tostring);  problem=\(.problem | esc)" else .deleted | "deleted host=\(.host | esc);  subject=\(.subject | esc);  sha256=\(.sha256Fingerprint | esc)" end' <<<"$RESULT"
}

cmd_pin_cert() {
  local key="" pem="" next=false policy=""
  while [ $# -gt 0 ]; do
    case "$1" in
      --pem) pem=${2:?--pem needs a file}; shift 2 ;;
      --next) next=true; shift ;;
      --policy) policy=$(policy_name "${2:?--policy needs certificate or public-key}"); [ -n "$policy" ] || usage "--policy is certificate or public-key, not '$2'"; shift 2 ;;
      -*) usage "pin-cert: unexpected '$1'" ;;
      *) [ -z "$key" ] || usage "pin-cert: unexpected '$1'"; key=$1; shift ;;
    esac
  done
  [ -n "$key" ] && [ -n "$pem" ] || usage "pin-cert needs a host key and --pem FILE"
  [ "$next" = false ] || [ -z "$policy" ] || usage "--policy does not go with --next: set the policy with tofu set-policy"
  [ -r "$pem" ] && [ ! -d "$pem" ] || usage "cannot read $pem"
  # Under 1 MiB, as in the Swift tofu: `--pem /dev/zero` or a log file given by mistake ends.
  local params
  params=$(head -c 1048576 -- "$pem" | jq -cRs --arg host "$key" --argjson next "$next" --arg policy "$policy" '
    if utf8bytelength >= 1048575 then null
    else {host: $host, pem: .} + (if $next then {next: true} else {} end) + (if $policy != "" then {policy: $policy} else {} end) end')
  [ "$params" != null ] || usage "$pem is 1 MiB or more; a PEM certificate is a few KiB: give a file holding one"
  start_server
  pem_context=$pem
  call pinCert "$params"
  # With --next: what was staged, not the pin it waits beside (listcerts -v shows both).
  print_result || jq -r "$JQ_ESCAPE"'if .pinStatus == "staged" then "staged host=\(.pin.host | esc);  subject=\(.pin.next.subject | esc);  sha256=\(.pin.next.sha256Fingerprint | esc)"
    else "\(.pinStatus | esc) host=\(.pin.host | esc);  subject=\(.pin.subject | esc);  sha256=\(.pin.sha256Fingerprint | esc)" end' <<<"$RESULT"
}

cmd_set_policy() {
  [ $# -eq 2 ] || usage "set-policy needs a host key and certificate or public-key"
  local policy
  policy=$(policy_name "$2")
  [ -n "$policy" ] || usage "set-policy: the policy is certificate or public-key, not '$2'"
  start_server
  call setPinPolicy "$(jq -cn --arg host "$1" --arg policy "$policy" '{host: $host, policy: $policy}')"
  print_result || jq -r "$JQ_ESCAPE"'"host=\(.pin.host | esc);  subject=\(.pin.subject | esc);  policy=\(.pin.policy | esc)"' <<<"$RESULT"
}

cmd_history() {
  local key="" limit=""
  while [ $# -gt 0 ]; do
    case "$1" in
      --limit) limit=${2:?--limit needs a number}; shift 2 ;;
      -*) usage "history: unexpected '$1'" ;;
      *) [ -z "$key" ] || usage "history: unexpected '$1'"; key=$1; shift ;;
    esac
  done
  [ -z "$limit" ] || [[ "$limit" =~ ^[0-9]+$ ]] || usage "--limit must be a number"
  start_server
  call certHistory "$(jq -cn --arg host "$key" --arg limit "$limit" '{} + (if $host != "" then {host: $host} else {} end) + (if $limit != "" then {limit: ($limit | tonumber)} else {} end)')"
  print_result || jq -r "$JQ_ESCAPE"'.events[] | "at=\(.at | esc);  event=\(.event | esc);  host=\(.host | esc);  sha256=\(.sha256Fingerprint | esc);  detail=\(.detail | esc)"' <<<"$RESULT"
}

progress() {
  [ -t 2 ] || return 0
  local status
  status=$(jq -r '.params.value.status // empty' <<<"$1")
  [ -n "$status" ] || return 0
  if [ -z "${NO_COLOR:-}" ]; then
    if [ "$status" = match ]; then status=$'\e[32m'"$status"$'\e[0m'; else status=$'\e[31m'"$status"$'\e[0m'; fi
  fi
  printf '\r\e[K[%s/%s] %s %s' "$(jq -r '.params.value.done' <<<"$1")" "$(jq -r '.params.value.total' <<<"$1")" \
    "$(jq -r "$JQ_ESCAPE"'.params.value.host | esc' <<<"$1")" "$status" >&2
}

cmd_verifycert() {
  local key="" all=0 concurrency="" timeout="" params results
  while [ $# -gt 0 ]; do
    case "$1" in
      --all) all=1; shift ;;
      --concurrency) concurrency=${2:?--concurrency needs a number}; shift 2 ;;
      --timeout-ms) timeout=${2:?--timeout-ms needs a number}; shift 2 ;;
      -*) usage "verifycert: unexpected '$1'" ;;
      *) [ -z "$key" ] || usage "verifycert: unexpected '$1'"; key=$1; shift ;;
    esac
  done
  if [ "$all" = 1 ] && [ -n "$key" ] || [ "$all" = 0 ] && [ -z "$key" ]; then usage "give one host key, or --all"; fi
  [ -z "$concurrency" ] || [ "$all" = 1 ] || usage "--concurrency goes with --all"
  for number in "$concurrency" "$timeout"; do [ -z "$number" ] || [[ "$number" =~ ^[0-9]+$ ]] || usage "'$number' is not a number"; done
  params=$(jq -cn --arg host "$key" --argjson all "$all" --arg concurrency "$concurrency" --arg timeout "$timeout" --argjson tty "$([ -t 2 ] && echo true || echo false)" '
    (if $all == 1 then {all: true} + (if $tty then {progressToken: "tofu"} else {} end) else {host: $host} end)
    + (if $concurrency != "" then {concurrency: ($concurrency | tonumber)} else {} end)
    + (if $timeout != "" then {timeoutMs: ($timeout | tonumber)} else {} end)')
  start_server
  call verifyCert "$params" progress
  [ -t 2 ] && [ "$all" = 1 ] && printf '\r\e[K' >&2
  if [ "$all" = 1 ]; then results=$(jq -c '.results' <<<"$RESULT"); else results=$(jq -c '[.]' <<<"$RESULT"); fi
  print_result || jq -r "$JQ_ESCAPE"'.[] | [["host", .host], ["status", .status]] + (
      if .status == "match" then [["sha256", .presented.sha256Fingerprint]]
        + (if .event != null then [["event", .event], ["previous", .previous.sha256Fingerprint]] else [] end)
      elif .status == "mismatch" then [["change", .change], ["pinned", .pinned.sha256Fingerprint], ["presented", .presented.sha256Fingerprint]]
      elif .status == "unpinned" then [["presented", .presented.sha256Fingerprint]]
      else [["reason", .reason], ["detail", .detail]] end)
    | map("\(.[0])=\(.[1] // "" | esc)") | join(";  ")' <<<"$results"
  # What went wrong, host by host, with the next step; with --all only the mismatches, the
  # outage, then one line that names the hosts of each kind (as the Swift tofu does).
  jq -r --argjson all "$all" "$JQ_ESCAPE$JQ_RENDER"'.[] | select(.status != "match" and ($all == 0 or .status == "mismatch"))
    | select(.summary != null) | explanation("") + "\u0000"' <<<"$results" \
    | while IFS= read -r -d '' text; do note "$text"; done
  local statuses status tally
  statuses=$(jq -r '[.[].status] | unique | join(" ")' <<<"$results")
  case " $statuses " in
    *" mismatch "*) status=$EX_MISMATCH ;;
    *" unreachable "*) status=$EX_UNREACHABLE ;;
    *" unpinned "*) status=$EX_NOT_FOUND ;;
    *) return 0 ;;
  esac
  [ "$all" = 1 ] || exit "$status"
  tally=$(jq -r "$JQ_ESCAPE"'. as $results
    | [["mismatch", "presents a different certificate", "present a different certificate"],
       ["unreachable", "could not be reached", "could not be reached"], ["unpinned", "has no pin", "have no pin"]]
    | map(. as [$status, $one, $many] | [$results[] | select(.status == $status) | .host | esc]
        | select(length > 0) | "\(length) \(if length == 1 then $one else $many end) (\(join(", ")))")
    | (if length > 1 then (.[:-1] | join(", ")) + " and " + .[-1] else join("") end) as $listed
    | "Of \($results | length) pin\(if ($results | length) == 1 then "" else "s" end), \($listed)."' <<<"$results")
  die "$status" "$tally"
}

# The password prompt, on the terminal (fd 3) with echo off. Ctrl-C, kill or a hang-up give the
# terminal back before the shell ends by that signal; Ctrl-Z gives it back, stops, and once
# continued turns echo off and asks again. (bash's own `read -s` restores the terminal on
# SIGINT, SIGTERM and SIGHUP, but stops with echo off on SIGTSTP; bash ignores SIGQUIT.)
tty_saved=""; tty_prompt=""

tty_restore() { [ -z "$tty_saved" ] || stty "$tty_saved" <&3 2>/dev/null; }

tty_signal() {  # tty_signal SIGNAL: the trap while the prompt is up
  tty_restore
  printf '\n' >&3
  trap - "$1"
  kill -s "$1" "$$"
  # Only a stop comes back here, once continued.
  trap "tty_signal $1" "$1"
  stty -echo <&3 2>/dev/null
  printf '%s' "$tty_prompt" >&3
}

ask_secret() {  # ask_secret PROMPT: sets REPLY to one line typed without echo
  tty_prompt=$1
  printf '%s' "$tty_prompt" >&3
  stty -echo <&3 2>/dev/null || { printf '\n' >&3; die "$EX_FAILURE" "cannot turn off echo on the terminal; pipe the password with --password-stdin"; }
  IFS= read -r REPLY <&3
  tty_restore
  printf '\n' >&3
}

# read_password_twice WHERE: sets password and confirmation, asked on the terminal; a
# confirmation that differs asks both again, three tries in all.
read_password_twice() {
  # Opened once in a subshell first, so that a missing terminal is a message, not bash's
  # diagnostic. (`{ exec 3<>/dev/tty; } 2>/dev/null` would keep stderr on /dev/null for the
  # rest of the run: every later message, the mismatch and the next command, would be lost.)
  { : <>/dev/tty; } 2>/dev/null || die "$EX_USAGE" "There is no terminal to ask the password on; pipe it with --password-stdin."
  exec 3<>/dev/tty
  tty_saved=$(stty -g <&3 2>/dev/null) || tty_saved=""
  local signal try
  for signal in INT TERM HUP TSTP; do trap "tty_signal $signal" "$signal"; done
  for try in 1 2 3; do
    ask_secret "Password for $1: "; password=$REPLY
    ask_secret 'Confirm password: '; confirmation=$REPLY
    [ "$password" != "$confirmation" ] || break
    [ "$try" = 3 ] || printf '%s\n' "The passwords do not match; type them again (try $((try + 1)) of 3)." >&3
  done
  REPLY=""
  trap - INT TERM HUP TSTP
  exec 3>&-
  [ "$password" = "$confirmation" ] || die "$EX_USAGE" "The passwords did not match three times; nothing was sent."
}

cmd_add_dnac_server() {
  local server="" port="" username="" from_stdin=0 check=true accept="" timeout="" policy="" password="" confirmation="" params
  while [ $# -gt 0 ]; do
    case "$1" in
      --server) server=${2?--server needs a host}; shift 2 ;;
      --port) port=${2:?--port needs a number}; shift 2 ;;
      --username) username=${2?--username needs a name}; shift 2 ;;
      --password-stdin) from_stdin=1; shift ;;
      --no-check-credentials) check=false; shift ;;
      --accept-fingerprint) accept=${2:?--accept-fingerprint needs a fingerprint}; shift 2 ;;
      --timeout-ms) timeout=${2:?--timeout-ms needs a number}; shift 2 ;;
      --policy) policy=$(policy_name "${2:?--policy needs certificate or public-key}"); [ -n "$policy" ] || usage "--policy is certificate or public-key, not '$2'"; shift 2 ;;
      --password|--password=*) usage "the password is never an argument (every user can read arguments): use --password-stdin or answer the prompt" ;;
      *) usage "add-dnac-server: unexpected '$1'" ;;
    esac
  done
  [ -n "$server" ] || usage "add-dnac-server needs --server"
  [ -n "$username" ] || usage "add-dnac-server needs --username"
  for number in "$port" "$timeout"; do [ -z "$number" ] || [[ "$number" =~ ^[0-9]+$ ]] || usage "'$number' is not a number"; done
  if [ "$from_stdin" = 1 ]; then
    IFS= read -r password || [ -n "$password" ] || die "$EX_USAGE" "--password-stdin: standard input ended before a password line"
    password=${password%$'\r'}
    confirmation=$password
  else
    # The prompt names the user and the controller, escaped as any text tofu prints.
    read_password_twice "$(jq -rn --arg user "$username" --arg server "$server" --arg port "$port" "$JQ_ESCAPE"'
      "\($user | esc) on \($server | esc)" + (if $port != "" then " port \($port | esc)" else "" end)')"
  fi
  # The password reaches jq on stdin (NUL-separated from its confirmation), never in argv.
  params=$(printf '%s\0%s' "$password" "$confirmation" | jq -Rsc --arg server "$server" --arg port "$port" --arg username "$username" \
    --argjson check "$check" --arg accept "$accept" --arg timeout "$timeout" --arg policy "$policy" '
    split("\u0000") as [$password, $confirmation]
    | {server: $server, username: $username, password: $password, confirmPassword: $confirmation}
    + (if $port != "" then {port: ($port | tonumber)} else {} end)
    + (if $check then {} else {checkCredentials: false} end)
    + (if $accept != "" then {acceptFingerprint: $accept} else {} end)
    + (if $timeout != "" then {timeoutMs: ($timeout | tonumber)} else {} end)
    + (if $policy != "" then {policy: $policy} else {} end)')
  unset password confirmation
  start_server
  call addDnacServer "$params"
  print_result || jq -r "$JQ_ESCAPE"'"\(.pinStatus | esc) host=\(.pin.host | esc);  subject=\(.pin.subject | esc);  sha256=\(.pin.sha256Fingerprint | esc);  authenticated=\(if .authenticated == null then "unchecked" else .authenticated end | esc)"' <<<"$RESULT"
}

cmd_list_dnac_servers() {
  [ $# -eq 0 ] || usage "list-dnac-servers: unexpected '$1'"
  start_server
  call listDnacServers '{}'
  print_result || jq -r "$JQ_ESCAPE"'.servers[] | "server=\(.server | esc);  username=\(.username | esc);  pinned=\(.pinnedFingerprint | esc);  lastCheckedAt=\(.lastCheckedAt | esc)"' <<<"$RESULT"
}

cmd_remove_dnac_server() {
  [ $# -eq 1 ] || usage "remove-dnac-server needs one server host key"
  start_server
  call removeDnacServer "$(jq -cn --arg server "$1" '{server: $server}')"
  print_result && return 0
  if [ "$(jq -r '.damagedRow != null' <<<"$RESULT")" = true ]; then
    jq -r --arg key "$1" "$JQ_ESCAPE"'.damagedRow | "removed damaged server=\(.host // $key | esc);  table=\(.table | esc);  rowid=\(.rowid | tostring);  problem=\(.problem | esc)"' <<<"$RESULT"
    return 0
  fi
  jq -r "$JQ_ESCAPE"'"removed server=\(.removed.server | esc);  username=\(.removed.username | esc)"' <<<"$RESULT"
  local server
  server=$(jq -r "$JQ_ESCAPE"'.removed.server | esc' <<<"$RESULT")
  note "the pin of $server stays; to delete it too: tofu deletecert host $server"
}

# The version of the tofu-rpc this client runs: what it answers in rpc.discover, the same
# as `tofu --version` and `tofu-rpc --version` of that build.
cmd_version() {
  [ $# -eq 0 ] || usage "--version takes no arguments"
  start_server
  call rpc.discover '{}'
  jq -r "$JQ_ESCAPE"'.info.version | esc' <<<"$RESULT"
}

# --- main ----------------------------------------------------------------------------------

command -v jq >/dev/null || die "$EX_FAILURE" "jq is missing: install it (Debian: apt-get install jq)"

# Global options may come anywhere; everything else goes to the command.
words=()
while [ $# -gt 0 ]; do
  case "$1" in
    --store) store=${2:?--store needs a path}; shift 2 ;;
    --server-path) server_path=${2:?--server-path needs a path}; shift 2 ;;
    --json) json=1; shift ;;
    *) words+=("$1"); shift ;;
  esac
done
set -- "${words[@]+"${words[@]}"}"

if [ "${1:-}" = certvalidation ]; then
  [ "${2:-}" = tofu-certs ] || usage "PI's words are: certvalidation tofu-certs listcerts | deletecert host K"
  shift 2
fi
command=${1:-help}
[ $# -gt 0 ] && shift
case "$command" in
  listcerts) cmd_listcerts "$@" ;;
  deletecert) cmd_deletecert "$@" ;;
  verifycert) cmd_verifycert "$@" ;;
  add-dnac-server) cmd_add_dnac_server "$@" ;;
  pin-cert) cmd_pin_cert "$@" ;;
  set-policy) cmd_set_policy "$@" ;;
  list-dnac-servers) cmd_list_dnac_servers "$@" ;;
  remove-dnac-server) cmd_remove_dnac_server "$@" ;;
  history) cmd_history "$@" ;;
  help|-h|--help) help ;;
  --version) cmd_version "$@" ;;
  *) usage "unknown command '$command'" ;;
esac
