#!/usr/bin/env bash
# Drive the official OCI CLI against the lab's KMS: the lists the SDK reads as bare arrays of
# summary models (a row of nulls when they are not), and the operations the lab does not model,
# which must fail with the lab's JSON error (never an empty 405 or a 404 "does not exist").
#
# Env:
#   OCI_LAB_DIR                  folder written by hyok_oci_rest::write_cli_config (`env` exporting
#                                OCI_CLI_CONFIG_FILE, REQUESTS_CA_BUNDLE, OCI_LAB_COMPARTMENT_ID,
#                                OCI_LAB_KMS_ENDPOINT, OCI_LAB_KMS_MANAGEMENT_ENDPOINT)
#   OCI_LAB_VAULT_ID             an ACTIVE external vault (served at the management endpoint)
#   OCI_LAB_KEY_ID               an ENABLED key reference in it
#   OCI_LAB_PRIVATE_ENDPOINT_ID  the vault's EKMS private endpoint
#   OCI_CLI                      the `oci` executable (default: oci on PATH)
set -euo pipefail
# shellcheck source=tests/oci-cli/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
KMS=${OCI_LAB_KMS_ENDPOINT:?env file must export OCI_LAB_KMS_ENDPOINT}
MGMT=${OCI_LAB_KMS_MANAGEMENT_ENDPOINT:?env file must export OCI_LAB_KMS_MANAGEMENT_ENDPOINT}
: "${OCI_LAB_VAULT_ID:?}" "${OCI_LAB_KEY_ID:?}" "${OCI_LAB_PRIVATE_ENDPOINT_ID:?}"
C=$OCI_LAB_COMPARTMENT_ID
base=(--config-file "$OCI_CLI_CONFIG_FILE" --profile DEFAULT)

echo "+ oci kms ekm ekms-private-endpoint list"
pes=$("$OCI" kms ekm ekms-private-endpoint list "${base[@]}" --endpoint "$KMS" -c "$C" --all)
expect "$pes" data.0.id "$OCI_LAB_PRIVATE_ENDPOINT_ID" "private endpoint list"
expect "$pes" data.0.lifecycle-state ACTIVE "private endpoint state"
[ "$(printf '%s' "$pes" | field data.0.subnet-id)" != None ] || fail "subnet-id is null: $pes"

echo "+ oci kms management vault list"
vaults=$("$OCI" kms management vault list "${base[@]}" --endpoint "$KMS" -c "$C" --all)
expect "$vaults" data.0.id "$OCI_LAB_VAULT_ID" "vault list"
expect "$vaults" data.0.display-name OCI_EKMS_Vault "vault name"
expect "$vaults" data.0.lifecycle-state ACTIVE "vault state"
expect "$vaults" data.0.vault-type EXTERNAL "vault type"
expect "$vaults" data.0.external-key-manager-metadata-summary.private-endpoint-id "$OCI_LAB_PRIVATE_ENDPOINT_ID" \
  "vault's private endpoint"
named=$("$OCI" kms management vault list "${base[@]}" --endpoint "$KMS" -c "$C" --sort-by DISPLAYNAME \
  --query 'data[].{name: "display-name", state: "lifecycle-state"}' --output table)
expect_in "$named" "OCI_EKMS_Vault" "the vault in the table"

echo "+ oci kms management key list"
keys=$("$OCI" kms management key list "${base[@]}" --endpoint "$MGMT" -c "$C" --all)
expect "$keys" data.0.id "$OCI_LAB_KEY_ID" "key list"
expect "$keys" data.0.lifecycle-state ENABLED "key state"
expect "$keys" data.0.algorithm AES "key algorithm"
expect "$keys" data.0.protection-mode EXTERNAL "protection mode"
expect "$keys" data.0.vault-id "$OCI_LAB_VAULT_ID" "key's vault"

echo "+ oci kms management key-version list"
versions=$("$OCI" kms management key-version list "${base[@]}" --endpoint "$MGMT" --key-id "$OCI_LAB_KEY_ID" --all)
expect "$versions" data.0.key-id "$OCI_LAB_KEY_ID" "key version list"
expect "$versions" data.0.origin EXTERNAL "key version origin"
echo "key-version=$(printf '%s' "$versions" | field data.0.id)"

# not_modelled WHAT CMD...: CMD must fail with the lab's 405 MethodNotAllowed naming the operation.
not_modelled() {
  local what=$1
  shift
  must_fail "$what" "$@"
  expect_in "$bad" MethodNotAllowed "$what: code MethodNotAllowed"
  expect_in "$bad" "is not modelled by the lab" "$what: the lab's reason"
}

echo "+ oci kms management vault update (not modelled)"
not_modelled "vault update" "$OCI" kms management vault update "${base[@]}" --endpoint "$KMS" \
  --vault-id "$OCI_LAB_VAULT_ID" --display-name renamed --force
echo "+ oci kms management vault schedule-deletion (not modelled)"
not_modelled "vault schedule-deletion" "$OCI" kms management vault schedule-deletion "${base[@]}" \
  --endpoint "$KMS" --vault-id "$OCI_LAB_VAULT_ID"
echo "+ oci kms management key update (not modelled)"
not_modelled "key update" "$OCI" kms management key update "${base[@]}" --endpoint "$MGMT" \
  --key-id "$OCI_LAB_KEY_ID" --display-name renamed --force
echo "+ oci kms management key schedule-deletion (not modelled)"
not_modelled "key schedule-deletion" "$OCI" kms management key schedule-deletion "${base[@]}" \
  --endpoint "$MGMT" --key-id "$OCI_LAB_KEY_ID"
echo "CLI OK"
