# The Python SDK (azure-keyvault-secrets, azure-identity) calling vaults by their real names
# (https://<vault>.vault.azure.net) through the emulator's HTTPS proxy, from chosen source addresses, so
# one process is both inside and outside a vault's network rules. Run by
# contracts/test/network-rules-python.test.ts with exactly the environment `kv-emulator env --proxy`
# prints (proxy, CA bundle, tenant and the app's identity); the test's plan is the one argument.
#
# Where the emulator sees a request come from, behind its own proxy, is the proxy client's TCP address:
# here the address this process's connection to the proxy is bound to. requests lets a transport adapter
# add urllib3's `source_address` to its pools, including the proxy pools (`proxy_manager_for`), and
# azure-core takes that session (RequestsTransport(session=...)). Linux routes all of 127.0.0.0/8 to
# loopback, so binding 127.0.0.7 and connecting to the proxy on 127.0.0.1 works without any setup.
# (Where `localhost`, the proxy's host in HTTPS_PROXY, also names ::1, urllib3 moves on to 127.0.0.1:
# an IPv4 source address cannot be bound to an IPv6 socket.)
#
#   python3 network_rules_app.py '<plan>'
#   plan: {"steps": [{"vault", "from", "as": "app" | "<principal key>" | "bad-token", "op": "set" | "get",
#                     "name", "value"?}],
#          "principals": {"<key>": {"client_id", "client_secret"}}}
# Prints one JSON line: {"steps": [what each step saw]} (or {"error"} if the app itself failed).
import json
import os
import sys
import time

import requests
from requests.adapters import HTTPAdapter

from azure.core.credentials import AccessToken
from azure.core.exceptions import HttpResponseError
from azure.core.pipeline.transport import RequestsTransport
from azure.identity import ClientSecretCredential, DefaultAzureCredential
from azure.keyvault.secrets import SecretClient


class FromAddress(HTTPAdapter):
    """Connections (to the proxy, and direct ones) leave from `address`."""

    def __init__(self, address):
        self.source_address = (address, 0)
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = self.source_address
        super().init_poolmanager(*args, **kwargs)

    def proxy_manager_for(self, proxy, **kwargs):
        kwargs["source_address"] = self.source_address
        return super().proxy_manager_for(proxy, **kwargs)


class NotAToken:
    """A credential whose token no vault accepts."""

    def get_token(self, *scopes, **kwargs):
        return AccessToken("not-a-token", int(time.time()) + 3600)


def headers_of(response):
    return {
        "network_info": response.headers.get("x-ms-keyvault-network-info"),
        "region": response.headers.get("x-ms-keyvault-region"),
        "www_authenticate": response.headers.get("www-authenticate"),
    }


def failure(error):
    detail = getattr(error, "error", None)
    seen = {
        "type": type(error).__name__,
        "status": error.status_code,
        "code": getattr(detail, "code", None),
        "message": getattr(detail, "message", None),
        "inner": (getattr(detail, "innererror", None) or {}).get("code"),
    }
    if error.response is not None:
        seen["body"] = error.response.text()
        seen.update(headers_of(error.response))
    return seen


def main():
    plan = json.loads(sys.argv[1])
    credentials = {"app": DefaultAzureCredential(), "bad-token": NotAToken()}
    for key, principal in plan.get("principals", {}).items():
        credentials[key] = ClientSecretCredential(os.environ["AZURE_TENANT_ID"], principal["client_id"], principal["client_secret"])
    sessions = {}
    results = []
    for step in plan["steps"]:
        address = step["from"]
        if address not in sessions:
            session = requests.Session()
            adapter = FromAddress(address)
            session.mount("https://", adapter)
            session.mount("http://", adapter)
            sessions[address] = session
        client = SecretClient(
            "https://%s.vault.azure.net" % step["vault"],
            credentials[step.get("as", "app")],
            transport=RequestsTransport(session=sessions[address], session_owner=False),
            retry_total=0,
        )
        last = {}

        def keep(pipeline_response):
            last.update(headers_of(pipeline_response.http_response))

        try:
            if step["op"] == "set":
                secret = client.set_secret(step["name"], step["value"], raw_response_hook=keep)
            else:
                secret = client.get_secret(step["name"], raw_response_hook=keep)
            results.append(dict(last, ok=True, value=secret.value))
        except HttpResponseError as error:
            results.append(failure(error))
    print(json.dumps({"steps": results}))


try:
    main()
except Exception as error:  # what the app would have crashed with
    print(json.dumps({"error": "%s: %s" % (type(error).__name__, error)}))
