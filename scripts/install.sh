#!/usr/bin/env bash
# make install / make uninstall: tofu and tofu-rpc, their man pages and their shell completions.
#
#   install.sh install   ROOT BIN_DIR   installs under ROOT (DESTDIR + PREFIX) the binaries of BIN_DIR
#   install.sh uninstall ROOT           removes exactly what install installs, then the directories
#                                       it used that are left empty (ROOT itself stays)
#   install.sh files                    the installed files, relative to ROOT, one per line
#
# The man pages are rendered from what the installed binaries say of their arguments
# (scripts/manpage.py), tofu-rpc's with README's protocol sections; the completions are what
# swift-argument-parser generates for each binary.
set -euo pipefail
root_dir=$(cd "$(dirname "$0")/.." && pwd)
programs=(tofu tofu-rpc)

files() {
  local program
  for program in "${programs[@]}"; do
    printf '%s\n' "bin/$program" "share/man/man1/$program.1" "share/bash-completion/completions/$program" \
      "share/zsh/site-functions/_$program" "share/fish/vendor_completions.d/$program.fish"
  done
}

command=${1:?usage: install.sh install ROOT BIN_DIR | uninstall ROOT | files}
case "$command" in
  files) files; exit 0 ;;
esac
root=${2:?usage: install.sh $command ROOT}
root=${root%/}

case "$command" in
  install)
    from=${3:?usage: install.sh install ROOT BIN_DIR}
    for program in "${programs[@]}"; do
      [ -x "$from/$program" ] || { echo "install: $from/$program is missing: build it first (make release)" >&2; exit 1; }
    done
    staging=$(mktemp -d "${TMPDIR:-/tmp}/tofu-install.XXXXXX")
    trap 'rm -rf "$staging"' EXIT
    today=$(date -u +%Y-%m-%d)
    for program in "${programs[@]}"; do
      # Rendered and generated first, so a failure installs nothing.
      python3 "$root_dir/scripts/manpage.py" "$from/$program" --readme "$root_dir/README.md" --date "$today" > "$staging/$program.1"
      for shell in bash zsh fish; do
        "$from/$program" --generate-completion-script "$shell" > "$staging/$program.$shell"
      done
    done
    for program in "${programs[@]}"; do
      install -D -m 0755 "$from/$program" "$root/bin/$program"
      install -D -m 0644 "$staging/$program.1" "$root/share/man/man1/$program.1"
      install -D -m 0644 "$staging/$program.bash" "$root/share/bash-completion/completions/$program"
      install -D -m 0644 "$staging/$program.zsh" "$root/share/zsh/site-functions/_$program"
      install -D -m 0644 "$staging/$program.fish" "$root/share/fish/vendor_completions.d/$program.fish"
    done
    files | sed "s|^|installed $root/|"
    ;;
  uninstall)
    while IFS= read -r file; do
      rm -f -- "$root/$file"
    done < <(files)
    # The directories install used, deepest first, removed only when nothing else is in them.
    while IFS= read -r directory; do
      while [ "$directory" != . ]; do
        rmdir -- "$root/$directory" 2>/dev/null || break
        directory=$(dirname "$directory")
      done
    done < <(files | xargs -n1 dirname | sort -u -r)
    echo "removed tofu and tofu-rpc from $root"
    ;;
  *) echo "usage: install.sh install ROOT BIN_DIR | uninstall ROOT | files" >&2; exit 2 ;;
esac
