#!/usr/bin/env bash
# Runs the interop scenarios against a fresh TPM listening on 127.0.0.1:
#   run.sh swtpm [SCENARIO...]   Debian's swtpm, through the swtpm TCTI
#   run.sh cvm [SCENARIO...]     `cvm vtpm serve` (ephemeral), through the mssim TCTI and
#                                then, on a second fresh instance, through the swtpm TCTI
# Exits non-zero if any scenario failed on any of them.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
target=${1:?usage: run.sh swtpm|cvm [SCENARIO...]}
shift
state=$(mktemp -d -t tpm-interop-run.XXXXXX)
pid=

stop_tpm() {
  if [[ -n $pid ]]; then
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  if [[ -s $state/pid ]]; then kill "$(cat "$state/pid")" 2>/dev/null || true; fi
  pid=
  rm -f "$state/pid"
}
trap 'stop_tpm; rm -rf "$state"' EXIT

# Both servers need two adjacent ports (P and P+1): try random ones below the ephemeral
# range (32768 and up) until they bind.
start_swtpm() {
  swtpm socket --tpm2 --daemon --pid "file=$state/pid" --tpmstate "dir=$state" \
    --server "type=tcp,port=$port,bindaddr=127.0.0.1" --ctrl "type=tcp,port=$((port + 1)),bindaddr=127.0.0.1" \
    --flags not-need-init --log "file=$state/swtpm.log" 2>>"$state/start.err"
}

# Starts `cvm vtpm serve` with the given options and waits until it listens.
launch_cvm() {
  : >"$state/cvm.log"
  "$cvm" vtpm serve "$@" >>"$state/cvm.log" 2>>"$state/start.err" &
  pid=$!
  local i
  for i in {1..50}; do
    grep -q "serving" "$state/cvm.log" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

start_cvm_mssim() { launch_cvm --port "$port"; }
start_cvm_swtpm() { launch_cvm --no-mssim --swtpm-port "$port"; }

start() {
  local attempt
  for attempt in {1..20}; do
    port=$((20000 + RANDOM % 12000))
    "$1" && return
    stop_tpm
  done
  echo "$1: no TPM started after $attempt attempts:" >&2
  cat "$state/start.err" >&2
  return 1
}

run_scenarios() {
  local tcti=$1
  shift
  echo "== tpm2-tools scenarios against $label ($tcti)"
  TPM2TOOLS_TCTI=$tcti tpm2_startup -c
  "$here/scenarios.sh" "$tcti" "$@"
}

case $target in
swtpm)
  label=swtpm
  start start_swtpm
  run_scenarios "swtpm:host=127.0.0.1,port=$port" "$@"
  ;;
cvm)
  cvm=${CVM:-$root/.build/debug/cvm}
  [[ -x $cvm ]] || { echo "no cvm binary at $cvm: run swift build first (or set CVM)" >&2; exit 2; }
  label="cvm vtpm serve"
  status=0
  start start_cvm_mssim
  run_scenarios "mssim:host=127.0.0.1,port=$port" "$@" || status=$?
  stop_tpm
  start start_cvm_swtpm
  run_scenarios "swtpm:host=127.0.0.1,port=$port" "$@" || status=$?
  exit $status
  ;;
*)
  echo "usage: run.sh swtpm|cvm [SCENARIO...]" >&2
  exit 2
  ;;
esac
