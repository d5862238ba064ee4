#!/usr/bin/env bash
# Drive the official OCI CLI against the lab's Certificates service and check what it gets back.
#
# Env:
#   OCI_LAB_DIR  folder written by hyok_oci::write_cli_config: `config`, `oci_api_key.pem`, `env`
#                (exports OCI_CLI_CONFIG_FILE, REQUESTS_CA_BUNDLE, OCI_LAB_COMPARTMENT_ID,
#                OCI_LAB_CERTIFICATES_ENDPOINT), and import/{ca,cert,chain,key,wrong_key}.pem
#   OCI_CLI      the `oci` executable (default: oci on PATH)
# The CLI's --endpoint takes only scheme://host[:port]; trust comes from REQUESTS_CA_BUNDLE
# (--cert-bundle does not work for a private root, see shared reference oci-cli-notes.md).
set -euo pipefail
# shellcheck source=tests/oci-cli/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
EP=${OCI_LAB_CERTIFICATES_ENDPOINT:?env file must export OCI_LAB_CERTIFICATES_ENDPOINT}
IMP="$OCI_LAB_DIR/import"
SUFFIX=${OCI_LAB_NAME_SUFFIX:-$$}
common=(--config-file "$OCI_CLI_CONFIG_FILE" --profile DEFAULT --endpoint "$EP")
wait=(--wait-for-state ACTIVE --wait-interval-seconds 1 --max-wait-seconds 60)

echo "+ oci certs-mgmt ca-bundle create"
bundle=$("$OCI" certs-mgmt ca-bundle create "${common[@]}" -c "$OCI_LAB_COMPARTMENT_ID" \
  --name "lab-root-$SUFFIX" --ca-bundle-pem "$(cat "$IMP/ca.pem")" "${wait[@]}")
bundle_id=$(printf '%s' "$bundle" | field data.id)
expect "$bundle" data.lifecycle-state ACTIVE "CA bundle not ACTIVE"
echo "ca-bundle=$bundle_id"

echo "+ oci certs-mgmt ca-bundle get"
got=$("$OCI" certs-mgmt ca-bundle get "${common[@]}" --ca-bundle-id "$bundle_id")
expect "$got" data.name "lab-root-$SUFFIX" "ca-bundle get"

echo "+ oci certs-mgmt certificate create-by-importing-config"
cert=$("$OCI" certs-mgmt certificate create-by-importing-config "${common[@]}" -c "$OCI_LAB_COMPARTMENT_ID" \
  --name "oci-api-gw-$SUFFIX" \
  --certificate-pem "$(cat "$IMP/cert.pem")" \
  --cert-chain-pem "$(cat "$IMP/chain.pem")" \
  --private-key-pem "$(cat "$IMP/key.pem")" "${wait[@]}")
cert_id=$(printf '%s' "$cert" | field data.id)
expect "$cert" data.lifecycle-state ACTIVE "certificate not ACTIVE"
expect "$cert" data.key-algorithm RSA2048 "keyAlgorithm"
printf '%s' "$cert" | grep -q "PRIVATE KEY" && fail "private key returned by the API"
echo "certificate=$cert_id"

echo "+ oci certs-mgmt certificate list --all"
list=$("$OCI" certs-mgmt certificate list "${common[@]}" -c "$OCI_LAB_COMPARTMENT_ID" --all --page-size 1)
"$PY" -c 'import json,sys; items=json.load(sys.stdin)["data"]["items"]; ids=[i["id"] for i in items]; sys.exit(0 if sys.argv[1] in ids else 1)' "$cert_id" <<<"$list" \
  || fail "certificate list does not contain $cert_id: $list"

echo "+ oci certs-mgmt certificate create-by-importing-config (mismatched key, must fail)"
must_fail "mismatched key" "$OCI" certs-mgmt certificate create-by-importing-config "${common[@]}" -c "$OCI_LAB_COMPARTMENT_ID" \
  --name "mismatch-$SUFFIX" \
  --certificate-pem "$(cat "$IMP/cert.pem")" \
  --cert-chain-pem "$(cat "$IMP/chain.pem")" \
  --private-key-pem "$(cat "$IMP/wrong_key.pem")"
expect_in "$bad" '"code": "InvalidParameter"' "InvalidParameter"
expect_in "$bad" '"status": 400' "status 400"

echo "CLI OK"
