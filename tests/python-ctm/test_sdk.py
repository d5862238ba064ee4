#!/usr/bin/env python3
"""Real-client check of the lab's CipherTrust Manager with the PyPI `ciphertrust-sdk`, unchanged.

The SDK (atav928/ciphertrust-sdk, tested with 1.0.17) builds `https://<hostname>/api/v1/...`
URLs without a port, authenticates with the password grant on `/api/v1/auth/tokens`, and reads
`jwt`, `refresh_token`, `refresh_token_id`, `token_type` from the answer. This script:
  1. authenticates (and checks that a wrong password is refused with 401),
  2. lists keys (`vault/keys2/`) and checks the CTM list envelope,
  3. creates an AES-256 key and finds it again by name filter and by `?type=name`.

Inputs (environment or flags):
  CTM_HOST     --host      CTM web interface name   (default ctm1.oci-thales.lab)
  CTM_CA       --ca        PEM file of CTM's root CA (TLS is verified against it)
  CTM_USER     --user      admin user name          (default admin)
  CTM_PASSWORD --password  admin password (lab.json)
  CTM_CONNECT  --connect   optional host:port of the real socket; when set, connections to
                           CTM_HOST:443 go there (the name and TLS verification stay real)

Setup: `pip install ciphertrust-sdk==1.0.17 python-dateutil` (the SDK imports `dateutil`
without declaring it). Exit code 0 when every check passed.
"""

import argparse
import os
import socket
import sys
import uuid


def pin(host: str, connect: str) -> None:
    """Make CTM_HOST:443 resolve to the lab's loopback socket, for this process only."""
    real_host, real_port = connect.rsplit(":", 1)
    real_port = int(real_port)
    original = socket.getaddrinfo

    def getaddrinfo(name, port, *args, **kwargs):
        if isinstance(name, str) and name.lower() == host.lower() and int(port or 443) == 443:
            return original(real_host, real_port, *args, **kwargs)
        return original(name, port, *args, **kwargs)

    socket.getaddrinfo = getaddrinfo


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default=os.environ.get("CTM_HOST", "ctm1.oci-thales.lab"))
    p.add_argument("--ca", default=os.environ.get("CTM_CA"))
    p.add_argument("--user", default=os.environ.get("CTM_USER", "admin"))
    p.add_argument("--password", default=os.environ.get("CTM_PASSWORD"))
    p.add_argument("--connect", default=os.environ.get("CTM_CONNECT"))
    a = p.parse_args()
    if not a.ca or not a.password:
        p.error("CTM_CA and CTM_PASSWORD (or --ca and --password) are required")
    if a.connect:
        pin(a.host, a.connect)

    from ciphertrust.api import API  # imported late: the SDK sets up logging on import

    failures = []

    def check(cond: bool, what: str) -> None:
        print(("ok   " if cond else "FAIL ") + what)
        if not cond:
            failures.append(what)

    # 1. Authentication.
    bad = API(username=a.user, password="Wrong-Passw0rd!", hostname=a.host, verify=a.ca)
    check(bad.auth._response.status_code == 401, f"wrong password refused with 401 (got {bad.auth._response.status_code})")
    api = API(username=a.user, password=a.password, hostname=a.host, verify=a.ca)
    check(api.auth._response.status_code == 200, f"password grant accepted (got {api.auth._response.status_code})")
    check(bool(getattr(api.auth, "token", "")), "management JWT received")
    if failures:
        return 1

    # 2. List keys.
    keys = api.get.call(url_path="vault/keys2/")
    check(all(k in keys for k in ("skip", "limit", "total", "resources")), "keys2 list has skip/limit/total/resources")
    before = keys.get("total", -1)

    # 3. Create a key, find it again.
    name = f"sdk-check-{uuid.uuid4().hex[:8]}"
    created = api.post.call(url_path="vault/keys2/", json={"name": name, "algorithm": "aes", "size": 256})
    check(created.get("name") == name and created.get("state") == "Active", f"created AES-256 key {name}")
    listed = api.get.call(url_path="vault/keys2/", params={"name": name})
    check(listed.get("total") == 1, "key found by name filter")
    by_name = api.get.call(url_path=f"vault/keys2/{name}", params={"type": "name"})
    check(by_name.get("id") == created.get("id"), "key found with ?type=name")
    again = api.get.call(url_path="vault/keys2/")
    check(again.get("total") == before + 1, "total grew by one")

    print("PASS" if not failures else f"{len(failures)} check(s) failed")
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
