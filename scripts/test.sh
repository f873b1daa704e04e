#!/usr/bin/env bash
# CVMKit's test command (the README's, and what .ci/run calls): installs what the tests need,
# starts a throwaway PostgreSQL, builds, runs every Swift test (storage tests on SQLite and
# PostgreSQL), schemathesis against the service's OpenAPI document, then the tpm2-tools differential suite against swtpm and
# against `cvm vtpm serve` with the same assertions, then the measured-boot test under QEMU.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/install-deps.sh
# A real PostgreSQL on loopback for the service's storage and replica tests.
CVM_TEST_POSTGRES_URL=$(scripts/postgres.sh start)
export CVM_TEST_POSTGRES_URL
trap 'scripts/postgres.sh stop' EXIT
swift build
swift test
scripts/service/schemathesis.sh 120
scripts/service/tls-check.sh
scripts/interop/run.sh swtpm
scripts/interop/run.sh cvm
scripts/qemu/boot-test.sh
