#!/usr/bin/env bash
# Installs the Debian and PyPI packages that CVMKit's build, demo and tests use. Idempotent:
# installs only what is missing. Needs root (or sudo) for apt-get.
set -euo pipefail

debian_packages=(
  libssl-dev openssl                                   # libcrypto for the vTPM's RSA/EC operations
  tpm2-tools swtpm swtpm-tools                         # peer TPM and client for the interop suite
  libtss2-tcti-swtpm0 libtss2-tcti-mssim0
  shim-signed grub-efi-amd64-signed linux-image-amd64  # real signed PE images: Authenticode oracles
  pesign sbsigntool osslsigncode                       # peer Authenticode tools
  ovmf python3-pip                                     # OVMF images with SEV metadata; pip for the SNP oracle
  qemu-system-x86 busybox-static cpio                  # the measured-boot test: OVMF on our vTPM under QEMU
  cryptsetup-bin python3-cryptography                  # LUKS2 peer; OpenSSL AES-XTS for sector checks
  systemd-boot-efi systemd binutils                    # UKI stub, systemd-measure and objcopy for PCR 11 prediction
  postgresql                                           # the attestation service's shared store (replica tests)
  curl                                                 # the README's service quick start (its test runs it)
)

missing=()
for package in "${debian_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
  sudo=()
  (($(id -u) == 0)) || sudo=(sudo)
  echo "install-deps: apt-get install ${missing[*]}"
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# PyPI peers: sev-snp-measure (the reference SNP launch-measurement calculator), pyhpke (an
# independent RFC 9180 HPKE for the key broker's release format), schemathesis (the HTTP API
# checked against its OpenAPI document).
pip_install() {
  local module=$1 requirement=$2
  python3 -c "import $module" 2>/dev/null && return 0
  echo "install-deps: pip install $requirement"
  # Debian's own python3 is externally managed (PEP 668); a pyenv or venv python is not.
  python3 -m pip install --quiet "$requirement" 2>/dev/null ||
    python3 -m pip install --quiet --break-system-packages "$requirement"
}
pip_install sevsnpmeasure sev-snp-measure==0.0.13
pip_install pyhpke pyhpke==0.6.5
pip_install schemathesis schemathesis==4.32.5
