#!/usr/bin/env bash
# Differential interop suite: tpm2-tools scenarios with the same assertions for every
# TPM 2.0 reachable through a TCTI (swtpm, `cvm vtpm serve`, ...). See README.md.
#
# usage: scenarios.sh TCTI [SCENARIO...]
#   TCTI      e.g. swtpm:host=127.0.0.1,port=2321 or mssim:host=127.0.0.1,port=2321
#   SCENARIO  run only these (default: all of SCENARIOS, in order)
# The TPM must be freshly started (TPM2_Startup(CLEAR) done, all authorizations empty).
# Prints `PASS name` or `FAIL name: reason` per scenario, then `N passed, M failed`.
# Environment: INTEROP_TIMEOUT  seconds allowed per scenario (default 60)
#              INTEROP_KEEP=1   keep the work directory (per-scenario logs) even if all pass
set -uo pipefail

readonly SELF=${BASH_SOURCE[0]}
readonly SCENARIOS=(
  pcr_extend pcr_event primary_keys seal_pcr seal_password quote credential nv getcap
  hash_random sign_verify rsa_encrypt contexts changeauth clear dictionary_lockout
  sessions policy_commandcode policy_authvalue policy_or policy_authorize policy_secret readclock attest_obfuscation
)

readonly PCR=16 # the debug PCR: resettable at locality 0
readonly OWNER_PW=owner-interop ENDORSEMENT_PW=endorsement-interop LOCKOUT_PW=lockout-interop
readonly PERSISTENT=0x81000001 NV_INDEX=0x1500016 NV_COUNTER=0x1500017
readonly ZERO_DIGEST=0000000000000000000000000000000000000000000000000000000000000000
readonly RH_OWNER=40000001 RH_ENDORSEMENT=4000000b
readonly NULL_TICKET=8024400000070000 # TPMT_TK_HASHCHECK: tag, TPM_RH_NULL, empty digest
readonly CC_POLICY_SECRET=00000151 CC_POLICY_AUTHORIZE=0000016a CC_POLICY_AUTH_VALUE=0000016b
readonly CC_POLICY_COMMAND_CODE=0000016c CC_POLICY_OR=00000171 CC_POLICY_PCR=0000017f
readonly CC_UNSEAL=0000015e
# TPM response codes the scenarios expect (session/parameter/handle number included)
readonly RC_AUTH_FAIL=0x98e RC_BAD_AUTH=0x9a2 RC_POLICY_FAIL=0x99d RC_LOCALITY=0x907
readonly RC_NV_UNINITIALIZED=0x14a RC_NV_DEFINED=0x14c RC_HANDLE=0x18b RC_VALUE=0x1c4 RC_INTEGRITY=0x1df
readonly RC_ATTRIBUTES=0x082 RC_AUTH_UNAVAILABLE=0x12f RC_DISABLED=0x120 RC_SIGNATURE=0x2db

# ---------------------------------------------------------------------------------------
# Harness

main() {
  if [[ ${1:-} == --one ]]; then
    run_one "$2" "$3"
    return
  fi
  if (($# < 1)); then
    echo "usage: $SELF TCTI [SCENARIO...]" >&2
    return 2
  fi
  export TPM2TOOLS_TCTI=$1
  shift
  local names=("${SCENARIOS[@]}") work name rc passed=0 failed=0
  (($#)) && names=("$@")
  for name in "${names[@]}"; do
    if ! declare -F "scenario_$name" >/dev/null; then
      echo "no such scenario: $name (known: ${SCENARIOS[*]})" >&2
      return 2
    fi
  done
  work=$(mktemp -d -t tpm-interop.XXXXXX)
  local run=0 dir
  for name in "${names[@]}"; do
    run=$((run + 1))
    dir=$work/$run-$name
    mkdir "$dir"
    timeout -k 2 "${INTEROP_TIMEOUT:-60}" bash "$SELF" --one "$name" "$dir" >"$dir.log" 2>&1
    rc=$?
    if ((rc == 0)); then
      echo "PASS $name"
      passed=$((passed + 1))
    else
      echo "FAIL $name: $(failure_reason "$rc" "$dir")"
      failed=$((failed + 1))
    fi
  done
  if ((failed)) || [[ -n ${INTEROP_KEEP:-} ]]; then
    echo "logs: $work" >&2
  else
    rm -rf "$work"
  fi
  echo "$passed passed, $failed failed"
  ((failed == 0))
}

failure_reason() {
  local rc=$1 dir=$2
  if ((rc == 124 || rc == 137)); then
    echo "timed out after ${INTEROP_TIMEOUT:-60}s"
  elif [[ -s $dir/.reason ]]; then
    head -n 1 "$dir/.reason"
  else
    echo "exited with status $rc"
  fi
}

# Runs one scenario in its own process (started by main) with errexit semantics.
run_one() {
  local name=$1
  cd "$2" || exit 1
  REASON=$PWD/.reason
  FAILURES=$PWD/.failures
  DEFERRED=()
  set -Eeuo pipefail
  shopt -s inherit_errexit
  trap 'on_error $? "$BASH_COMMAND"' ERR
  trap cleanup EXIT
  "scenario_$name"
}

# Reason of an unexpected failure: the tool that failed (with its TPM error) if there was one.
on_error() {
  [[ -s $REASON ]] && return
  if [[ -s $FAILURES ]]; then
    tail -n 1 "$FAILURES" >"$REASON"
  else
    echo "'$2' failed with status $1" >"$REASON"
  fi
}

# tpm2-tools leave every object they load in the TPM (a raw swtpm/mssim socket has no resource
# manager), so each tool is wrapped: transient objects are flushed after it, failures recorded.
run_tool() {
  local tool=$1 rc=0
  shift
  command "$tool" "$@" 2>.tool.err || rc=$?
  cat .tool.err >&2
  if ((rc)); then
    echo "$tool $*: $(tool_error .tool.err)" >>"$FAILURES"
  fi
  command tpm2_flushcontext -t >/dev/null 2>&1 || true
  return "$rc"
}

# The most telling line of a tool's stderr, e.g. "Esys_Unseal(0x99D) - tpm:session(1):a policy check failed".
tool_error() {
  local line
  line=$(grep -m 1 -E '^ERROR: \w+\(0x[0-9a-fA-F]+\) - ' "$1" || grep -m 1 '^ERROR' "$1" || tail -n 1 "$1")
  echo "${line#ERROR: }"
}

wrap_tools() {
  local tool
  for tool in $(compgen -c tpm2_ | sort -u); do
    eval "$tool() { run_tool $tool \"\$@\"; }"
  done
}

defer() { DEFERRED+=("$(printf '%q ' "$@")"); }

# Always run at the end of a scenario: back to the state of a fresh TPM as far as scenarios
# change it (contexts, authorizations, deferred undo actions, disableClear, PCR 16, DA counter).
cleanup() {
  local rc=$? i
  set +eE
  trap - ERR
  command tpm2_flushcontext -t -l -s
  restore_auth ownerAuthSet o "$OWNER_PW"
  restore_auth endorsementAuthSet e "$ENDORSEMENT_PW"
  restore_auth lockoutAuthSet l "$LOCKOUT_PW"
  for ((i = ${#DEFERRED[@]} - 1; i >= 0; i--)); do
    eval "${DEFERRED[i]}"
  done
  [[ $(permanent disableClear) == 1 ]] && command tpm2_clearcontrol -C p c
  command tpm2_pcrreset "$PCR"
  command tpm2_dictionarylockout -c
  exit "$rc"
}

restore_auth() {
  [[ $(permanent "$1") == 1 ]] && command tpm2_changeauth -c "$2" -p "$3"
}

permanent() { command tpm2_getcap properties-variable | yaml - "TPM2_PT_PERMANENT.$1"; }

# ---------------------------------------------------------------------------------------
# Assertions

fail() {
  echo "$*" >"$REASON"
  exit 1
}

expect_eq() { [[ $1 == "$2" ]] || fail "$3: expected '$2', got '$1'"; }

expect_ne() { [[ $1 != "$2" ]] || fail "$3: must differ from '$2'"; }

expect_same_file() { cmp -s "$1" "$2" || fail "$3: $1 and $2 differ"; }

# expect_refused RC WHAT CMD...: CMD must fail; RC is the TPM response code its first failing
# tool must report, or `any` when the refusal happens outside the TPM (e.g. tpm2_checkquote).
expect_refused() {
  local rc=$1 what=$2 got
  shift 2
  : >"$FAILURES"
  if "$@" >/dev/null; then
    fail "$what: accepted, must be refused"
  fi
  got=$(grep -m 1 -o '(0x[0-9a-fA-F]*)' "$FAILURES" | tr -d '()') || true
  : >"$FAILURES"
  [[ $rc == any ]] && return
  if [[ -z $got ]] || ((got != rc)); then
    fail "$what: expected TPM error $rc, got ${got:-none}"
  fi
}

# A wrong password for a DA-protected object: refused, and the failure it counted is forgiven.
expect_auth_fail() {
  expect_refused "$RC_AUTH_FAIL" "$@"
  tpm2_dictionarylockout -c
}

# ---------------------------------------------------------------------------------------
# Data helpers

hex() { xxd -p -c 256 "$@" | tr -d '\n'; }

# hash_hex ALG HEX...: digest of the concatenated bytes, as hex
hash_hex() { printf '%s' "${@:2}" | xxd -r -p | openssl dgst "-$1" -binary | hex; }

file_hash() { openssl dgst "-$1" -binary "$2" | hex; }

random_file() { head -c "$2" /dev/urandom >"$1"; }

random_hex() { head -c "$1" /dev/urandom | hex; }

# tamper FILE [OFFSET]: flips the lowest bit of the byte at OFFSET (default: the last byte)
tamper() {
  local offset=${2:-$(($(stat -c %s "$1") - 1))} byte
  byte=$(xxd -p -s "$offset" -l 1 "$1")
  printf '%02x' $((0x$byte ^ 1)) | xxd -r -p | dd of="$1" bs=1 seek="$offset" conv=notrunc status=none
}

# yaml FILE PATH: the scalar at a dotted key path ("type.value") of tpm2-tools' YAML output.
# Reads all its input: stopping early would kill the tool writing into the pipe (pipefail).
yaml() {
  awk -v path="$2" '
    { match($0, /^ */); ind = RLENGTH; line = substr($0, ind + 1)
      key = line; sub(/:.*/, "", key); val = substr(line, length(key) + 2); sub(/^ +/, "", val)
      while (n > 0 && ind <= indent[n]) n--
      indent[++n] = ind; keys[n] = key
      p = keys[1]; for (i = 2; i <= n; i++) p = p "." keys[i]
      if (p == path && !found) { print val; found = 1 } }' "$1"
}

# getcap CAPABILITY PATH: a value of `tpm2_getcap CAPABILITY`
getcap() { tpm2_getcap "$1" | yaml - "$2"; }

# Name of an object from its TPM2B_PUBLIC file: nameAlg (sha256) || sha256(TPMT_PUBLIC).
name_of() { echo "000b$(tail -c +3 "$1" | openssl dgst -sha256 -binary | hex)"; }

# qualified_name PARENT_QN NAME (hex): nameAlg || sha256(parent's qualified name || name)
qualified_name() { echo "000b$(hash_hex sha256 "$1" "$2")"; }

# policy_update DIGEST CC NAME: the policy digest after PolicySecret/PolicyAuthorize (empty policyRef)
policy_update() { hash_hex sha256 "$(hash_hex sha256 "$1" "$2" "$3")"; }

# PolicySecret(endorsement hierarchy): the authPolicy of the EK templates.
endorsement_policy() { policy_update "$ZERO_DIGEST" "$CC_POLICY_SECRET" "$RH_ENDORSEMENT"; }

pcr_hex() {
  tpm2_pcrread -o .pcr "$1:$PCR" >/dev/null
  hex .pcr
}

# The allocated PCR banks that have PCR 16 and a digest openssl knows.
pcr_banks() { tpm2_getcap pcrs | sed -n "s/^ *- \(sha1\|sha256\|sha384\|sha512\): \[.* $PCR,.*/\1/p"; }

extend_pcr() { tpm2_pcrextend "$PCR:sha256=$(random_hex 32)"; }

# PolicyPCR digest over sha256:16 for the current value of the PCR.
pcr_policy_digest() {
  hash_hex sha256 "$ZERO_DIGEST" "$CC_POLICY_PCR" 00000001000b03000001 "$(hash_hex sha256 "$(pcr_hex sha256)")"
}

# Primary storage key of the owner hierarchy (ECC: fast to create) in primary.ctx.
storage_primary() { tpm2_createprimary -C o -G "${1:-ecc}" -c primary.ctx >/dev/null; }

# seal FILE [CREATE-OPTION...]: seals FILE under primary.ctx, loaded as seal.ctx
seal() {
  tpm2_create -C primary.ctx -i "$1" -u seal.pub -r seal.priv "${@:2}" >/dev/null
  tpm2_load -C primary.ctx -u seal.pub -r seal.priv -c seal.ctx >/dev/null
}

# expect_unsealed FILE AUTH: unsealing seal.ctx with AUTH gives back FILE
expect_unsealed() {
  tpm2_unseal -c seal.ctx -p "$2" -o unsealed.dat
  expect_same_file unsealed.dat "$1" "unsealed with $2"
}

# A policy command on session.ctx, its digest to policy.digest: `policy pcr -l sha256:16`.
policy() {
  local cmd=$1
  shift
  "tpm2_policy$cmd" -S session.ctx -L policy.digest "$@" >/dev/null
}

# trial OUT CMD...: runs CMD (policy steps) in a trial session; the policy digest to OUT
trial() {
  local out=$1
  shift
  tpm2_startauthsession -S session.ctx
  "$@"
  tpm2_flushcontext session.ctx
  mv policy.digest "$out"
}

# unseal_with AUTH CMD...: unseals seal.ctx to unsealed.dat with a policy session satisfied by
# CMD (policy steps), AUTH ("" or "+password") appended to the session. Usable in conditions.
unseal_with() {
  local auth=$1 rc=0
  shift
  rm -f unsealed.dat
  { tpm2_startauthsession --policy-session -S session.ctx && "$@" &&
    tpm2_unseal -c seal.ctx -p "session:session.ctx$auth" -o unsealed.dat; } || rc=$?
  command tpm2_flushcontext session.ctx 2>/dev/null || true
  return "$rc"
}

# EK and AK of algorithm ALG: ek.ctx, ek.pub, ak.ctx, ak.pub, ak.name.
ek_and_ak() {
  local -A scheme=([rsa]=rsassa [ecc]=ecdsa)
  tpm2_createek -G "$1" -c ek.ctx -u ek.pub >/dev/null
  tpm2_createak -C ek.ctx -G "$1" -g sha256 -s "${scheme[$1]}" -c ak.ctx -u ak.pub -n ak.name >/dev/null
  expect_eq "$(hex ak.name)" "$(name_of ak.pub)" "$1 AK name"
}

nv_define() { tpm2_nvdefine "$1" -C o "${@:2}" >/dev/null && defer tpm2_nvundefine "$1" -C o; }

# ---------------------------------------------------------------------------------------
# Scenarios

scenario_pcr_extend() {
  local banks bank spec="" digest
  local -A old digests
  banks=$(pcr_banks)
  [[ $banks == *sha256* ]] || fail "no sha256 bank with PCR $PCR"
  for bank in $banks; do
    old[$bank]=$(pcr_hex "$bank")
    digests[$bank]=$(echo "interop $bank" | openssl dgst "-$bank" -binary | hex)
    spec+=",$bank=${digests[$bank]}"
  done
  tpm2_pcrextend "$PCR:${spec#,}"
  for bank in $banks; do
    digest=$(hash_hex "$bank" "${old[$bank]}" "${digests[$bank]}")
    expect_eq "$(pcr_hex "$bank")" "$digest" "PCR $PCR $bank after extend"
  done
  tpm2_pcrreset "$PCR"
  for bank in $banks; do
    expect_eq "$(pcr_hex "$bank")" "$(printf '%0*d' "${#old[$bank]}" 0)" "PCR $PCR $bank after reset"
  done
  expect_refused "$RC_LOCALITY" "pcrreset of PCR 0" tpm2_pcrreset 0
}

# Small events go through TPM2_PCR_Event, large ones through an event sequence.
scenario_pcr_event() {
  local size bank event old
  for size in 100 3000; do
    random_file event.bin "$size"
    old=$(pcr_hex sha256)
    tpm2_pcrevent "$PCR" event.bin >event.yaml
    for bank in $(pcr_banks); do
      expect_eq "$(yaml event.yaml "$bank")" "$(file_hash "$bank" event.bin)" "$size-byte event $bank digest"
    done
    event=$(file_hash sha256 event.bin)
    expect_eq "$(pcr_hex sha256)" "$(hash_hex sha256 "$old" "$event")" "PCR $PCR after $size-byte event"
  done
}

scenario_primary_keys() {
  local alg primary_qname
  local -A attributes=(
    [primary]="fixedtpm|fixedparent|sensitivedataorigin|userwithauth|restricted|decrypt"
    [key]="fixedtpm|fixedparent|sensitivedataorigin|userwithauth|decrypt|sign")
  for alg in rsa ecc; do
    tpm2_createprimary -C o -G "$alg" -c primary.ctx -o primary.pub >/dev/null
    tpm2_createprimary -C o -G "$alg" -c again.ctx -o again.pub >/dev/null
    expect_same_file again.pub primary.pub "$alg primary recreated from the same seed and template"
    tpm2_create -C primary.ctx -G "$alg" -u key.pub -r key.priv >/dev/null
    tpm2_load -C primary.ctx -u key.pub -r key.priv -c key.ctx -n key.name >/dev/null
    expect_eq "$(hex key.name)" "$(name_of key.pub)" "$alg key name from tpm2_load"
    primary_qname=$(qualified_name "$RH_OWNER" "$(name_of primary.pub)")
    check_readpublic primary "$alg" "$primary_qname" "${attributes[primary]}"
    check_readpublic key "$alg" "$(qualified_name "$primary_qname" "$(name_of key.pub)")" "${attributes[key]}"
  done
}

# check_readpublic OBJECT ALG QNAME ATTRIBUTES: tpm2_readpublic of OBJECT.ctx agrees with OBJECT.pub
check_readpublic() {
  tpm2_readpublic -c "$1.ctx" -o "$1.read" -n "$1.name" -q "$1.qname" >"$1.yaml"
  expect_same_file "$1.read" "$1.pub" "$2 $1 public area"
  expect_eq "$(hex "$1.name")" "$(name_of "$1.pub")" "$2 $1 name"
  expect_eq "$(yaml "$1.yaml" name)" "$(name_of "$1.pub")" "$2 $1 name (YAML)"
  expect_eq "$(hex "$1.qname")" "$3" "$2 $1 qualified name"
  expect_eq "$(yaml "$1.yaml" type.value)" "$2" "$2 $1 type"
  expect_eq "$(yaml "$1.yaml" attributes.value)" "$4" "$2 $1 attributes"
}

scenario_seal_pcr() {
  storage_primary
  random_file secret.dat 32
  tpm2_createpolicy --policy-pcr -l "sha256:$PCR" -L pcr.policy >/dev/null
  expect_eq "$(hex pcr.policy)" "$(pcr_policy_digest)" "PolicyPCR digest"
  seal secret.dat -L pcr.policy
  expect_unsealed secret.dat "pcr:sha256:$PCR"
  expect_refused "$RC_AUTH_UNAVAILABLE" "unseal with a password (policy-only object)" tpm2_unseal -c seal.ctx
  extend_pcr
  expect_refused "$RC_POLICY_FAIL" "unseal after PCR $PCR changed" tpm2_unseal -c seal.ctx -p "pcr:sha256:$PCR"
}

scenario_seal_password() {
  storage_primary
  random_file secret.dat 48
  seal secret.dat -p s3cret
  expect_unsealed secret.dat s3cret
  expect_unsealed secret.dat hex:733363726574
  expect_auth_fail "unseal with a wrong password" tpm2_unseal -c seal.ctx -p wrong
  expect_auth_fail "unseal without password" tpm2_unseal -c seal.ctx
}

scenario_quote() {
  local alg nonce pcr pcrs
  for alg in rsa ecc; do
    ek_and_ak "$alg"
    extend_pcr
    nonce=$(random_hex 16)
    tpm2_quote -c ak.ctx -l "sha256:0,1,2,$PCR" -q "$nonce" -g sha256 -m quote.msg -s quote.sig -o quote.pcrs >/dev/null
    expect_eq "$(head -c 6 quote.msg | hex)" ff5443478018 "$alg quote magic and type"
    tpm2_checkquote -u ak.pub -m quote.msg -s quote.sig -f quote.pcrs -g sha256 -q "$nonce" >/dev/null
    expect_refused any "$alg checkquote with a wrong nonce" \
      tpm2_checkquote -u ak.pub -m quote.msg -s quote.sig -f quote.pcrs -g sha256 -q "$(random_hex 16)"
    pcr=$(pcr_hex sha256) pcrs=$(hex quote.pcrs)
    pcrs=${pcrs%%"$pcr"*}
    (($(stat -c %s quote.pcrs) * 2 > ${#pcrs})) || fail "$alg quote: PCR $PCR value not in the PCR file"
    tamper quote.pcrs $((${#pcrs} / 2))
    expect_refused any "$alg checkquote with a tampered PCR value" \
      tpm2_checkquote -u ak.pub -m quote.msg -s quote.sig -f quote.pcrs -g sha256 -q "$nonce"
  done
}

scenario_credential() {
  local alg
  for alg in rsa ecc; do
    ek_and_ak "$alg"
    expect_eq "$(tpm2_readpublic -c ek.ctx | yaml - 'authorization policy')" "$(endorsement_policy)" "$alg EK policy"
    random_file secret.dat 32
    tpm2_makecredential -T none -u ek.pub -s secret.dat -n "$(hex ak.name)" -o credential.blob >/dev/null
    activate_credential
    expect_same_file activated.dat secret.dat "$alg activated credential"
    tpm2_makecredential -T none -u ek.pub -s secret.dat -n "$(name_of ek.pub)" -o credential.blob >/dev/null
    expect_refused "$RC_INTEGRITY" "$alg credential made for another name" activate_credential
  done
}

# Usable in conditions.
activate_credential() {
  local rc=0
  { tpm2_startauthsession --policy-session -S session.ctx && policy secret -c e &&
    tpm2_activatecredential -c ak.ctx -C ek.ctx -i credential.blob -o activated.dat -P session:session.ctx; } || rc=$?
  command tpm2_flushcontext session.ctx 2>/dev/null || true
  return "$rc"
}

scenario_nv() {
  local attributes name first
  nv_define "$NV_INDEX" -s 32 -a "ownerread|ownerwrite"
  tpm2_nvreadpublic "$NV_INDEX" >public.yaml
  expect_eq "$(yaml public.yaml "$NV_INDEX.size")" 32 "NV size"
  attributes=$(yaml public.yaml "$NV_INDEX.attributes.value")
  name=000b$(hash_hex sha256 "$(printf '%08x000b%08x00000020' "$NV_INDEX" "$attributes")")
  expect_eq "$(yaml public.yaml "$NV_INDEX.name")" "$name" "NV name"
  expect_refused "$RC_NV_UNINITIALIZED" "nvread before any write" tpm2_nvread "$NV_INDEX" -C o -s 32
  random_file data.bin 32
  tpm2_nvwrite "$NV_INDEX" -C o -i data.bin
  tpm2_nvread "$NV_INDEX" -C o -s 32 -o read.bin
  expect_same_file read.bin data.bin "NV contents"
  random_file patch.bin 4
  tpm2_nvwrite "$NV_INDEX" -C o -i patch.bin --offset 8
  tpm2_nvread "$NV_INDEX" -C o -s 4 --offset 8 -o read.bin
  expect_same_file read.bin patch.bin "NV contents at offset 8"
  expect_eq "$(tpm2_nvreadpublic "$NV_INDEX" | yaml - "$NV_INDEX.attributes.friendly")" \
    "ownerwrite|ownerread|written" "NV attributes after write"
  expect_refused "$RC_NV_DEFINED" "defining an index twice" tpm2_nvdefine "$NV_INDEX" -C o -s 32

  nv_define "$NV_COUNTER" -s 8 -a "nt=counter|ownerread|ownerwrite"
  tpm2_nvincrement "$NV_COUNTER" -C o
  first=$(tpm2_nvread "$NV_COUNTER" -C o -s 8 | hex)
  tpm2_nvincrement "$NV_COUNTER" -C o
  expect_eq "$(tpm2_nvread "$NV_COUNTER" -C o -s 8 | hex)" "$(printf '%016x' $((0x$first + 1)))" "counter after increment"
  expect_refused "$RC_ATTRIBUTES" "nvwrite to a counter" tpm2_nvwrite "$NV_COUNTER" -C o -i patch.bin

  tpm2_nvundefine "$NV_INDEX" -C o
  tpm2_nvundefine "$NV_COUNTER" -C o
  expect_refused "$RC_HANDLE" "nvreadpublic of an undefined index" tpm2_nvreadpublic "$NV_INDEX"
}

scenario_getcap() {
  local cap key
  local -A expected=(
    [algorithms]="rsa sha1 hmac aes mgf1 keyedhash sha256 sha384 rsassa rsaes rsapss oaep ecdsa ecdh kdf1_sp800_56a
      kdf1_sp800_108 ecc cfb"
    [commands]="TPM2_CC_Startup TPM2_CC_CreatePrimary TPM2_CC_Create TPM2_CC_Load TPM2_CC_Unseal TPM2_CC_Quote
      TPM2_CC_PCR_Extend TPM2_CC_PCR_Read TPM2_CC_NV_DefineSpace TPM2_CC_StartAuthSession TPM2_CC_PolicyPCR
      TPM2_CC_PolicySecret TPM2_CC_ActivateCredential TPM2_CC_MakeCredential TPM2_CC_GetCapability"
    [ecc-curves]="TPM2_ECC_NIST_P256 TPM2_ECC_NIST_P384"
  )
  for cap in "${!expected[@]}"; do
    tpm2_getcap "$cap" >"$cap.yaml"
    for key in ${expected[$cap]}; do
      grep -q "^$key:" "$cap.yaml" || fail "getcap $cap: $key missing"
    done
  done
  expect_eq "$(($(getcap algorithms sha256.value)))" 11 "sha256 algorithm id"
  expect_eq "$(($(getcap commands TPM2_CC_Unseal.commandIndex)))" $((0x15e)) "Unseal command index"
  tpm2_getcap pcrs | grep "^  - sha256: \[ 0, 1, 2, .* 23 \]" >/dev/null || fail "getcap pcrs: sha256 bank of 24 PCRs missing"
  tpm2_getcap properties-fixed >fixed.yaml
  expect_eq "$(yaml fixed.yaml TPM2_PT_FAMILY_INDICATOR.value)" '"2.0"' "TPM2_PT_FAMILY_INDICATOR"
  (($(yaml fixed.yaml TPM2_PT_PCR_COUNT.raw) >= 24)) || fail "TPM2_PT_PCR_COUNT < 24"
  [[ -n $(yaml fixed.yaml TPM2_PT_MANUFACTURER.value) ]] || fail "TPM2_PT_MANUFACTURER missing"
  tpm2_getcap properties-variable >variable.yaml
  for key in ownerAuthSet endorsementAuthSet lockoutAuthSet inLockout; do
    expect_eq "$(yaml variable.yaml "TPM2_PT_PERMANENT.$key")" 0 "TPM2_PT_PERMANENT.$key"
  done
  for key in shEnable ehEnable; do
    expect_eq "$(yaml variable.yaml "TPM2_PT_STARTUP_CLEAR.$key")" 1 "TPM2_PT_STARTUP_CLEAR.$key"
  done
  expect_eq "$(tpm2_getcap handles-persistent)" "" "persistent handles of a fresh TPM"
}

scenario_hash_random() {
  local size
  for size in 100 5000; do
    random_file data.bin "$size"
    tpm2_hash -g sha256 -o digest.bin -t ticket.bin data.bin
    expect_eq "$(hex digest.bin)" "$(file_hash sha256 data.bin)" "sha256 of $size bytes"
    expect_eq "$(head -c 6 ticket.bin | hex)" "8024$RH_OWNER" "hashcheck ticket of $size bytes"
    expect_eq "$((0x$(xxd -p -s 6 -l 2 ticket.bin)))" "$(($(stat -c %s ticket.bin) - 8))" \
      "hashcheck ticket digest size"
  done
  tpm2_hash -g sha1 -C n -o digest.bin -t ticket.bin data.bin
  expect_eq "$(hex digest.bin)" "$(file_hash sha1 data.bin)" "sha1 digest"
  expect_eq "$(hex ticket.bin)" "$NULL_TICKET" "null-hierarchy ticket"
  printf '\xffTCG data that looks like an attestation' >tcg.bin
  tpm2_hash -g sha256 -o digest.bin -t ticket.bin tcg.bin
  expect_eq "$(hex ticket.bin)" "$NULL_TICKET" "ticket for data starting with TPM_GENERATED_VALUE"

  tpm2_getrandom -o random1.bin 32
  tpm2_getrandom -o random2.bin 32
  expect_eq "$(stat -c %s random1.bin)" 32 "getrandom length"
  expect_ne "$(hex random1.bin)" "$(hex random2.bin)" "second getrandom"
  expect_eq "$(tpm2_getrandom --hex 20 | wc -c)" 40 "getrandom --hex length"
}

scenario_sign_verify() {
  local alg scheme
  local -a openssl_options
  storage_primary
  echo "message to sign" >message.txt
  for spec in rsa:rsassa rsa:rsapss ecc:ecdsa; do
    alg=${spec%:*} scheme=${spec#*:}
    tpm2_create -C primary.ctx -G "$alg" -c key.ctx -u key.pub -r key.priv >/dev/null
    tpm2_readpublic -c key.ctx -f pem -o key.pem >/dev/null
    tpm2_sign -c key.ctx -g sha256 -s "$scheme" -o signature.tss message.txt
    tpm2_verifysignature -c key.ctx -g sha256 -m message.txt -s signature.tss -t verified.tkt
    expect_eq "$(head -c 6 verified.tkt | hex)" "8022$RH_OWNER" "$scheme verification ticket"
    tpm2_sign -c key.ctx -g sha256 -s "$scheme" -f plain -o signature.plain message.txt
    openssl_options=()
    [[ $scheme == rsapss ]] && openssl_options=(-sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:auto)
    openssl dgst -sha256 -verify key.pem -signature signature.plain "${openssl_options[@]}" message.txt >/dev/null ||
      fail "$scheme signature rejected by openssl"
    cp message.txt tampered.txt
    tamper tampered.txt
    expect_refused "$RC_SIGNATURE" "$scheme verifysignature of a tampered message" \
      tpm2_verifysignature -c key.ctx -g sha256 -m tampered.txt -s signature.tss
  done
}

scenario_rsa_encrypt() {
  storage_primary
  tpm2_create -C primary.ctx -G rsa2048 -c key.ctx -u key.pub -r key.priv >/dev/null
  tpm2_readpublic -c key.ctx -f pem -o key.pem >/dev/null
  random_file plain.bin 40
  local scheme
  local -A padding=([oaep]="rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256" [rsaes]=rsa_padding_mode:pkcs1)
  for scheme in oaep rsaes; do
    tpm2_rsaencrypt -c key.ctx -s "$scheme" -o cipher1.bin plain.bin
    tpm2_rsaencrypt -c key.ctx -s "$scheme" -o cipher2.bin plain.bin
    expect_ne "$(hex cipher1.bin)" "$(hex cipher2.bin)" "$scheme ciphertext of the same message"
    tpm2_rsadecrypt -c key.ctx -s "$scheme" -o decrypted.bin cipher1.bin
    expect_same_file decrypted.bin plain.bin "$scheme round trip"
    # shellcheck disable=SC2086 # the padding options are words
    openssl pkeyutl -encrypt -pubin -inkey key.pem -pkeyopt ${padding[$scheme]} -in plain.bin -out cipher.ossl
    tpm2_rsadecrypt -c key.ctx -s "$scheme" -o decrypted.bin cipher.ossl
    expect_same_file decrypted.bin plain.bin "$scheme decryption of an openssl ciphertext"
  done
}

scenario_contexts() {
  tpm2_createprimary -C o -G ecc -c primary.ctx >/dev/null
  tpm2_readpublic -c primary.ctx -n primary.name >/dev/null
  tpm2_create -C primary.ctx -G ecc -u key.pub -r key.priv >/dev/null
  tpm2_load -C primary.ctx -u key.pub -r key.priv -c key.ctx >/dev/null
  tpm2_load -C primary.ctx -u key.pub -r key.priv -c key2.ctx >/dev/null
  tpm2_sign -c key.ctx -g sha256 -o signature.tss key.pub
  tpm2_verifysignature -c key2.ctx -g sha256 -m key.pub -s signature.tss
  defer tpm2_evictcontrol -C o -c "$PERSISTENT"
  tpm2_evictcontrol -C o -c primary.ctx "$PERSISTENT" >/dev/null
  tpm2_getcap handles-persistent | grep -x -- "- $PERSISTENT" >/dev/null || fail "$PERSISTENT not listed as persistent"
  tpm2_readpublic -c "$PERSISTENT" -n persistent.name >/dev/null
  expect_same_file persistent.name primary.name "name of the persistent primary"
  tpm2_load -C "$PERSISTENT" -u key.pub -r key.priv -c key3.ctx >/dev/null
  tpm2_verifysignature -c key3.ctx -g sha256 -m key.pub -s signature.tss
  expect_refused "$RC_NV_DEFINED" "persisting into an occupied handle" tpm2_evictcontrol -C o -c primary.ctx "$PERSISTENT"
  tpm2_evictcontrol -C o -c "$PERSISTENT" >/dev/null
  expect_eq "$(tpm2_getcap handles-persistent)" "" "persistent handles after evict"
  expect_refused "$RC_HANDLE" "readpublic of an evicted handle" tpm2_readpublic -c "$PERSISTENT"
}

scenario_changeauth() {
  check_hierarchy_changeauth o "$OWNER_PW" ownerAuthSet
  check_hierarchy_changeauth e "$ENDORSEMENT_PW" endorsementAuthSet
  storage_primary
  random_file secret.dat 16
  seal secret.dat -p old-pw
  tpm2_changeauth -c seal.ctx -C primary.ctx -p old-pw -r new.priv new-pw
  tpm2_load -C primary.ctx -u seal.pub -r new.priv -c seal.ctx >/dev/null
  expect_unsealed secret.dat new-pw
  expect_auth_fail "unseal with the password before changeauth" tpm2_unseal -c seal.ctx -p old-pw
}

# check_hierarchy_changeauth HIERARCHY PASSWORD PERMANENT-FLAG
check_hierarchy_changeauth() {
  tpm2_changeauth -c "$1" "$2"
  expect_eq "$(permanent "$3")" 1 "$3 after changeauth"
  expect_refused "$RC_BAD_AUTH" "$1 hierarchy with the old (empty) auth" tpm2_createprimary -C "$1" -G ecc -c primary.ctx
  tpm2_createprimary -C "$1" -P "$2" -G ecc -c primary.ctx >/dev/null
  tpm2_changeauth -c "$1" -p "$2"
  expect_eq "$(permanent "$3")" 0 "$3 after reset"
  tpm2_createprimary -C "$1" -G ecc -c primary.ctx >/dev/null
}

scenario_clear() {
  tpm2_createprimary -C o -G ecc -c primary.ctx -o owner-before.pub >/dev/null
  tpm2_createprimary -C e -G ecc -c endorsement.ctx -o endorsement-before.pub >/dev/null
  tpm2_evictcontrol -C o -c primary.ctx "$PERSISTENT" >/dev/null
  nv_define "$NV_INDEX" -s 8 -a "ownerread|ownerwrite"
  tpm2_changeauth -c o "$OWNER_PW"
  tpm2_changeauth -c l "$LOCKOUT_PW"
  tpm2_clearcontrol -C l -P "$LOCKOUT_PW" s
  expect_eq "$(permanent disableClear)" 1 "disableClear after clearcontrol"
  expect_refused "$RC_DISABLED" "clear while disabled" tpm2_clear -c l "$LOCKOUT_PW"
  tpm2_clearcontrol -C p c
  tpm2_clear -c l "$LOCKOUT_PW"
  expect_eq "$(tpm2_getcap handles-persistent)" "" "persistent handles after clear"
  expect_refused "$RC_HANDLE" "NV index after clear" tpm2_nvreadpublic "$NV_INDEX"
  expect_eq "$(permanent ownerAuthSet)" 0 "ownerAuthSet after clear"
  expect_eq "$(permanent lockoutAuthSet)" 0 "lockoutAuthSet after clear"
  tpm2_createprimary -C o -G ecc -c primary.ctx -o owner-after.pub >/dev/null
  expect_ne "$(name_of owner-after.pub)" "$(name_of owner-before.pub)" "owner primary after clear (new seed)"
  tpm2_createprimary -C e -G ecc -c endorsement.ctx -o endorsement-after.pub >/dev/null
  expect_same_file endorsement-after.pub endorsement-before.pub "endorsement primary after clear"
}

scenario_dictionary_lockout() {
  local max interval recovery
  max=$(getcap properties-variable TPM2_PT_MAX_AUTH_FAIL)
  interval=$(getcap properties-variable TPM2_PT_LOCKOUT_INTERVAL)
  recovery=$(getcap properties-variable TPM2_PT_LOCKOUT_RECOVERY)
  defer tpm2_dictionarylockout -s -n "$((max))" -t "$((interval))" -l "$((recovery))"
  tpm2_dictionarylockout -s -n 5 -t 6 -l 7
  tpm2_getcap properties-variable >variable.yaml
  expect_eq "$(yaml variable.yaml TPM2_PT_MAX_AUTH_FAIL)" 0x5 "TPM2_PT_MAX_AUTH_FAIL"
  expect_eq "$(yaml variable.yaml TPM2_PT_LOCKOUT_INTERVAL)" 0x6 "TPM2_PT_LOCKOUT_INTERVAL"
  expect_eq "$(yaml variable.yaml TPM2_PT_LOCKOUT_RECOVERY)" 0x7 "TPM2_PT_LOCKOUT_RECOVERY"
  storage_primary
  random_file secret.dat 16
  seal secret.dat -p s3cret
  expect_refused "$RC_AUTH_FAIL" "wrong password" tpm2_unseal -c seal.ctx -p wrong
  expect_refused "$RC_AUTH_FAIL" "wrong password" tpm2_unseal -c seal.ctx -p wrong
  expect_eq "$(getcap properties-variable TPM2_PT_LOCKOUT_COUNTER)" 0x2 "lockout counter after 2 failures"
  tpm2_dictionarylockout -c
  expect_eq "$(getcap properties-variable TPM2_PT_LOCKOUT_COUNTER)" 0x0 "lockout counter after reset"
  seal secret.dat -p s3cret -a "fixedtpm|fixedparent|userwithauth|noda"
  expect_refused "$RC_BAD_AUTH" "wrong password, noDA object" tpm2_unseal -c seal.ctx -p wrong
  expect_eq "$(getcap properties-variable TPM2_PT_LOCKOUT_COUNTER)" 0x0 "lockout counter after a noDA failure"
}

scenario_sessions() {
  local salt
  nv_define "$NV_INDEX" -s 32 -a "ownerread|ownerwrite"
  tpm2_startauthsession --hmac-session -S session.ctx
  tpm2_sessionconfig session.ctx --enable-encrypt --enable-decrypt
  expect_eq "$(tpm2_sessionconfig session.ctx | yaml - Session-Attributes)" "continuesession|decrypt|encrypt" \
    "session attributes"
  tpm2_getrandom -S session.ctx -o random.bin 32
  expect_eq "$(stat -c %s random.bin)" 32 "getrandom length with an encrypting session"
  check_encrypted_nv "unsalted session"
  tpm2_flushcontext session.ctx
  for salt in rsa ecc; do
    storage_primary "$salt"
    tpm2_startauthsession --hmac-session --tpmkey-context primary.ctx -S session.ctx
    tpm2_sessionconfig session.ctx --enable-encrypt --enable-decrypt
    check_encrypted_nv "$salt-salted session"
    tpm2_flushcontext session.ctx
  done
  # A session bound to the owner hierarchy: its HMACs for the owner leave out the authValue,
  # which is already in the session key (Part 1 §19.6.11), but the parameter-encryption key
  # still includes it (Part 1 §21.2), so the tools are given the password too.
  tpm2_changeauth -c o "$OWNER_PW"
  tpm2_startauthsession --hmac-session --bind-context o --bind-auth "$OWNER_PW" --tpmkey-context primary.ctx -S session.ctx
  tpm2_sessionconfig session.ctx --enable-encrypt --enable-decrypt
  check_encrypted_nv "salted session bound to the owner" "+$OWNER_PW"
  tpm2_flushcontext session.ctx
  tpm2_changeauth -c o -p "$OWNER_PW"
}

# check_encrypted_nv WHAT [+PASSWORD]: NV write and read of the owner index through
# session.ctx, parameters encrypted both ways.
check_encrypted_nv() {
  random_file data.bin 32
  tpm2_nvwrite "$NV_INDEX" -C o -P "session:session.ctx${2:-}" -i data.bin
  tpm2_nvread "$NV_INDEX" -C o -P "session:session.ctx${2:-}" -s 32 -o read.bin
  expect_same_file read.bin data.bin "NV contents through the $1"
}

policy_pcr() { policy pcr -l "sha256:$PCR"; }

# Storage primary and a random secret.dat to seal.
sealing_setup() {
  storage_primary
  random_file secret.dat 32
}

# expect_policy_unseal WHAT AUTH CMD...: unseal_with AUTH CMD... gives back secret.dat
expect_policy_unseal() {
  local what=$1
  shift
  unseal_with "$@"
  expect_same_file unsealed.dat secret.dat "unsealed with $what"
}

scenario_policy_commandcode() {
  sealing_setup
  trial command.policy policy commandcode TPM2_CC_Unseal
  expect_eq "$(hex command.policy)" "$(hash_hex sha256 "$ZERO_DIGEST" "$CC_POLICY_COMMAND_CODE" "$CC_UNSEAL")" \
    "PolicyCommandCode digest"
  seal secret.dat -L command.policy
  expect_policy_unseal PolicyCommandCode "" policy commandcode TPM2_CC_Unseal
  expect_refused "$RC_POLICY_FAIL" "unseal with an empty policy session" unseal_with "" true
}

scenario_policy_authvalue() {
  sealing_setup
  trial authvalue.policy policy authvalue
  trial password.policy policy password
  expect_eq "$(hex authvalue.policy)" "$(hash_hex sha256 "$ZERO_DIGEST" "$CC_POLICY_AUTH_VALUE")" "PolicyAuthValue digest"
  expect_same_file password.policy authvalue.policy "PolicyPassword digest"
  seal secret.dat -L authvalue.policy -p s3cret
  expect_policy_unseal PolicyAuthValue +s3cret policy authvalue
  expect_auth_fail "PolicyAuthValue with a wrong password" unseal_with +wrong policy authvalue
  expect_policy_unseal PolicyPassword +s3cret policy password
  expect_auth_fail "PolicyPassword with a wrong password" unseal_with +wrong policy password
}

policy_or_pcr() { policy_pcr && policy or -l sha256:pcr.policy,password.policy; }

policy_or_password() { policy password && policy or -l sha256:pcr.policy,password.policy; }

scenario_policy_or() {
  sealing_setup
  trial pcr.policy policy_pcr
  trial password.policy policy password
  trial or.policy policy or -l sha256:pcr.policy,password.policy
  expect_eq "$(hex or.policy)" "$(hash_hex sha256 "$ZERO_DIGEST" "$CC_POLICY_OR" "$(hex pcr.policy)" "$(hex password.policy)")" \
    "PolicyOR digest"
  seal secret.dat -L or.policy -p s3cret
  expect_policy_unseal "PolicyOR, PCR branch" "" policy_or_pcr
  extend_pcr
  expect_refused "$RC_VALUE" "PolicyOR, PCR branch after PCR $PCR changed" unseal_with "" policy_or_pcr
  expect_policy_unseal "PolicyOR, password branch" +s3cret policy_or_password
}

policy_authorized_pcr() {
  policy_pcr && policy authorize -i pcr.policy -n authority.name -t authorized.tkt
}

# The policy authority is an openssl key; its approval of a PCR policy is checked by the TPM.
scenario_policy_authorize() {
  sealing_setup
  openssl genrsa -out authority.pem 2048 2>/dev/null
  openssl rsa -in authority.pem -pubout -out authority.pub.pem 2>/dev/null
  tpm2_loadexternal -C o -G rsa -u authority.pub.pem -c authority.ctx -n authority.name >/dev/null
  trial authorize.policy policy authorize -n authority.name
  expect_eq "$(hex authorize.policy)" \
    "$(policy_update "$ZERO_DIGEST" "$CC_POLICY_AUTHORIZE" "$(hex authority.name)")" "PolicyAuthorize digest"
  seal secret.dat -L authorize.policy
  trial pcr.policy policy_pcr
  openssl dgst -sha256 -sign authority.pem -out pcr.policy.sig pcr.policy
  tpm2_verifysignature -c authority.ctx -g sha256 -m pcr.policy -s pcr.policy.sig -f rsassa -t authorized.tkt
  expect_policy_unseal "PolicyAuthorize of a PCR policy" "" policy_authorized_pcr
  extend_pcr
  expect_refused "$RC_VALUE" "PolicyAuthorize of the PCR policy after PCR $PCR changed" unseal_with "" policy_authorized_pcr
}

scenario_policy_secret() {
  sealing_setup
  trial endorsement.policy policy secret -c e
  expect_eq "$(hex endorsement.policy)" "$(endorsement_policy)" "PolicySecret(endorsement) digest"
  seal secret.dat -L endorsement.policy
  expect_policy_unseal "PolicySecret(endorsement)" "" policy secret -c e
  tpm2_changeauth -c e "$ENDORSEMENT_PW"
  expect_refused "$RC_BAD_AUTH" "PolicySecret with the old endorsement auth" unseal_with "" policy secret -c e
  expect_policy_unseal "PolicySecret(endorsement) with its new auth" "" policy secret -c e "$ENDORSEMENT_PW"
}

scenario_readclock() {
  local first second
  tpm2_readclock >first.yaml
  sleep 0.2
  tpm2_readclock >second.yaml
  first=$(yaml first.yaml time) second=$(yaml second.yaml time)
  ((second >= first + 150)) || fail "time advanced by $((second - first)) ms in 200 ms"
  (($(yaml second.yaml clock_info.clock) >= $(yaml first.yaml clock_info.clock))) || fail "clock went back"
  expect_eq "$(yaml second.yaml clock_info.safe)" yes "clock_info.safe"
  expect_eq "$(yaml second.yaml clock_info.reset_count)" "$(yaml first.yaml clock_info.reset_count)" "reset_count"
  expect_eq "$(yaml second.yaml clock_info.restart_count)" "$(yaml first.yaml clock_info.restart_count)" "restart_count"
}

# Part 2 §10.12.12: an attestation by an endorsement-hierarchy key carries the reset and
# restart counts and the firmware version in plain text; one by a storage-hierarchy key carries
# them offset by a value fixed for that key.
scenario_attest_obfuscation() {
  local h reset restart firmware
  tpm2_readclock >clock.yaml
  reset=$(yaml clock.yaml clock_info.reset_count) restart=$(yaml clock.yaml clock_info.restart_count)
  # tpm2_print (tpm2-tools 5.4) shows firmwareVersion as the bytes of a little-endian UINT64.
  firmware=$(printf '%08x%08x' "$(getcap properties-fixed TPM2_PT_FIRMWARE_VERSION_1.raw)" \
    "$(getcap properties-fixed TPM2_PT_FIRMWARE_VERSION_2.raw)" | fold -w 2 | tac | tr -d '\n')
  for h in e o; do
    tpm2_createprimary -C "$h" -G ecc256:ecdsa-sha256:null -c "$h.ctx" \
      -a 'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|restricted|sign' >/dev/null
    tpm2_quote -c "$h.ctx" -l sha256:0 -q 0102 -m "$h.msg" -s "$h.sig" >/dev/null
    tpm2_quote -c "$h.ctx" -l sha256:0 -q 0102 -m "$h-again.msg" -s "$h-again.sig" >/dev/null
    tpm2_flushcontext -t
    tpm2_print -t TPMS_ATTEST "$h.msg" >"$h.yaml"
    tpm2_print -t TPMS_ATTEST "$h-again.msg" >"$h-again.yaml"
  done
  expect_eq "$(yaml e.yaml clockInfo.resetCount)" "$reset" "resetCount by an endorsement key"
  expect_eq "$(yaml e.yaml clockInfo.restartCount)" "$restart" "restartCount by an endorsement key"
  expect_eq "$(yaml e.yaml firmwareVersion)" "$firmware" "firmwareVersion by an endorsement key"
  expect_ne "$(yaml o.yaml clockInfo.resetCount)" "$reset" "resetCount by a storage key"
  expect_ne "$(yaml o.yaml clockInfo.restartCount)" "$restart" "restartCount by a storage key"
  expect_ne "$(yaml o.yaml firmwareVersion)" "$firmware" "firmwareVersion by a storage key"
  expect_eq "$(yaml o-again.yaml clockInfo.resetCount)" "$(yaml o.yaml clockInfo.resetCount)" "resetCount, same storage key again"
  expect_eq "$(yaml o-again.yaml firmwareVersion)" "$(yaml o.yaml firmwareVersion)" "firmwareVersion, same storage key again"
}

wrap_tools
main "$@"
