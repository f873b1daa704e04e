#!/usr/bin/env bash
# Measured-boot test: QEMU (software emulation) boots Debian's OVMF into Debian's kernel and a
# busybox initramfs that prints the firmware's TPM event log and the PCRs it sees on the serial
# console. The TPM is `cvm vtpm serve` behind QEMU's tpm-emulator backend (swtpm control
# protocol, data channel passed with CMD_SET_DATAFD) or, for comparison, Debian's swtpm.
# Asserts that our PCRs (read with tpm2_pcrread over the mssim port while the guest is up)
# replay from the event log in every bank, that swtpm ends up with the same PCRs, that PCR 7
# follows secure boot and that PCR 4 follows the kernel as `cvm pcr predict` predicts.
# Event logs and PCR values are kept in artifacts/qemu-boot/. See scripts/qemu/README.md.
#
# Environment: CVM (the cvm binary, default .build/debug/cvm), QEMU_BOOT_KERNEL (default the
# newest /boot/vmlinuz-*), QEMU_BOOT_TIMEOUT (seconds per boot, default 90).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
cvm=${CVM:-$root/.build/debug/cvm}
kernel=${QEMU_BOOT_KERNEL:-$(find /boot -maxdepth 1 -name 'vmlinuz-*' | sort -V | tail -n 1)}
boot_timeout=${QEMU_BOOT_TIMEOUT:-90}
memory_mib=512
ovmf=/usr/share/OVMF
artifacts=$root/artifacts/qemu-boot
work=$(mktemp -d -t qemu-boot.XXXXXX)
tpm_pid=
passed=0
failed=0

stop_tpm() {
  if [[ -n $tpm_pid ]]; then
    kill "$tpm_pid" 2>/dev/null || true
    wait "$tpm_pid" 2>/dev/null || true
  fi
  tpm_pid=
}
trap 'stop_tpm; rm -rf "$work"' EXIT

die() {
  echo "boot-test: $*" >&2
  exit 2
}

# check NAME COMMAND...: runs an assertion, counts it, prints PASS or FAIL.
check() {
  local name=$1
  shift
  if "$@" >"$work/check.out" 2>&1; then
    echo "PASS $name"
    passed=$((passed + 1))
  else
    echo "FAIL $name"
    sed 's/^/     /' "$work/check.out" | head -n 20
    failed=$((failed + 1))
  fi
}

for tool in qemu-system-x86_64 swtpm tpm2_pcrread cpio gzip base64; do
  command -v "$tool" >/dev/null || die "$tool not found: run scripts/install-deps.sh"
done
[[ -x $cvm ]] || die "no cvm binary at $cvm: run swift build first (or set CVM)"
[[ -f $kernel ]] || die "no kernel image (install linux-image-amd64 or set QEMU_BOOT_KERNEL)"
for firmware in OVMF_CODE_4M.secboot.fd OVMF_VARS_4M.ms.fd OVMF_CODE_4M.fd OVMF_VARS_4M.fd; do
  [[ -f $ovmf/$firmware ]] || die "no $ovmf/$firmware: install ovmf"
done
busybox=$(command -v busybox) || die "busybox not found: install busybox-static"
if ldd "$busybox" >/dev/null 2>&1; then die "$busybox is dynamically linked: install busybox-static"; fi

# The only reason to skip: QEMU cannot run a machine here at all (it stays up, paused, if it can).
qemu_probe=0
timeout 5 qemu-system-x86_64 -machine q35 -accel tcg -nodefaults -display none -monitor none -S \
  >"$work/probe.log" 2>&1 || qemu_probe=$?
if ((qemu_probe != 124)); then
  echo "################################################################################"
  echo "## boot-test: SKIPPED, QEMU cannot start a machine on this host:"
  sed 's/^/##   /' "$work/probe.log"
  echo "################################################################################"
  exit 0
fi

rm -rf "$artifacts"
mkdir -p "$artifacts"

# The initramfs: /init prints the event log (base64) and the PCRs of every bank the kernel
# found (sysfs), then waits so that the host can read the same PCRs over the mssim port. It is
# kept with the artifacts for booting by hand (README.md).
mkdir -p "$work/initramfs/bin"
cp "$busybox" "$work/initramfs/bin/busybox"
cat >"$work/initramfs/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mkdir -p /proc /sys
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t securityfs securityfs /sys/kernel/security
echo 1 >/proc/sys/kernel/printk
echo BEGIN-EVENTLOG
base64 /sys/kernel/security/tpm0/binary_bios_measurements
echo END-EVENTLOG
for bank in /sys/class/tpm/tpm0/pcr-*; do
  for pcr in $(seq 0 23); do echo "PCR ${bank##*/pcr-} $pcr $(cat "$bank/$pcr")"; done
done
echo END-PCRS
sleep 3600
EOF
chmod +x "$work/initramfs/init"
(cd "$work/initramfs" && find . | cpio -o -H newc --quiet | gzip -1) >"$artifacts/initrd.gz"

# Little-endian fields of PE and Linux boot headers: pe_u32 FILE OFFSET, and
# poke FILE OFFSET SIZE VALUE (writes SIZE bytes).
pe_u32() { od -An -tu4 -j "$2" -N4 "$1" | tr -d ' '; }
poke() {
  local bytes='' i
  for ((i = 0; i < $3; i++)); do bytes+=$(printf '\\x%02x' $(($4 >> (8 * i) & 255))); done
  printf '%b' "$bytes" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# A second kernel for PCR 4: the same image without its signature and with 4 KiB appended, so
# OVMF (without secure boot) loads and measures an image with another Authenticode digest.
# The signature goes because past the sections edk2 hashes the rest of the file less the
# certificate table's size, which differs from Authenticode when data follows the table. Security directory: PE32+ optional header (at e_lfanew + 24) offset 144.
other_kernel=$work/vmlinuz-other
security_entry=$(($(pe_u32 "$kernel" 60) + 24 + 144))
certificates=$(pe_u32 "$kernel" "$security_entry")
((certificates > 0)) || certificates=$(stat -c %s "$kernel")
head -c "$certificates" "$kernel" >"$other_kernel"
poke "$other_kernel" "$security_entry" 8 0
head -c 4096 /dev/zero | tr '\0' 'K' >>"$other_kernel"

# as_loaded IMAGE OUT: the image as OVMF loads (and measures) it with -kernel: QEMU's
# x86_load_linux (hw/i386/x86.c, 7.2) fills in the setup header before it hands the setup
# over fw_cfg: loader type 0xB0, CAN_USE_HEAP with heap_end_ptr, cmd_line_ptr 0x20000 (boot
# protocol 2.02+ at 0x10000), and the initrd's size and address, the highest 4 KiB-aligned
# one below the RAM under 4 GiB (all of the guest's) less QEMU's 160 KiB of ACPI tables (the
# kernel takes an initrd anywhere below 4 GiB, XLF_CAN_BE_LOADED_ABOVE_4G).
as_loaded() {
  local initrd_size
  initrd_size=$(stat -c %s "$artifacts/initrd.gz")
  cp "$1" "$2"
  poke "$2" $((0x210)) 1 0xb0
  poke "$2" $((0x211)) 1 $(($(od -An -tu1 -j $((0x211)) -N1 "$1") | 0x80))
  poke "$2" $((0x224)) 2 $((0x20000 - 0x10000 - 0x200))
  poke "$2" $((0x228)) 4 0x20000
  poke "$2" $((0x218)) 4 $(((memory_mib * 1024 * 1024 - 0x28000 - 1 - initrd_size) & ~4095))
  poke "$2" $((0x21c)) 4 "$initrd_size"
}

# Ports P and P+1 for the mssim protocol, below the range this sandbox refuses (32768+).
start_cvm() {
  local dir=$1 attempt
  for attempt in {1..20}; do
    port=$((20000 + RANDOM % 12000))
    "$cvm" vtpm serve --port "$port" --swtpm-ctrl "unix:$dir/ctrl" >"$dir/tpm.log" 2>&1 &
    tpm_pid=$!
    for _ in {1..50}; do
      grep -q "serving swtpm" "$dir/tpm.log" && return 0
      kill -0 "$tpm_pid" 2>/dev/null || break
      sleep 0.1
    done
    stop_tpm
    rm -f "$dir/ctrl"
  done
  die "cvm vtpm serve did not start after $attempt attempts: $(cat "$dir/tpm.log")"
}

start_swtpm() {
  local dir=$1
  swtpm socket --tpm2 --ctrl "type=unixio,path=$dir/ctrl" --tpmstate "dir=$dir" >"$dir/tpm.log" 2>&1 &
  tpm_pid=$!
  for _ in {1..50}; do
    [[ -S $dir/ctrl ]] && return 0
    sleep 0.1
  done
  die "swtpm did not start: $(cat "$dir/tpm.log")"
}

# PCR lines "BANK INDEX HEX" (lowercase) for PCRs 0-9, the firmware's and boot loader's
# range (the kernel's IMA extends PCR 10 at boot, outside the event log).
pcrs_from_guest() { awk '$1 == "PCR" && $3 <= 9 { print $2, $3, tolower($4) }' "$1" | sort; }
pcrs_from_tpm2_tools() {
  awk '/^  [a-z0-9]+:$/ { bank = substr($1, 1, length($1) - 1) }
       /^    [0-9]+ *: 0x/ { sub(/:$/, "", $1); if ($1 + 0 <= 9) print bank, $1, tolower(substr($NF, 3)) }' "$1" | sort
}

# boot NAME TPM CODE VARS KERNEL: boots with a fresh TPM (cvm or swtpm) and writes
# NAME.eventlog (binary), NAME.serial.txt, NAME.guest-pcrs.txt and, for cvm, NAME.pcrs.yaml
# and NAME.pcrs.txt (tpm2_pcrread over mssim) to the artifacts.
boot() {
  local name=$1 tpm=$2 code=$3 vars=$4 image=$5 dir=$work/$1 started=$SECONDS
  mkdir -p "$dir"
  cp "$ovmf/$vars" "$dir/vars.fd"
  "start_$tpm" "$dir"
  local serial=$artifacts/$name.serial.txt
  timeout "$boot_timeout" qemu-system-x86_64 -machine q35,smm=on -accel tcg -m "$memory_mib" -smp 1 \
    -nodefaults -display none -monitor none -no-reboot -serial "file:$serial" \
    -global driver=cfi.pflash01,property=secure,value=on \
    -drive "if=pflash,format=raw,unit=0,readonly=on,file=$ovmf/$code" \
    -drive "if=pflash,format=raw,unit=1,file=$dir/vars.fd" \
    -chardev "socket,id=chrtpm,path=$dir/ctrl" -tpmdev emulator,id=tpm0,chardev=chrtpm \
    -device tpm-tis,tpmdev=tpm0 \
    -kernel "$image" -initrd "$artifacts/initrd.gz" -append "console=ttyS0 quiet panic=-1" \
    >"$dir/qemu.log" 2>&1 &
  local qemu=$!
  while ! grep -qa END-PCRS "$serial" 2>/dev/null && kill -0 "$qemu" 2>/dev/null; do sleep 1; done
  if [[ $tpm == cvm ]]; then
    TPM2TOOLS_TCTI="mssim:host=127.0.0.1,port=$port" tpm2_pcrread >"$artifacts/$name.pcrs.yaml" 2>"$dir/pcrread.err" ||
      { echo "boot $name: tpm2_pcrread over mssim failed:" && cat "$dir/pcrread.err"; } >&2
    pcrs_from_tpm2_tools "$artifacts/$name.pcrs.yaml" >"$artifacts/$name.pcrs.txt"
  fi
  kill "$qemu" 2>/dev/null || true
  wait "$qemu" 2>/dev/null || true
  stop_tpm
  sed -n '/^BEGIN-EVENTLOG/,/^END-EVENTLOG/p' "$serial" | tr -d '\r' | grep -E '^[A-Za-z0-9+/=]+$' |
    base64 -d >"$artifacts/$name.eventlog" 2>/dev/null || true
  tr -d '\r' <"$serial" | pcrs_from_guest /dev/stdin >"$artifacts/$name.guest-pcrs.txt"
  echo "boot $name: $tpm, $code + $vars, $(basename "$image"): $((SECONDS - started)) s"
  if [[ ! -s $artifacts/$name.eventlog ]]; then
    echo "boot $name: no event log on the serial console; QEMU said:" >&2
    tail -n 5 "$dir/qemu.log" >&2
  fi
}

# replays NAME PCRS: the event log of boot NAME replays to the PCR lines in file PCRS, in
# every bank the TPM has (a bank the log lacks fails, as does a non-reset PCR it never extends).
replays() {
  local log=$artifacts/$1.eventlog json=$work/$1.pcrs.json
  [[ -s $log && -s $2 ]] || { echo "no event log or no PCR values"; return 1; }
  awk 'BEGIN { printf "{" }
       $1 != bank { if (bank != "") printf "}, "; bank = $1; printf "\"%s\": {", bank; sep = "" }
       { printf "%s\"%s\": \"%s\"", sep, $2, $3; sep = ", " }
       END { print "}}" }' "$2" >"$json"
  "$cvm" eventlog replay "$log" --pcrs "$json" >"$work/replay.out" || { cat "$work/replay.out"; return 1; }
  if grep -E "MISMATCH|cannot be reproduced|bank not in the log|not supported" "$work/replay.out"; then return 1; fi
}

# same_pcrs A B: the PCR lines of the two files agree in the banks both have (at least sha256).
same_pcrs() {
  local banks
  banks=$(comm -12 <(cut -d' ' -f1 "$1" | sort -u) <(cut -d' ' -f1 "$2" | sort -u) | tr '\n' ' ')
  echo "common banks: $banks"
  [[ " $banks" == *" sha256 "* ]] || return 1
  in_banks() { awk -v banks="$banks" 'BEGIN { split(banks, list, " "); for (i in list) keep[list[i]] } $1 in keep' "$1"; }
  diff <(in_banks "$1") <(in_banks "$2")
}

# differs A B PCR: PCR differs between the two files in every bank of A.
differs() {
  local bank value
  [[ -s $1 ]] || return 1
  while read -r bank value; do
    if [[ $(awk -v b="$bank" -v p="$3" '$1 == b && $2 == p { print $3 }' "$2") == "$value" ]]; then
      echo "PCR $3 $bank is $value in both"
      return 1
    fi
  done < <(awk -v p="$3" '$2 == p { print $1, $3 }' "$1")
}

# predicted LOG IMAGE BOOT: `cvm pcr predict` on the event log of boot LOG, with IMAGE (as QEMU
# hands it to OVMF) as the boot application, gives the PCR 4 of boot BOOT in every bank.
predicted() {
  as_loaded "$2" "$work/loaded.efi"
  "$cvm" pcr predict "$artifacts/$1.eventlog" --image "$work/loaded.efi" | tee "$artifacts/$3.predicted.txt"
  # Table rows: | PCR 4 | bank | current | predicted | changed |
  diff <(awk -F' *[|] *' '$2 == "PCR 4" { print $3, 4, $5 }' "$artifacts/$3.predicted.txt" | sort) \
    <(awk '$2 == 4' "$artifacts/$3.pcrs.txt" | sort)
}

started=$SECONDS
boot cvm-secboot cvm OVMF_CODE_4M.secboot.fd OVMF_VARS_4M.ms.fd "$kernel"
boot swtpm-secboot swtpm OVMF_CODE_4M.secboot.fd OVMF_VARS_4M.ms.fd "$kernel"
boot cvm-nosecboot cvm OVMF_CODE_4M.fd OVMF_VARS_4M.fd "$kernel"
boot cvm-nosecboot-other-kernel cvm OVMF_CODE_4M.fd OVMF_VARS_4M.fd "$other_kernel"

for name in cvm-secboot cvm-nosecboot cvm-nosecboot-other-kernel; do
  check "$name: PCRs read over mssim replay from the event log" replays "$name" "$artifacts/$name.pcrs.txt"
  check "$name: the guest's PCRs (TIS, data channel) equal those read over mssim" \
    same_pcrs "$artifacts/$name.guest-pcrs.txt" "$artifacts/$name.pcrs.txt"
done
check "swtpm-secboot: the guest's PCRs replay from the event log" \
  replays swtpm-secboot "$artifacts/swtpm-secboot.guest-pcrs.txt"
check "secure boot: swtpm and cvm vtpm serve end with the same PCRs" \
  same_pcrs "$artifacts/swtpm-secboot.guest-pcrs.txt" "$artifacts/cvm-secboot.pcrs.txt"
check "PCR 7 differs without secure boot" \
  differs "$artifacts/cvm-secboot.pcrs.txt" "$artifacts/cvm-nosecboot.pcrs.txt" 7
check "PCR 4 differs with the other kernel" \
  differs "$artifacts/cvm-nosecboot.pcrs.txt" "$artifacts/cvm-nosecboot-other-kernel.pcrs.txt" 4
check "cvm pcr predict: the kernel as QEMU loads it keeps PCR 4 (OVMF measured that image)" \
  predicted cvm-nosecboot "$kernel" cvm-nosecboot
check "cvm pcr predict gives the other kernel's PCR 4 from the first boot's log" \
  predicted cvm-nosecboot "$other_kernel" cvm-nosecboot-other-kernel

echo "boot-test: 4 boots in $((SECONDS - started)) s; artifacts in $artifacts"
echo "$passed passed, $failed failed"
((failed == 0))
