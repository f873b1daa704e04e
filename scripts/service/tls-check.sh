#!/usr/bin/env bash
# `cvm serve` with TLS, checked by a real peer: OpenSSL makes a certificate, curl verifies the
# served chain against it and gets /healthz and a challenge; a plain-HTTP request is refused.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

cvm=${CVM_BINARY:-.build/debug/cvm}
work=$(mktemp -d)
port=$((20000 + RANDOM % 10000))
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/key.pem" -out "$work/cert.pem" \
  -days 2 -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null
"$cvm" serve --port "$port" --data-dir "$work/data" --tls-certificate "$work/cert.pem" --tls-key "$work/key.pem" \
  --log-level warning >"$work/serve.log" 2>&1 &
server=$!
trap 'kill -9 $server 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do curl -sf --cacert "$work/cert.pem" "https://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done

passed=0 failed=0
check() {
  if "$@" >/dev/null 2>&1; then echo "PASS $name"; passed=$((passed + 1)); else echo "FAIL $name"; failed=$((failed + 1)); fi
}
name="healthz over TLS, chain verified by curl" check curl -sf --cacert "$work/cert.pem" "https://127.0.0.1:$port/healthz"
name="a challenge over TLS" check curl -sf --cacert "$work/cert.pem" -X POST "https://127.0.0.1:$port/v1/challenge"
name="an untrusted chain is refused by the client" check bash -c "! curl -sf https://127.0.0.1:$port/healthz"
name="plain HTTP gets no answer" check bash -c "! curl -sf http://127.0.0.1:$port/healthz"
echo "$passed passed, $failed failed"
((failed == 0))
