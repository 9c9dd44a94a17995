# A Python app as it would run against Azure: the vault URL from AZURE_KEYVAULT_URL, DefaultAzureCredential,
# the real SecretClient (azure-keyvault-secrets, azure-identity). Run by contracts/test/proxy-clients.test.ts
# with exactly the environment `kv-emulator env --proxy` prints, so every request goes through the
# emulator's proxy.
#   python3 proxy_app.py lifecycle <secret name>   set, get, list, delete, get while deleted, recover, and a bad token
#   python3 proxy_app.py denied <secret name>      read, then a write the principal may not make
# Prints one JSON line: what each step saw.
import json
import os
import sys
import time

from azure.core.credentials import AccessToken
from azure.core.exceptions import HttpResponseError
from azure.identity import DefaultAzureCredential
from azure.keyvault.secrets import SecretClient


def failure(error):
    detail = getattr(error, "error", None)
    return {
        "type": type(error).__name__,
        "status": error.status_code,
        "code": getattr(detail, "code", None),
        "message": getattr(detail, "message", None),
        "inner": (getattr(detail, "innererror", None) or {}).get("code"),
    }


class NotAToken:
    """A credential whose token no vault accepts."""

    def get_token(self, *scopes, **kwargs):
        return AccessToken("not-a-token", int(time.time()) + 3600)


def lifecycle(client, name):
    seen = {}
    secret = client.set_secret(name, "written-by-python", content_type="text/plain")
    seen["set"] = {"id": secret.id, "content_type": secret.properties.content_type}
    seen["get"] = client.get_secret(name).value
    seen["listed"] = name in [p.name for p in client.list_properties_of_secrets()]
    deleted = client.begin_delete_secret(name).result()
    seen["delete"] = {"recovery_id": deleted.recovery_id, "has_purge_date": deleted.scheduled_purge_date is not None}
    try:
        client.get_secret(name)
        seen["get_while_deleted"] = "no error"
    except HttpResponseError as error:
        seen["get_while_deleted"] = failure(error)
    recovered = client.begin_recover_deleted_secret(name).result()
    seen["recover"] = recovered.name
    seen["get_after_recover"] = client.get_secret(name).value
    try:
        SecretClient(client.vault_url, NotAToken()).get_secret(name)
        seen["bad_token"] = "no error"
    except HttpResponseError as error:
        seen["bad_token"] = failure(error)
    return seen


def denied(client, name):
    seen = {"get": client.get_secret(name).value}
    try:
        client.set_secret(name, "not allowed")
        seen["set"] = "no error"
    except HttpResponseError as error:
        seen["set"] = failure(error)
    return seen


def main():
    mode, name = sys.argv[1], sys.argv[2]
    client = SecretClient(os.environ["AZURE_KEYVAULT_URL"], DefaultAzureCredential())
    try:
        seen = lifecycle(client, name) if mode == "lifecycle" else denied(client, name)
    except Exception as error:  # what the app would have crashed with
        seen = {"error": "%s: %s" % (type(error).__name__, error)}
    seen["vault_url"] = client.vault_url
    print(json.dumps(seen))


main()
