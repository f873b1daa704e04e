#!/usr/bin/env bash
# Checks `cvm agent detect` and `cvm agent collect` against peer tools: swtpm plays an Azure
# vTPM whose NV index 0x01400001 tpm2-tools fills with a real HCL report
# (../shared/testdata/tpm/azure-snp-hcl-report-kinvolk), in a fake guest tree with Microsoft's DMI
# identity and a real event log. The collected HCL report and event log must equal the files put
# in, tpm2_checkquote must accept the quote with the nonce (and refuse another nonce), the quoted
# PCR values must equal tpm2_pcrread's, and Azure's persistent AK (0x81000003, made with
# tpm2_createprimary) must be used once it exists. swtpm reports TPM_PT_NV_BUFFER_MAX 1024, so the
# 2048-byte report is read in two chunks. Prints one line per check; exits non-zero on a failure.
# Usage: scripts/agent-interop.sh [CVM]   (CVM defaults to the debug build in .build)
set -u
cd "$(dirname "$0")/.."
cvm=$(realpath "${1:-.build/debug/cvm}")
for tool in swtpm tpm2_nvdefine tpm2_checkquote; do
    command -v $tool >/dev/null || { echo "$tool is not installed: scripts/install-deps.sh" >&2; exit 2; }
done
[ -x "$cvm" ] || { echo "$cvm is not built: swift build" >&2; exit 2; }
hcl=../shared/testdata/tpm/azure-snp-hcl-report-kinvolk/hcl_report.bin
log=../shared/testdata/eventlog/gce-cos101-amd-sev.bin

work=$(mktemp -d)
port=$((20000 + RANDOM % 20000))
swtpm socket --tpm2 --tpmstate dir="$work" --server type=tcp,port=$port --ctrl type=tcp,port=$((port + 1)) \
    --flags not-need-init,startup-clear --daemon --pid file="$work/swtpm.pid"
trap 'kill "$(cat "$work/swtpm.pid")"; rm -rf "$work"' EXIT
export TPM2TOOLS_TCTI=swtpm:host=127.0.0.1,port=$port
tpm="socket:127.0.0.1:$port"

root=$work/root
mkdir -p "$root/sys/class/dmi/id" "$root/dev" "$root/sys/kernel/security/tpm0"
printf 'Microsoft Corporation\n' >"$root/sys/class/dmi/id/sys_vendor"
printf 'Virtual Machine\n' >"$root/sys/class/dmi/id/product_name"
touch "$root/dev/tpmrm0"
cp "$log" "$root/sys/kernel/security/tpm0/binary_bios_measurements"
tpm2_nvdefine 0x01400001 -C p -s 2048 -a "ppwrite|ppread|ownerread|authread|no_da|platformcreate" >/dev/null
tpm2_nvwrite 0x01400001 -C p -i "$hcl"
tpm2_pcrextend 7:sha256="$(printf 'secure boot' | sha256sum | cut -c1-64)"

passed=0 failed=0
check() {
    local name=$1
    shift
    if "$@" >/dev/null 2>&1; then
        passed=$((passed + 1)); echo "PASS $name"
    else
        failed=$((failed + 1)); echo "FAIL $name"
    fi
}

# Quoted PCR values in the manifest, as "index:hex" lines sorted by index.
manifest_pcrs() {
    python3 -c 'import json,sys; p=json.load(open(sys.argv[1]))["tpm"]["pcrs"]; print("\n".join(f"{int(k)}:{v}" for k,v in sorted(p.items(), key=lambda i:int(i[0]))))' "$1"
}
pcrread() {
    tpm2_pcrread "sha256:$1" | awk '/:/ && $1 ~ /^[0-9]+$/ {sub("0x","",$3); print $1 ":" tolower($3)}'
}
tpm2b() {
    python3 -c 'import struct,sys; b=open(sys.argv[1],"rb").read(); open(sys.argv[2],"wb").write(struct.pack(">H",len(b))+b)' "$1" "$2"
}

check "detect says azure-cvm" sh -c "'$cvm' agent detect --root '$root' --tpm '$tpm' | grep -q '^platform: azure-cvm'"
for round in created persistent; do
    if [ $round = persistent ]; then
        tpm2_createprimary -C e -G rsa2048:rsassa-sha256:null -c "$work/ak.ctx" \
            -a "fixedtpm|fixedparent|sensitivedataorigin|userwithauth|restricted|sign|noda" >/dev/null
        tpm2_evictcontrol -C o -c "$work/ak.ctx" 0x81000003 >/dev/null
    fi
    nonce=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
    out=$work/out-$round
    check "$round AK: collect" "$cvm" agent collect --nonce "$nonce" --root "$root" --tpm "$tpm" --pcrs 0,1,7 --out "$out"
    check "$round AK: HCL report byte for byte" cmp "$out/azure-hcl-report.bin" "$hcl"
    check "$round AK: event log byte for byte" cmp "$out/eventlog.bin" "$log"
    tpm2b "$out/tpm-ak-public.bin" "$work/ak.tpm2b"
    check "$round AK: tpm2_checkquote accepts" tpm2_checkquote -u "$work/ak.tpm2b" -m "$out/tpm-quote-attest.bin" \
        -s "$out/tpm-quote-signature.bin" -q "$nonce" -g sha256
    check "$round AK: tpm2_checkquote refuses another nonce" sh -c "! tpm2_checkquote -u '$work/ak.tpm2b' -m '$out/tpm-quote-attest.bin' -s '$out/tpm-quote-signature.bin' -q '00$nonce' -g sha256"
    check "$round AK: PCR values equal tpm2_pcrread" test "$(manifest_pcrs "$out/evidence.json")" = "$(pcrread 0,1,7)"
done
check "persistent AK: 0x81000003 named and equal to tpm2_readpublic" sh -c "grep -q '\"persistent 0x81000003\"' '$work/out-persistent/evidence.json' && tpm2_readpublic -c 0x81000003 -o '$work/readpublic.tpm2b' && cmp '$work/readpublic.tpm2b' '$work/ak.tpm2b'"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
