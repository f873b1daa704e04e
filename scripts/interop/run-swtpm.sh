#!/usr/bin/env bash
# Runs the interop scenarios against a fresh swtpm listening on 127.0.0.1.
# usage: run-swtpm.sh [SCENARIO...]; exits with the status of scenarios.sh.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
state=$(mktemp -d -t swtpm-interop.XXXXXX)

stop_swtpm() {
  [[ -s $state/pid ]] && kill "$(cat "$state/pid")" 2>/dev/null
  rm -rf "$state"
}
trap stop_swtpm EXIT

# swtpm needs two ports (server P, control P+1): try random ones until it binds both.
start_swtpm() {
  local attempt
  for attempt in {1..20}; do
    port=$((20000 + RANDOM % 40000))
    if swtpm socket --tpm2 --daemon --pid "file=$state/pid" --tpmstate "dir=$state" \
      --server "type=tcp,port=$port,bindaddr=127.0.0.1" --ctrl "type=tcp,port=$((port + 1)),bindaddr=127.0.0.1" \
      --flags not-need-init --log "file=$state/swtpm.log" 2>>"$state/start.err"; then
      return
    fi
  done
  echo "swtpm did not start after $attempt attempts:" >&2
  cat "$state/start.err" >&2
  return 1
}

start_swtpm
tcti=swtpm:host=127.0.0.1,port=$port
TPM2TOOLS_TCTI=$tcti tpm2_startup -c
"$here/scenarios.sh" "$tcti" "$@"
