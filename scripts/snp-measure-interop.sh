#!/usr/bin/env bash
# Compares `cvm snp measure` with the peer tool `sev-snp-measure --mode snp` (pip install
# sev-snp-measure) on Debian's OVMF images (apt-get install ovmf), for several vCPU counts, models
# and SEV features, with and without a generated kernel, initrd and command line. Prints one line per case and exits
# non-zero if any measurement or refusal differs.
# Usage: scripts/snp-measure-interop.sh [CVM]   (CVM defaults to the debug build in .build)
set -u
cd "$(dirname "$0")/.."
cvm=${1:-.build/debug/cvm}
command -v sev-snp-measure >/dev/null || { echo "sev-snp-measure is not installed: pip install sev-snp-measure" >&2; exit 2; }
[ -x "$cvm" ] || { echo "$cvm is not built: swift build" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
head -c 300000 /dev/urandom >"$work/kernel"
head -c 40000 /dev/urandom >"$work/initrd"

images=()
for image in /usr/share/ovmf/OVMF.fd /usr/share/OVMF/OVMF_CODE*.fd; do
    [ -f "$image" ] && images+=("$image")
done

passed=0 failed=0
compare() {
    local ours theirs
    ours=$("$cvm" snp measure "$@" 2>&1 | sed 's/^error: .*/refused/')
    theirs=$(sev-snp-measure --mode snp "$@" 2>&1 | sed 's/^Error: .*/refused/')
    if [ "$ours" = "$theirs" ]; then
        passed=$((passed + 1)); echo "PASS $* -> $ours"
    else
        failed=$((failed + 1)); echo "FAIL $*: cvm $ours, sev-snp-measure $theirs"
    fi
}

for image in "${images[@]}"; do
    for shape in "1 EPYC-v4 0x1" "2 EPYC-Milan 0x21" "7 EPYC-Genoa 0x1" "32 EPYC-Turin 0x21"; do
        read -r vcpus type features <<<"$shape"
        compare --ovmf "$image" --vcpus "$vcpus" --vcpu-type "$type" --guest-features "$features"
    done
    compare --ovmf "$image" --vcpus 2 --vcpu-type EPYC-v4 --kernel "$work/kernel" --initrd "$work/initrd" --append "console=ttyS0 quiet"
    compare --ovmf "$image" --vcpus 1 --vcpu-type EPYC-Rome --kernel "$work/kernel"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
