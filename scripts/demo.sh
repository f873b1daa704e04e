#!/usr/bin/env bash
# CVMKit's main job: `cvm demo`, the whole chain on the emulated platform. It starts the
# attestation service, provisions a release policy with reference values derived from the
# artifacts, a disk key and a secret; launches a confidential VM whose agent attests, receives
# both and unlocks its data disk; then shows VMs with a tampered kernel, the debug policy and
# secure boot off being refused, with every rule explained.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/install-deps.sh
swift build --product cvm 2>&1 | tail -1
.build/debug/cvm demo
