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

# This client's name in the commands it suggests (tofu.sh, or tofu if installed as that), and
# the command being run, for its help: `tofu.sh listcerts --help`.
self=${0##*/}; [ -n "$self" ] || self=tofu.sh
command_words=""

note() { printf 'tofu: %s\n' "$1" >&2; }
die() { note "$2"; exit "$1"; }

# usage WORDS: a mistake on the command line, as the Swift tofu says it: a sentence, then the
# help to read; exit status 2. WORDS may quote what was typed: escaped for the terminal.
usage() {
  local text=$1
  case "$text" in *[.?!]) ;; *) text+=. ;; esac
  die "$EX_USAGE" "$(jq -rn --arg text "$text" "$JQ_ESCAPE"'$text | esc') See '$self${command_words:+ $command_words} --help'."
}

# The word after an option that takes one, in VALUE. A word that starts with '-' is the next
# option, not a value (as swift-argument-parser reads a command line).
take_value() { if [ $# -lt 2 ] || [[ "$2" == -?* ]]; then usage "$1 needs a value"; fi; VALUE=$2; }

# The same for a number: digits, maybe after a '+', that fit in 64 bits.
take_number() {
  take_value "$@"
  local digits=${VALUE#+}
  [[ "$digits" =~ ^[0-9]+$ ]] || usage "$1 takes a number, not '$VALUE'"
  while [[ "$digits" == 0?* ]]; do digits=${digits#0}; done
  if [ "${#digits}" -gt 19 ] || { [ "${#digits}" -eq 19 ] && [[ "$digits" > 9223372036854775807 ]]; }; then
    usage "$1 takes a number, not '$VALUE'"
  fi
  VALUE=$digits
}

# refuse SENTENCE: a usage failure that is not a mistake of the command line's form (a file
# that cannot be read): no help to read, exit status 2.
refuse() { die "$EX_USAGE" "$(jq -rn --arg text "$1" "$JQ_ESCAPE"'$text | esc')"; }

# The same for a number of days, where a negative number is refused as the Swift tofu refuses it.
take_days() {
  if [ $# -ge 2 ] && [[ "$2" =~ ^-[0-9]+$ ]]; then check_days "$2"; fi
  take_number "$@"
}

unknown_option() { usage "There is no option $1"; }
unexpected() { usage "'$1' is not expected here"; }

help() {
  cat <<TEXT
$self: Trust-On-First-Use certificate pins, in bash + jq (the same as the Swift tofu).

  $self listcerts [KEY] [--expiring-within DAYS] [--staged] [-v]   (-v: validity=expired|expiringSoon|notYetValid)
  $self deletecert [host] KEY [--expected-fingerprint F] [--next]
  $self verifycert KEY | --all [--concurrency N] [--timeout-ms MS] [--expiring-within DAYS]
  $self add-dnac-server --server S [--port P] --username U [--password-stdin]
      [--no-check-credentials] [--accept-fingerprint F] [--timeout-ms MS] [--policy certificate|public-key]
  $self pin-cert KEY --pem FILE [--policy certificate|public-key | --next]
  $self set-policy KEY certificate|public-key
  $self list-dnac-servers
  $self remove-dnac-server KEY
  $self history [KEY] [--limit N] [--event E]... [--since DATE] | [KEY] --prune-before DATE
  $self backup DEST                    (a consistent copy of the store to a new file)
  $self export > FILE                  (the whole store as JSON Lines)
  $self import [--replace] < FILE      (an export into this store)
  $self certvalidation tofu-certs listcerts | deletecert host KEY     (PI's own words)
  $self --version

Every command takes --store PATH, --server-path PATH (default: \$TOFU_RPC, else tofu-rpc on
PATH), --json and --help ($self COMMAND --help shows examples). Host keys are PI's
<host>_<port> (192.0.2.10_443), or a bare host, host:port, [v6]:port.

$EXIT_TABLE
TEXT
}

readonly EXIT_TABLE="Exit status: 0 success; 1 failure; 2 usage (bad arguments or host key); 3 certificate
mismatch; 4 not found (no such pin or server, or not pinned); 5 host unreachable;
6 authentication failed; 7 pin store unavailable; 8 not a DNA Center (or it failed)."

# command_help COMMAND: what `tofu COMMAND --help` says, with this client's name; each example
# on one line.
command_help() {
  local s=$self
  case "$1" in
    listcerts|"certvalidation tofu-certs listcerts") cat <<TEXT
$s $1: list the pinned certificates, one line per host: host=<key>;  subject=<subject>.

Usage: $s $1 [KEY] [--expiring-within DAYS] [--staged] [-v|--verbose]

Examples:
  $s listcerts
  $s listcerts 192.0.2.10_443 -v
  $s listcerts --expiring-within 30     (pins whose certificate ends within 30 days)
  $s listcerts --staged -v              (pins with a staged next certificate)
With -v each line adds serial, sha256, notAfter and policy, and for a staged next
certificate next (its SHA-256), nextSerial and nextNotAfter. With a host key that has
no pin, the exit status is 4, as for deletecert.
TEXT
    ;;
    deletecert|"certvalidation tofu-certs deletecert") cat <<TEXT
$s $1: delete the pin of a host, as PI's 'deletecert host <key>'.

Usage: $s $1 [host] KEY [--expected-fingerprint F] [--next]

Examples:
  $s deletecert host 192.0.2.10_443
  $s deletecert host 192.0.2.10_443 --expected-fingerprint E8:17:…:08:5C
  $s deletecert host 192.0.2.10_443 --next     (only the staged next certificate)
PI's word 'host' before the key may be left out: $s deletecert 192.0.2.10_443.
With --expected-fingerprint the pin (with --next: the staged certificate) is deleted only if
it is that certificate, so a script never deletes a pin it did not look at.
TEXT
    ;;
    verifycert) cat <<TEXT
$s verifycert: compare what a host presents now with its pin. Changes nothing but the time of the last match.

Usage: $s verifycert KEY | --all [--concurrency N] [--timeout-ms MS]

Examples:
  $s verifycert 192.0.2.10_443
  $s verifycert --all --concurrency 64
One line per host: host=<key>;  status=match|mismatch|unpinned|unreachable;  …
Exit status 3 if any host presents another certificate, else 5 if any is unreachable,
else 4 if any has no pin.
TEXT
    ;;
    add-dnac-server) cat <<TEXT
$s add-dnac-server: add a Cisco DNA Center: reach it, pin its certificate on first use, check the credentials.

Usage: $s add-dnac-server --server S [--port P] --username U [--password-stdin] [--no-check-credentials]
    [--accept-fingerprint F] [--policy certificate|public-key] [--timeout-ms MS]

The password is asked twice on the terminal, or read from one line of standard input with
--password-stdin. It is never an argument: every user of the machine can read arguments.

Examples:
  $s add-dnac-server --server 192.0.2.10 --username admin
  printf '%s\n' "\$PASSWORD" | $s add-dnac-server --server 192.0.2.10 --username admin --password-stdin
  $s add-dnac-server --server 192.0.2.10 --username admin --accept-fingerprint 3B:A0:…:91:7F
--accept-fingerprint is the one-step re-pin after the controller's certificate changed: the new
certificate replaces the pin only once the credentials are accepted; otherwise the old pin stays.
TEXT
    ;;
    pin-cert) cat <<TEXT
$s pin-cert: pin a certificate obtained out of band, before the first connection, or stage the next one.

Usage: $s pin-cert KEY --pem FILE [--policy certificate|public-key | --next]

Examples:
  $s pin-cert 192.0.2.10_443 --pem controller.pem
  $s pin-cert 192.0.2.10_443 --pem controller.pem --policy public-key
  $s pin-cert 192.0.2.10_443 --pem next.pem --next
--next stages the certificate the controller will present after a planned rotation,
beside its current pin: the current certificate keeps matching, and the first
verifycert or add-dnac-server that meets the staged one makes it the pin. No outage.
TEXT
    ;;
    set-policy) cat <<TEXT
$s set-policy: set what a pin accepts: exactly its certificate, or any certificate with its public key.

Usage: $s set-policy KEY certificate|public-key

Examples:
  $s set-policy 192.0.2.10_443 public-key
  $s set-policy 192.0.2.10_443 certificate
public-key: a renewal that keeps the controller's key is accepted by the next verifycert
or add-dnac-server, which stores the new certificate (history: renewed). A new key is
still a mismatch. certificate (the default, PI's behaviour): exactly the pinned one.
TEXT
    ;;
    list-dnac-servers) cat <<TEXT
$s list-dnac-servers: list the DNA Center servers that were added.

Usage: $s list-dnac-servers

Example:
  $s list-dnac-servers
TEXT
    ;;
    remove-dnac-server) cat <<TEXT
$s remove-dnac-server: forget an added DNA Center server. Its pin stays.

Usage: $s remove-dnac-server KEY

Example:
  $s remove-dnac-server 192.0.2.10_443
To delete the pin too: $s deletecert host 192.0.2.10_443
TEXT
    ;;
    history) cat <<TEXT
$s history: the audit trail: pins, replacements, deletions, and each change of verdict, oldest first.

Usage: $s history [KEY] [--limit N] [--event E]... [--since DATE]
       $s history [KEY] --prune-before DATE

Examples:
  $s history
  $s history 192.0.2.10_443 --limit 20
  $s history --event mismatch --event replaced --since 2026-11-01
  $s history --prune-before 2026-01-01      (delete older events; pins stay)
TEXT
    ;;
    backup) cat <<TEXT
$s backup: write a consistent copy of the pin store to a new file, while other processes go on using it.

Usage: $s backup DEST

Examples:
  $s backup /var/backups/tofu/store-\$(date +%F).sqlite
  $s backup copy.sqlite --store /srv/tofu/store.sqlite
The copy holds every change committed before the backup began and none half made; it is checked,
synced, 0600, and never overwrites a file; DEST is named *.sqlite, *.sqlite3 or *.db. A PostgreSQL
store is refused: back it up with pg_dump --schema=tofu.
TEXT
    ;;
    export) cat <<TEXT
$s export: write the whole store to stdout as JSON Lines: pins with their certificates, the history, the DNA Center servers.

Usage: $s export > FILE

Examples:
  $s export > pins.jsonl
  $s export --store a.sqlite | $s import --store postgresql://tofu@192.0.2.20/tofu
A count goes to stderr. A row that cannot be read stops the export (exit 7) before the end record.
TEXT
    ;;
    import) cat <<TEXT
$s import: take what export wrote (on stdin) into the store, host by host.

Usage: $s import [--replace] < FILE

Examples:
  $s import --store postgresql://tofu@192.0.2.20/tofu < pins.jsonl
  $s export --store a.sqlite | $s import --store postgresql://tofu@192.0.2.20/tofu
Each host: imported, identical (nothing changed), conflict (refused, exit 3; --replace takes the
export's), replaced. A line that is not a record stops the import there (exit 2).
TEXT
    ;;
    certvalidation|"certvalidation tofu-certs") cat <<TEXT
$s $1: PI's command words.

Usage: $s certvalidation tofu-certs listcerts
       $s certvalidation tofu-certs deletecert host KEY
TEXT
    ;;
    *) help; return ;;
  esac
  printf '\nEvery command takes --store PATH, --server-path PATH and --json.\n'
}

# Text from tofu-rpc (certificate subjects above all) made safe to print on a terminal, as the
# Swift tofu does: every control character (U+0000-U+001F, U+007F-U+009F), bidirectional
# formatting character (U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069) and line or
# paragraph separator (U+2028, U+2029), and invisible character (U+00AD, U+200B-U+200D, U+FEFF,
# ...) is shown as \xNN below U+0100, else \uNNNN (\x1B, \x9B, \u202E), and a backslash as \\,
# so that every backslash printed begins an escape (the text \u200B prints as \\u200B, never
# as a zero-width space). `esc` for text, `safe_json` for --json (the same JSON value, those code
# points as JSON escapes; its backslashes begin JSON escapes already, a backslash of the value
# is \\). `shell_word` is a value as one word of a command to paste, as FailureText.swift writes
# it (TerminalText.shellWord): plain, or in single quotes, or, when it holds such a code point,
# in $'...' quotes, whose \\, \', \xNN (below U+0080) and \uNNNN paste as the value itself.
# `shell_command` is a command tofu-rpc wrote: its backslashes and quotes are the shell's and stay.
# Prepended to every jq program that prints what tofu-rpc sent.
readonly JQ_ESCAPE='
def must_escape: . < 32 or (. >= 127 and . < 160) or . == 173 or . == 847 or . == 1564
  or . == 4447 or . == 4448 or . == 6068 or . == 6069 or (. >= 6155 and . <= 6159)
  or (. >= 8203 and . <= 8207) or (. >= 8232 and . <= 8238) or (. >= 8288 and . <= 8303)
  or . == 12644 or (. >= 65024 and . <= 65039) or . == 65279 or . == 65440 or (. >= 65520 and . <= 65528);
def hex4: [(. / 4096 | floor) % 16, (. / 256 | floor) % 16, (. / 16 | floor) % 16, . % 16]
  | map("0123456789ABCDEF"[.:. + 1]) | add;
def escaped_with(p; f): explode as $codes
  | if any($codes[]; p) then [$codes[] | if p then f else [.] | implode end] | add else . end;
def esc: tostring | escaped_with(. == 92 or must_escape;
  if . == 92 then "\\\\" elif . < 256 then "\\x" + (hex4 | .[2:]) else "\\u" + hex4 end);
def safe_json: tojson | escaped_with(must_escape; "\\u" + (hex4 | ascii_downcase));
def shell_word: tostring | if test("^[A-Za-z0-9_@%+=:,./-]+$") then .
  elif any(explode[]; must_escape) then "$\u0027" + escaped_with(. == 92 or . == 39 or must_escape;
    if . == 92 then "\\\\" elif . == 39 then "\\\u0027" elif . < 128 then "\\x" + (hex4 | .[2:]) else "\\u" + hex4 end) + "\u0027"
  else "\u0027" + gsub("\u0027"; "\u0027\\\u0027\u0027") + "\u0027" end;
def shell_command: tostring | escaped_with(must_escape; if . < 256 then "\\x" + (hex4 | .[2:]) else "\\u" + hex4 end);
'

# tofu-rpc's failures in the CLI's words, as the Swift tofu prints them (FailureText.swift):
# `explanation` is an error's data.summary, then each of data.nextSteps (its sentence, then its
# calls as commands of this client ($self, passed as --arg self), indented); `invalid_params`
# is -32602 with the option names.
# (\u0027 is a single quote.)
readonly JQ_RENDER='
def sentence: if length > 0 and (.[-1:] | test("[.?!]") | not) then . + "." else . end;
def command($pem): (.params // {}) as $p
  | def val($n): if ($p[$n] // null) == null then null else ($p[$n] | shell_word) end;
    def flag($n): $p[$n] == true;
    def when(c; w): if c then w else [] end;
    (.method // "") as $m
  | if $m == "listCerts" then [$self, "listcerts"] + when(val("host"); [val("host"), "-v"])
    elif $m == "listDnacServers" then [$self, "list-dnac-servers"]
    elif $m == "deleteCert" then [$self, "deletecert", "host", (val("host") // "KEY")] + when(flag("next"); ["--next"])
      + when(val("expectedFingerprint"); ["--expected-fingerprint", val("expectedFingerprint")])
    elif $m == "pinCert" then [$self, "pin-cert", (val("host") // "KEY"), "--pem", (if $pem != "" then ($pem | shell_word) else "FILE" end)]
      + when(flag("next"); ["--next"])
    elif $m == "verifyCert" then [$self, "verifycert", (val("host") // "KEY")]
    elif $m == "removeDnacServer" then [$self, "remove-dnac-server", (val("server") // "KEY")]
    elif $m == "addDnacServer" then [$self, "add-dnac-server", "--server", (val("server") // "SERVER"), "--username", (val("username") // "USER")]
      + when(val("acceptFingerprint"); ["--accept-fingerprint", val("acceptFingerprint")])
      + when(($p.policy | type) == "string"; ["--policy", (if $p.policy == "publicKey" then "public-key" else ($p.policy | shell_word) end)])
      + when($p.checkCredentials == false; ["--no-check-credentials"])
    else [($m | esc), ($p | safe_json)] end
  | join(" ");
def explanation($pem): [(.summary | esc)] + [.nextSteps[]? | (.text | esc), (.calls[]? | "  " + command($pem)), (.commands[]? | "  " + shell_command)]
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
  elif .data.kind? == "invalidRecord" then .message | sub("^Invalid params: "; "") | esc
  elif .code == -32602 and (.data | type) == "object" and (.data | invalid_params) != null then .data | invalid_params
  else .message | esc end;
'

# --- the tofu-rpc coprocess ---------------------------------------------------------------

store=""; server_path=""; json=0; next_id=0
RESULT=""

start_server() {  # start_server [ARGS for tofu-rpc]
  local path=${server_path:-${TOFU_RPC:-}}
  if [ -z "$path" ]; then path=$(command -v tofu-rpc) || die "$EX_FAILURE" "cannot find tofu-rpc: put it on PATH, or give --server-path or TOFU_RPC"; fi
  # tofu-rpc logs each trust decision at notice (for journald); this client reports its own
  # result, so its server says only what goes wrong, unless TOFU_LOG_LEVEL asks for more.
  # The store goes in TOFU_STORE, never in argv: every user can read a process's arguments,
  # and a PostgreSQL URI may hold a password.
  if [ -n "$store" ]; then
    coproc RPC { TOFU_LOG_LEVEL=${TOFU_LOG_LEVEL:-warning} TOFU_STORE=$store exec "$path" "$@"; }
  else
    coproc RPC { TOFU_LOG_LEVEL=${TOFU_LOG_LEVEL:-warning} exec "$path" "$@"; }
  fi
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
    # An error with id null answers a request the server could not read (one past
    # --max-message-bytes): the one this client is waiting for, which sends one at a time.
    id=$(jq -r 'if has("error") and .id == null then $wanted else (.id // empty) end' --arg wanted "$next_id" <<<"$line")
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
fail_with_error() {  # fail_with_error [HINT: a line after the message, what was done before]
  local message code
  [ "$json" = 1 ] && jq -r "$JQ_ESCAPE"'{error: .} | safe_json' <<<"$ERROR"
  message=$(jq -r --arg pem "$pem_context" --arg self "$self" "$JQ_ESCAPE$JQ_RENDER"'failure_text($pem)' <<<"$ERROR")
  code=$(jq -r '.code' <<<"$ERROR")
  [ -z "${1:-}" ] || message+=$'\n'"$1"
  note "$message"
  exit "$(exit_status_for "$code")"
}

call() { rpc "$@" || fail_with_error; }

# --- output: PI's line format, fields joined by ";  " ----------------------------------------

# A time as tofu writes it (RFC 3339 UTC), now or DAYS days from now: utc_time [DAYS]
utc_time() { date -u -d "+${1:-0} days" +%Y-%m-%dT%H:%M:%SZ; }

# validity of a certificate at $now: expired, expiringSoon (ending before $soon), notYetValid,
# or null when it needs no attention (as the Swift tofu's Expiry).
readonly JQ_VALIDITY='
def validity: if $now < .notBefore then "notYetValid" elif $now > .notAfter then "expired" elif .notAfter < $soon then "expiringSoon" else null end;
'

pin_line() {  # pin_line VERBOSE NOW SOON  (pin JSON on stdin)
  jq -r --argjson verbose "$1" --arg now "$2" --arg soon "$3" "$JQ_ESCAPE$JQ_VALIDITY"'
    [["host", .host], ["subject", .subject]]
    + (if $verbose then [["serial", .serialNumber], ["sha256", .sha256Fingerprint], ["notAfter", .notAfter]]
       + (validity as $v | if $v != null then [["validity", $v]] else [] end) + [["policy", .policy]]
       + (if .next != null then [["next", .next.sha256Fingerprint], ["nextSerial", .next.serialNumber], ["nextNotAfter", .next.notAfter]]
          + (.next | validity as $v | if $v != null then [["nextValidity", $v]] else [] end) else [] end)
       else [] end)
    | map("\(.[0])=\(.[1] // "" | esc)") | join(";  ")'
}

# What --expiring-within takes, in both clients' words.
check_days() {  # check_days VALUE
  [ -z "$1" ] || [[ "$1" =~ ^[0-9]+$ ]] || usage "--expiring-within takes a number of days, 0 or more (0: only certificates already expired), got $1"
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
  local host="" key="" given=0 within="" verbose=false staged=false cursor="null" params pin line now soon listed=0
  while [ $# -gt 0 ]; do
    case "$1" in
      --host) take_value "$@"; host=$VALUE; given=1; shift 2 ;;  # the way earlier releases took the key
      --staged) staged=true; shift ;;
      --expiring-within) take_days "$@"; within=$VALUE; shift 2 ;;
      -v|--verbose) verbose=true; shift ;;
      -*) unknown_option "$1" ;;
      *) [ -z "$key" ] || unexpected "$1"; key=$1; shift ;;
    esac
  done
  if [ -n "$key" ]; then [ "$given" = 0 ] || usage "Give the host key once"; host=$key; given=1; fi
  check_days "$within"
  now=$(utc_time); soon=$(utc_time "${within:-30}")
  start_server
  while :; do
    params=$(jq -cn --arg host "$host" --arg within "$within" --argjson cursor "$cursor" --argjson staged "$staged" '
      {} + (if $host != "" then {host: $host} else {} end)
         + (if $staged then {staged: true} else {} end)
         + (if $within != "" then {expiringWithinDays: ($within | tonumber)} else {} end)
         + (if $cursor != null then {cursor: $cursor} else {} end)')
    call listCerts "$params"
    listed=$((listed + $(jq '.certs | length' <<<"$RESULT")))
    if ! print_result; then
      while IFS= read -r pin; do
        line=$(pin_line "$verbose" "$now" "$soon" <<<"$pin")
        printf '%s\n' "$line" 2>/dev/null || stdout_gone
        listed=$((listed + 1))
      done < <(jq -c '.certs[]' <<<"$RESULT")
    fi
    cursor=$(jq -c '.nextCursor' <<<"$RESULT")
    [ "$cursor" = null ] && break
  done
  # One host asked for by its key and not pinned: not found, as deletecert says.
  if [ "$given" = 1 ] && [ "$listed" = 0 ] && [ -z "$within" ] && [ "$staged" = false ]; then
    die "$EX_NOT_FOUND" "$(jq -rn --arg host "$host" "$JQ_ESCAPE"'"No certificate is pinned for \($host | esc)."')"$'\n'"To see the pins:"$'\n'"  $self listcerts"
  fi
  # On stderr: stdout stays the list itself, empty, for a script that counts its lines.
  [ "$listed" -gt 0 ] || [ "$json" = 1 ] || printf '(no pins)\n' >&2
}

cmd_deletecert() {
  local words=() key expected="" next=false params
  while [ $# -gt 0 ]; do
    case "$1" in
      --expected-fingerprint) take_value "$@"; expected=$VALUE; shift 2 ;;
      --next) next=true; shift ;;
      -*) unknown_option "$1" ;;
      *) words+=("$1"); shift ;;
    esac
  done
  # PI's word `host` before the key may be left out.
  local example="as in: $self deletecert host 192.0.2.10_443"
  case "${#words[@]}" in
    0) usage "The host key is missing, $example" ;;
    1) [ "${words[0]}" != host ] || usage "The host key is missing after 'host', $example" ;;
    2) [ "${words[0]}" = host ] || usage "Expected the word 'host' before the key, $example" ;;
    *) unexpected "${words[*]:2}" ;;
  esac
  key=${words[${#words[@]} - 1]}
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
  local key="" key_given=0 pem="" pem_given=0 next=false policy=""
  while [ $# -gt 0 ]; do
    case "$1" in
      --pem) take_value "$@"; pem=$VALUE; pem_given=1; shift 2 ;;
      --next) next=true; shift ;;
      --policy) take_value "$@"; policy=$(policy_name "$VALUE"); [ -n "$policy" ] || usage "--policy is certificate or public-key, not '$VALUE'"; shift 2 ;;
      -*) unknown_option "$1" ;;
      *) [ "$key_given" = 0 ] || unexpected "$1"; key=$1; key_given=1; shift ;;
    esac
  done
  [ "$key_given" = 1 ] || usage "The host key is missing"
  [ "$pem_given" = 1 ] || usage "--pem is required"
  [ "$next" = false ] || [ -z "$policy" ] || usage "--policy does not go with --next: set the policy with $self set-policy"
  # As the Swift tofu words it: the file named, and why it cannot be read.
  if [ ! -e "$pem" ]; then refuse "Cannot read $pem: it does not exist."
  elif [ -d "$pem" ]; then refuse "Cannot read $pem: it is a directory."
  elif [ ! -r "$pem" ]; then refuse "Cannot read $pem: permission denied."
  fi
  # Under 1 MiB, as in the Swift tofu: `--pem /dev/zero` or a log file given by mistake ends.
  local params size
  size=$(head -c 1048576 -- "$pem" | wc -c)
  [ "$size" -lt 1048575 ] || refuse "The file $pem is 1 MiB or more; a PEM certificate is a few KiB: give a file that holds one."
  iconv -f UTF-8 -t UTF-8 -- "$pem" >/dev/null 2>&1 || refuse "The file $pem is not text (UTF-8); give a file that holds one PEM certificate."
  params=$(jq -cRs --arg host "$key" --argjson next "$next" --arg policy "$policy" '
    {host: $host, pem: .} + (if $next then {next: true} else {} end) + (if $policy != "" then {policy: $policy} else {} end)' <"$pem")
  start_server
  pem_context=$pem
  call pinCert "$params"
  # With --next: what was staged, not the pin it waits beside (listcerts -v shows both).
  print_result || jq -r "$JQ_ESCAPE"'if .pinStatus == "staged" then "staged host=\(.pin.host | esc);  subject=\(.pin.next.subject | esc);  sha256=\(.pin.next.sha256Fingerprint | esc)"
    else "\(.pinStatus | esc) host=\(.pin.host | esc);  subject=\(.pin.subject | esc);  sha256=\(.pin.sha256Fingerprint | esc)" end' <<<"$RESULT"
  # An expired (or not yet valid) certificate is pinned as asked, with a warning.
  jq -r --arg now "$(utc_time)" --argjson staged "$next" "$JQ_ESCAPE"'
    (if $staged then .pin.next else .pin end) as $c | (.pin.host | esc) as $host | (if $staged then "staged" else "pinned" end) as $what
    | "warning: the certificate \($what) for \($host) (serial \($c.serialNumber | esc))" as $it
    | if $now > $c.notAfter then "\($it) expired on \($c.notAfter | esc); "
        + (if $staged then "it is probably not the certificate the controller will present: confirm with its administrator"
           else "if the controller still presents it, its certificate needs renewing; stage the new one with: tofu pin-cert \($host) --pem NEW.pem --next" end)
      elif $now < $c.notBefore then "\($it) is not valid before \($c.notBefore | esc); check the controller'"'"'s clock, and that this is its certificate"
      else empty end' <<<"$RESULT" | while IFS= read -r warning; do note "$warning"; done
}

cmd_set_policy() {
  local words=() policy
  while [ $# -gt 0 ]; do
    case "$1" in
      -*) unknown_option "$1" ;;
      *) [ "${#words[@]}" -lt 2 ] || unexpected "$1"; words+=("$1"); shift ;;
    esac
  done
  [ "${#words[@]}" -ge 1 ] || usage "The host key is missing"
  [ "${#words[@]}" -ge 2 ] || usage "The policy (certificate or public-key) is missing"
  set -- "${words[@]}"
  policy=$(policy_name "$2")
  [ -n "$policy" ] || usage "The policy is certificate or public-key, not '$2'"
  start_server
  call setPinPolicy "$(jq -cn --arg host "$1" --arg policy "$policy" '{host: $host, policy: $policy}')"
  print_result || jq -r "$JQ_ESCAPE"'"host=\(.pin.host | esc);  subject=\(.pin.subject | esc);  policy=\(.pin.policy | esc)"' <<<"$RESULT"
}

cmd_history() {
  local key="" limit="" since="" before="" events=()
  while [ $# -gt 0 ]; do
    case "$1" in
      --limit) take_number "$@"; limit=$VALUE; shift 2 ;;
      --event) take_value "$@"; events+=("$VALUE"); shift 2 ;;
      --since) take_value "$@"; since=$VALUE; shift 2 ;;
      --prune-before) take_value "$@"; before=$VALUE; shift 2 ;;
      -*) unknown_option "$1" ;;
      *) [ -z "$key" ] || unexpected "$1"; key=$1; shift ;;
    esac
  done
  if [ -n "$before" ]; then
    [ -z "$limit" ] && [ ${#events[@]} -eq 0 ] && [ -z "$since" ] || usage "--prune-before deletes events; it does not go with --limit, --event or --since"
    start_server
    call pruneHistory "$(jq -cn --arg host "$key" --arg before "$before" '{before: $before} + (if $host != "" then {host: $host} else {} end)')"
    print_result || jq -r "$JQ_ESCAPE"'"pruned=\(.pruned | esc);  before=\(.before | esc)"' <<<"$RESULT"
    return 0
  fi
  start_server
  call certHistory "$(jq -cn --arg host "$key" --arg limit "$limit" --arg since "$since" '$ARGS.positional as $events
    | {} + (if $host != "" then {host: $host} else {} end) + (if $limit != "" then {limit: ($limit | tonumber)} else {} end)
    + (if $events != [] then {event: $events} else {} end) + (if $since != "" then {since: $since} else {} end)' --args "${events[@]+"${events[@]}"}")"
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
  local key="" key_given=0 all=0 concurrency="" timeout="" within="" params results
  while [ $# -gt 0 ]; do
    case "$1" in
      --all) all=1; shift ;;
      --concurrency) take_number "$@"; concurrency=$VALUE; shift 2 ;;
      --timeout-ms) take_number "$@"; timeout=$VALUE; shift 2 ;;
      --expiring-within) take_days "$@"; within=$VALUE; shift 2 ;;
      -*) unknown_option "$1" ;;
      *) [ "$key_given" = 0 ] || unexpected "$1"; key=$1; key_given=1; shift ;;
    esac
  done
  if [ "$all" = "$key_given" ]; then usage "Give one host key, or --all"; fi
  [ -z "$concurrency" ] || [ "$all" = 1 ] || usage "--concurrency goes with --all"
  check_days "$within"
  params=$(jq -cn --arg host "$key" --argjson all "$all" --arg concurrency "$concurrency" --arg timeout "$timeout" --arg within "$within" --argjson tty "$([ -t 2 ] && echo true || echo false)" '
    (if $all == 1 then {all: true} + (if $tty then {progressToken: "tofu"} else {} end) else {host: $host} end)
    + (if $concurrency != "" then {concurrency: ($concurrency | tonumber)} else {} end)
    + (if $timeout != "" then {timeoutMs: ($timeout | tonumber)} else {} end)
    + (if $within != "" then {expiringWithinDays: ($within | tonumber)} else {} end)')
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
    + (if (.presentedValidity // "valid") != "valid" then [["validity", .presentedValidity]] else [] end)
    | map("\(.[0])=\(.[1] // "" | esc)") | join(";  ")' <<<"$results"
  # What went wrong, host by host, with the next step; with --all only the mismatches, the
  # outage, then one line that names the hosts of each kind (as the Swift tofu does).
  jq -r --argjson all "$all" --arg self "$self" "$JQ_ESCAPE$JQ_RENDER"'.[] | select(.status != "match" and ($all == 0 or .status == "mismatch"))
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

# byte_length TEXT: its length in bytes, in BYTES (not in characters, as the locale counts).
byte_length() { local LC_ALL=C; BYTES=${#1}; }

cmd_add_dnac_server() {
  local server="" server_given=0 port="" username="" username_given=0 from_stdin=0 check=true accept="" timeout="" policy="" password="" confirmation="" params
  while [ $# -gt 0 ]; do
    case "$1" in
      --server) take_value "$@"; server=$VALUE; server_given=1; shift 2 ;;
      --port) take_number "$@"; port=$VALUE; shift 2 ;;
      --username) take_value "$@"; username=$VALUE; username_given=1; shift 2 ;;
      --password-stdin) from_stdin=1; shift ;;
      --no-check-credentials) check=false; shift ;;
      --accept-fingerprint) take_value "$@"; accept=$VALUE; shift 2 ;;
      --timeout-ms) take_number "$@"; timeout=$VALUE; shift 2 ;;
      --policy) take_value "$@"; policy=$(policy_name "$VALUE"); [ -n "$policy" ] || usage "--policy is certificate or public-key, not '$VALUE'"; shift 2 ;;
      --password) take_value "$@"; usage "The password is never an argument (every user of the machine can read arguments): answer the prompt, or pipe it with --password-stdin" ;;
      -*) unknown_option "$1" ;;
      *) unexpected "$1" ;;
    esac
  done
  [ "$server_given" = 1 ] || usage "--server is required"
  [ "$username_given" = 1 ] || usage "--username is required"
  if [ "$from_stdin" = 1 ]; then
    IFS= read -r password || [ -n "$password" ] || die "$EX_USAGE" "Standard input ended before a password line (--password-stdin)."
    password=${password%$'\r'}
    byte_length "$password"
    [ "$BYTES" -le 4096 ] || die "$EX_USAGE" "The password line on standard input is longer than 4096 bytes."
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

cmd_backup() {
  [ $# -eq 1 ] && [ -n "$1" ] || usage "backup needs one new file to write the copy to"
  start_server
  call backupStore "$(jq -cn --arg path "$1" '{path: $path}')"
  print_result || jq -r "$JQ_ESCAPE"'"backup=\(.path | esc);  pins=\(.pins);  servers=\(.servers);  events=\(.events);  bytes=\(.bytes)"' <<<"$RESULT"
}

cmd_list_dnac_servers() {
  if [ $# -gt 0 ]; then case "$1" in -*) unknown_option "$1" ;; *) unexpected "$1" ;; esac; fi
  start_server
  call listDnacServers '{}'
  print_result || jq -r "$JQ_ESCAPE"'.servers[] | "server=\(.server | esc);  username=\(.username | esc);  pinned=\(.pinnedFingerprint | esc);  lastCheckedAt=\(.lastCheckedAt | esc)"' <<<"$RESULT"
}

cmd_remove_dnac_server() {
  local word words=()
  for word in "$@"; do
    case "$word" in
      -*) unknown_option "$word" ;;
      *) [ "${#words[@]}" = 0 ] || unexpected "$word"; words+=("$word") ;;
    esac
  done
  [ "${#words[@]}" = 1 ] || usage "The host key is missing"
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
  note "The pin of $server stays. To delete it too:"$'\n'"  $self deletecert host $server"
}

# The version of the tofu-rpc this client runs: what it answers in rpc.discover, the same
# as `tofu --version` and `tofu-rpc --version` of that build.
cmd_version() {
  [ $# -eq 0 ] || unexpected "$1"
  start_server
  call rpc.discover '{}'
  jq -r "$JQ_ESCAPE"'.info.version | esc' <<<"$RESULT"
}

# --- moving a store: export and import (JSON Lines, one record per line) --------------------


cmd_export() {
  [ $# -eq 0 ] || usage "export: unexpected '$1'"
  local cursor=null last="" hosts=0 pins=0 events=0 servers=0 counts
  start_server
  while :; do
    call exportPins "$(jq -cn --argjson cursor "$cursor" 'if $cursor != null then {cursor: $cursor} else {} end')"
    jq -r "$JQ_ESCAPE"'.records[] | safe_json' <<<"$RESULT" 2>/dev/null || stdout_gone
    # Records come host by host: a host is counted where it starts (it may go on in the next page).
    counts=$(jq -r --arg last "$last" '[.records[] | .host // empty] as $hosts
      | (reduce $hosts[] as $host ({last: $last, new: 0}; if $host != .last then {last: $host, new: (.new + 1)} else . end)) as $seen
      | [$seen.new, ([.records[] | select(.type == "pin")] | length), ([.records[] | select(.type == "event")] | length),
         ([.records[] | select(.type == "server")] | length), $seen.last] | map(tostring) | join(" ")' <<<"$RESULT")
    read -r counts_hosts counts_pins counts_events counts_servers last <<<"$counts"
    hosts=$((hosts + counts_hosts)); pins=$((pins + counts_pins)); events=$((events + counts_events)); servers=$((servers + counts_servers))
    cursor=$(jq -c '.nextCursor' <<<"$RESULT")
    [ "$cursor" = null ] && break
  done
  note "exported: hosts $hosts, pins $pins, history events $events, DNA Center servers $servers"
}

# The import's report so far: a line per host on stdout (a JSON object with --json), counted.
imported_count=0 identical_count=0 conflict_count=0 replaced_count=0

report_hosts() {  # report_hosts HOSTS_JSON_ARRAY
  local statuses
  if [ "$json" = 1 ]; then
    jq -r "$JQ_ESCAPE"'.[] | safe_json' <<<"$1"
  else
    jq -r "$JQ_ESCAPE"'.[] | (.status | esc) + " " + ([["host", .host]] + (
        if .status == "conflict" then [["pinned", .pinnedFingerprint], ["imported", .sha256Fingerprint], ["differs", (.differences | join(","))]]
        elif .status == "replaced" then [["sha256", .sha256Fingerprint], ["was", .pinnedFingerprint], ["events", .eventsAdded]]
        elif .status == "imported" then [["sha256", .sha256Fingerprint], ["events", .eventsAdded], ["server", (if .serverAdded then "added" else "-" end)]]
        else [["sha256", .sha256Fingerprint]] end)
      | map("\(.[0])=\(.[1] // "" | esc)") | join(";  "))' <<<"$1"
  fi
  statuses=$(jq -r '[("imported", "identical", "conflict", "replaced") as $status | [.[] | select(.status == $status)] | length] | map(tostring) | join(" ")' <<<"$1")
  read -r a b c d <<<"$statuses"
  imported_count=$((imported_count + a)); identical_count=$((identical_count + b)); conflict_count=$((conflict_count + c)); replaced_count=$((replaced_count + d))
}

# Reads the export on stdin a line at a time and groups its records into calls of whole hosts
# (about 1000 records or 4 MiB each; a larger host goes alone), as the Swift tofu does. Emits
# {kind: "batch", firstLine, records}; {kind: "bad", line, from} for a line that is not a JSON
# object (after the batch of the hosts before its host), then stops; {kind: "end", lines, last}.
readonly JQ_BATCHES='
def flush: if (.batch | length) > 0 then .out += [{kind: "batch", firstLine: .first, records: .batch}] | .batch = [] | .bytes = 0 else . end;
label $stop
| foreach (inputs, null) as $line ({n: 0, batch: [], bytes: 0, first: 1, gstart: 0, key: null, started: false, last: null, out: [], stop: false};
    .out = []
    | if $line == null then flush | .out += [{kind: "end", lines: .n, last: .last}]
      else .n += 1
      | ($line | rtrimstr("\r") | try fromjson catch null) as $record
      | if ($record | type) != "object" then
          (if .gstart < (.batch | length) then .first + .gstart else .n end) as $from
          | .gstart as $kept | .batch = .batch[:$kept] | flush | .out += [{kind: "bad", line: .n, from: $from}] | .stop = true
        else
          ($record.host // null) as $key
          | (if (.started | not) or $key != .key then
              (if (.batch | length) >= 1000 or .bytes >= 4194304 then flush | .first = .n else . end)
              | .gstart = (.batch | length) | .key = $key | .started = true
            else . end)
          | .batch += [$record] | .bytes += ($line | utf8bytelength) | .last = $record.type
        end
      end;
    (.out[]), (if .stop then break $stop else empty end))
'

cmd_import() {
  local replace=false message kind item params hint lines=0 last=""
  while [ $# -gt 0 ]; do
    case "$1" in
      --replace) replace=true; shift ;;
      *) usage "import: unexpected '$1'" ;;
    esac
  done
  start_server --max-message-bytes 67108864
  while IFS= read -r item; do
    kind=$(jq -r '.kind' <<<"$item")
    case "$kind" in
      batch)
        params=$(jq -c --argjson replace "$replace" '{records: .records, replace: $replace, firstLine: .firstLine}' <<<"$item")
        if ! rpc importPins "$params"; then
          report_hosts "$(jq -c '.data.hosts // []' <<<"$ERROR")"
          if [ "$(jq -r '.data.kind' <<<"$ERROR")" = invalidRecord ]; then
            hint="The import stopped there; the hosts listed above were imported."
          else
            hint="The import stopped; the hosts listed above were imported. Run it again once this is fixed: what was imported is then skipped as identical."
          fi
          fail_with_error "$hint"
        fi
        report_hosts "$(jq -c '.hosts' <<<"$RESULT")"
        ;;
      bad)
        message=$(jq -r '"line \(.line) is not a JSON object, as every line of a tofu export is: the import stopped there, nothing from line \(.from) on was imported (the hosts listed above were)"' <<<"$item")
        die "$EX_USAGE" "$message"
        ;;
      end)
        lines=$(jq -r '.lines' <<<"$item"); last=$(jq -r '.last // ""' <<<"$item")
        ;;
    esac
  done < <(jq -nRc "$JQ_BATCHES")
  [ "$lines" -gt 0 ] || die "$EX_FAILURE" "the input is empty: nothing was imported (give it what tofu export wrote, e.g. tofu export --store a.sqlite | tofu import)"
  note "import: hosts $((imported_count + identical_count + conflict_count + replaced_count)); imported $imported_count, identical $identical_count (already in the store), refused $conflict_count (conflict), replaced $replaced_count"
  [ "$last" = end ] || die "$EX_FAILURE" "the input ended at line $lines without the end record of a tofu export: it was cut short (did the export fail?) or is not one. The hosts listed above were imported; run the import again with the whole export: what is there already is skipped as identical"
  if [ "$conflict_count" -gt 0 ]; then
    if [ "$conflict_count" = 1 ]; then message="1 host was"; else message="$conflict_count hosts were"; fi
    die "$EX_MISMATCH" "$message refused (conflict): this store pins them differently than the export (pinned= is this store's certificate, imported= the export's); nothing of them changed. Compare with tofu listcerts -v --host <key>; to take the export's pins, run the import again with --replace"
  fi
}

# --- main ----------------------------------------------------------------------------------

command -v jq >/dev/null || die "$EX_FAILURE" "jq is missing: install it (Debian: apt-get install jq)"

# Global options may come anywhere; everything else goes to the command. --name=value is read
# as --name value, as swift-argument-parser reads it.
words=(); global_error=""; wants_help=0; wants_version=0
while [ $# -gt 0 ]; do
  case "$1" in
    --*=*)
      case "${1%%=*}" in
        --json|--help|--version|--staged|--verbose|--next|--all|--password-stdin|--no-check-credentials)
          global_error="${1%%=*} takes no value"; shift; continue ;;
      esac
      set -- "${1%%=*}" "${1#*=}" "${@:2}"; continue ;;
    --store|--server-path)
      if [ $# -lt 2 ] || [[ "$2" == -?* ]]; then global_error="$1 needs a value"; shift; continue; fi
      if [ "$1" = --store ]; then store=$2; else server_path=$2; fi
      shift 2 ;;
    --json) json=1; shift ;;
    -h|--help) wants_help=1; shift ;;
    --version) wants_version=1; shift ;;
    *) words+=("$1"); shift ;;
  esac
done
set -- "${words[@]+"${words[@]}"}"

# `help COMMAND` is `COMMAND --help`.
if [ "${1:-}" = help ]; then shift; wants_help=1; [ $# -gt 0 ] || { help; exit 0; }; fi
if [ $# -eq 0 ]; then
  [ -z "$global_error" ] || usage "$global_error"
  if [ "$wants_version" = 1 ]; then cmd_version; exit; fi
  help; exit 0
fi
# PI's words: certvalidation tofu-certs listcerts | deletecert.
if [ "$1" = certvalidation ]; then
  command_words=certvalidation; shift
  [ $# -gt 0 ] || { command_help certvalidation; exit 0; }
  [ "$1" = tofu-certs ] || usage "'$1' is not a $self certvalidation command"
  command_words="certvalidation tofu-certs"; shift
  [ $# -gt 0 ] || { command_help "$command_words"; exit 0; }
  case "$1" in listcerts|deletecert) ;; *) usage "'$1' is not a $self certvalidation tofu-certs command" ;; esac
  command_words+=" $1"
else
  case "$1" in
    listcerts|deletecert|verifycert|add-dnac-server|pin-cert|set-policy|list-dnac-servers|remove-dnac-server|history|backup|export|import) command_words=$1 ;;
    -*) unknown_option "$1" ;;
    *) usage "'$1' is not a $self command" ;;
  esac
fi
command=$1
shift
[ -z "$global_error" ] || usage "$global_error"
if [ "$wants_help" = 1 ]; then command_help "$command_words"; exit 0; fi
if [ "$wants_version" = 1 ]; then cmd_version; exit; fi
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
  backup) cmd_backup "$@" ;;
  export) cmd_export "$@" ;;
  import) cmd_import "$@" ;;
esac
