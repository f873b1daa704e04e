#!/usr/bin/env bash
# CVMKit's test command (the README's, and what .ci/run calls): installs what the tests need,
# builds, runs every Swift test, then the tpm2-tools differential suite against swtpm and
# against `cvm vtpm serve` with the same assertions, then the measured-boot test under QEMU.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/install-deps.sh
swift build
swift test
scripts/interop/run.sh swtpm
scripts/interop/run.sh cvm
scripts/qemu/boot-test.sh
