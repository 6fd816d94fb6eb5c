"""infra/app/graph-permissions.json: the one table of toolset → delegated Microsoft Graph
permissions that the app registration (entra-app.bicep) requests from, and that the handler's
tools are checked against. Well-formed, consistent, and with exact permission ids."""

from __future__ import annotations

import json
import re

from infra_support import INFRA, bicep

PERMISSIONS_FILE = INFRA / "app" / "graph-permissions.json"
GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

# Delegated permission ids of Microsoft Graph (service principal 00000003-0000-0000-c000-000000000000,
# oauth2PermissionScopes), cross-checked in two independent public dumps of that service principal's
# permission list when this table was written. A value in the data file that appears here must
# carry this id; new values are not required to be listed.
VERIFIED_DELEGATED_IDS = {
    "User.Read": "e1fe6dd8-ba31-4d61-89e7-88639da4683d",
    "MailboxSettings.Read": "87f447af-9fa4-4c32-9dfa-4a57a73d18ce",
    "Calendars.ReadBasic": "662d75ba-a364-42ad-adee-f5f880ea4878",
    "Calendars.Read": "465a38f9-76ea-45b9-9f34-9e8b0d4b0b42",
    "Calendars.Read.Shared": "2b9c4092-424d-4249-948d-b43879977640",
    "Calendars.ReadWrite": "1ec239c2-d7c9-4623-a91a-a9775856bb36",
    "Mail.Read": "570282fd-fa5c-430d-a7fd-fc8dc98a9dca",
    "Mail.Send": "e383f46e-2787-4529-855e-0e479a3ffac0",
    "People.Read": "ba47897c-39ec-4d83-8086-ee8256fa737d",
    "User.ReadBasic.All": "b340eb25-3456-403f-be2f-af7a0d370277",
    "User.Read.All": "a154be20-db9c-4678-8ab7-66f6cc099a59",
    "Files.Read.All": "df85f4d6-205c-4ac5-a5ea-6bf408dba283",
    "Tasks.Read": "f45671fb-e0fe-4b4b-be20-3d3ce43f1bcb",
    "Sites.Read.All": "205e70e5-aba6-4c52-a976-6d2d46c48043",
}

# Application (app-only) permission ids of the same names: a delegated list must never hold one.
APPLICATION_IDS = {
    "df021288-bdef-4463-88db-98f22de89214",  # User.Read.All
    "810c84a8-4a9e-49e6-bf7d-12d183f40d01",  # Mail.Read
    "b633e1c5-b582-4048-a93e-9f11b44c7e96",  # Mail.Send
    "798ee544-9d2d-430c-a058-570e29e34338",  # Calendars.Read
    "ef54d2bf-783f-4e0f-bca1-3210c0444d99",  # Calendars.ReadWrite
    "8ba4a692-bc31-4128-9094-475872af8a53",  # Calendars.ReadBasic.All
}


def toolsets() -> dict[str, list[dict]]:
    document = json.loads(PERMISSIONS_FILE.read_text())
    assert list(document) == ["toolsets"], "the file holds exactly {\"toolsets\": {...}}"
    return document["toolsets"]


def test_the_file_is_well_formed():
    table = toolsets()
    assert table and all(isinstance(name, str) and re.fullmatch(r"[a-z][a-z0-9_-]*", name) for name in table)
    for name, permissions in table.items():
        assert isinstance(permissions, list), name
        for permission in permissions:
            assert set(permission) == {"value", "id"}, (name, permission)
            assert re.fullmatch(r"[A-Z][A-Za-z]+(\.[A-Za-z]+)+", permission["value"]), (name, permission)
            assert GUID.match(permission["id"]), (name, permission)


def test_every_toolset_has_at_least_one_permission_and_none_twice():
    for name, permissions in toolsets().items():
        assert permissions, f"toolset {name} requests no permission"
        values = [p["value"] for p in permissions]
        assert len(values) == len(set(values)), f"toolset {name} lists a permission twice"


def test_each_permission_has_one_id_everywhere_and_each_id_one_permission():
    ids_of: dict[str, set[str]] = {}
    values_of: dict[str, set[str]] = {}
    for permissions in toolsets().values():
        for permission in permissions:
            ids_of.setdefault(permission["value"], set()).add(permission["id"])
            values_of.setdefault(permission["id"], set()).add(permission["value"])
    assert {v: i for v, i in ids_of.items() if len(i) > 1} == {}
    assert {i: v for i, v in values_of.items() if len(v) > 1} == {}


def test_ids_are_the_verified_delegated_ids():
    for name, permissions in toolsets().items():
        for permission in permissions:
            assert permission["id"] not in APPLICATION_IDS, f"{name}: {permission} is an application permission id"
            expected = VERIFIED_DELEGATED_IDS.get(permission["value"])
            assert expected in (None, permission["id"]), f"{name}: {permission['value']} is {expected}, not {permission['id']}"


def test_the_agreed_toolsets_exist_with_write_separate():
    table = toolsets()
    assert set(table) == {"profile", "calendar", "mail", "people", "files", "tasks", "search", "write"}
    # Sending and writing only in the write toolset; every other toolset reads.
    writers = {p["value"] for name, permissions in table.items() if name != "write" for p in permissions if re.search(r"Write|Send", p["value"])}
    assert writers == set()


def test_every_default_toolset_is_in_the_file():
    default = bicep("main.bicep").params["toolsets"].value
    assert set(default.split(",")) <= set(toolsets())
