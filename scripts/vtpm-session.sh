#!/usr/bin/env bash
# A short tpm2-tools session against `cvm vtpm serve`: measure into a PCR, create an attestation
# key, quote the PCRs and check the quote, seal a secret to the PCR and watch it unseal only
# while the PCR is unchanged.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/install-deps.sh
swift build --product cvm 2>&1 | tail -1
work=$(mktemp -d -t cvm-vtpm-session.XXXXXX)
port=${CVM_DEMO_PORT:-2321}
.build/debug/cvm vtpm serve --port "$port" >"$work/vtpm.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in {1..50}; do grep -q serving "$work/vtpm.log" && break; sleep 0.1; done
cat "$work/vtpm.log"
export TPM2TOOLS_TCTI="mssim:host=127.0.0.1,port=$port"
cd "$work"

step() { printf '\n== %s\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }
quiet() { printf '$ %s\n' "$*"; "$@" >/dev/null; }

step "Start the TPM and measure something into PCR 16"
show tpm2_startup -c
echo "kernel-6.1.0 from a boot of the demo" >measured.txt
show tpm2_pcrevent 16 measured.txt
show tpm2_pcrread sha256:16

step "Endorsement key and attestation key (TCG EK profile template)"
quiet tpm2_createek -G rsa -c ek.ctx -u ek.pub
quiet tpm2_createak -C ek.ctx -G ecc -g sha256 -s ecdsa -c ak.ctx -u ak.pub -n ak.name -f pem

step "Quote PCRs 0 and 16 with a fresh nonce and check the quote"
nonce=$(openssl rand -hex 16)
show tpm2_quote -c ak.ctx -l sha256:0,16 -q "$nonce" -m quote.msg -s quote.sig -o quote.pcrs -g sha256
show tpm2_checkquote -u ak.pub -m quote.msg -s quote.sig -f quote.pcrs -g sha256 -q "$nonce"

step "Seal a disk key to PCR 16"
quiet tpm2_createprimary -C o -G ecc -c primary.ctx
show tpm2_pcrread -o pcr16.bin sha256:16
quiet tpm2_createpolicy --policy-pcr -l sha256:16 -f pcr16.bin -L pcr.policy
openssl rand -hex 32 >disk.key
quiet tpm2_create -C primary.ctx -i disk.key -L pcr.policy -u seal.pub -r seal.priv -a "fixedtpm|fixedparent"
quiet tpm2_load -C primary.ctx -u seal.pub -r seal.priv -c seal.ctx
show tpm2_unseal -c seal.ctx -p pcr:sha256:16 -o unsealed.key
cmp -s disk.key unsealed.key && echo "unsealed: the key matches"

step "Measure an unexpected boot component: the PCR changes and the key stays sealed"
echo "an untrusted kernel" >evil.txt
show tpm2_pcrevent 16 evil.txt
if tpm2_unseal -c seal.ctx -p pcr:sha256:16 -o unsealed2.key 2>err.txt; then
  echo "ERROR: unseal succeeded after the PCR changed" >&2
  exit 1
fi
echo "refused as expected: $(grep -o 'tpm:.*' err.txt | head -1)"
