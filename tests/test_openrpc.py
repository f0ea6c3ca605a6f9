"""rpc.discover: an OpenRPC document from annotations and docstrings, valid against the meta-schema."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Iterator, Optional

import jsonschema
import pytest
import referencing
import requests

import greenrpc
from greenrpc import debugpage, describe, gotypes
from tests import profiles, services
from tests.support import ROOT

# The official OpenRPC meta-schema and the JSON Schema meta-schema it references, vendored
# from the npm packages @open-rpc/meta-schema 1.14.9 (github.com/open-rpc/meta-schema) and
# @json-schema-tools/meta-schema 1.8.0; see tests/openrpc/README.md.
META = ROOT / "tests" / "openrpc"


def meta_validator() -> jsonschema.Draft7Validator:
    openrpc = json.loads((META / "openrpc-meta-schema.json").read_text())
    tools = json.loads((META / "json-schema-tools-meta-schema.json").read_text())
    draft7 = referencing.jsonschema.DRAFT7
    registry: referencing.Registry[Any] = referencing.Registry().with_resources([
        (openrpc["$id"], draft7.create_resource(openrpc)),
        (tools["$id"], draft7.create_resource(tools)),
        ("https://meta.json-schema.tools", draft7.create_resource(tools)),
    ])
    return jsonschema.Draft7Validator(openrpc, registry=registry)


@dataclass
class Node:
    """A tree node; children are nodes too."""

    Name: str
    Children: list[Node] = field(default_factory=list)
    Parent: Optional[Node] = None


@dataclass
class Query:
    Ids: list[gotypes.Uint64]
    Labels: dict[str, str]
    Weights: dict[int, float]
    Level: gotypes.Int8 = 0
    Blob: bytes = b""


class Catalog:
    def Find(self, query: Query, limit: int = 10) -> list[Node]:
        """Find nodes matching the query.

        Results come sorted by name; at most limit of them.
        """
        return []

    def Tree(self, root: Optional[Node]) -> Optional[Node]:
        return root

    def Raw(self, value):  # type: ignore[no-untyped-def]
        return value

    def Named(self, *, key: str, ratio: gotypes.Float32 = 0.5) -> bool:
        return True


@pytest.fixture
def catalog() -> Iterator[greenrpc.Server]:
    server = services.make_server()
    server.register(Catalog())
    server.registry.title = "Catalog"
    server.start("127.0.0.1:0")
    yield server
    server.stop(timeout=5)


def schema_with_components(schema: Any, document: Any) -> Any:
    """A schema whose "#/components/..." references resolve inside the discovered document."""
    return {"components": document.get("components", {}), "allOf": [schema]}


def by_name(document: Any) -> dict[str, Any]:
    return {method["name"]: method for method in document["methods"]}


def test_document_is_valid_openrpc(catalog: greenrpc.Server) -> None:
    with greenrpc.dial(catalog.address, version=2) as client:
        document = client.call("rpc.discover")
    meta_validator().validate(document)
    assert document["openrpc"] == "1.3.2"
    assert document["info"] == {"title": "Catalog", "version": greenrpc.__version__}
    names = [method["name"] for method in document["methods"]]
    assert names == sorted(names) and "rpc.discover" not in names
    assert {"Arith.Multiply", "Calc.v1.Divide", "Catalog.Find", "Slow.Sleep"} <= set(names)


def test_meta_schema_rejects_a_broken_document() -> None:
    with pytest.raises(jsonschema.ValidationError):
        meta_validator().validate({"openrpc": "1.3.2", "info": {"title": "x"}, "methods": []})


def test_annotations_become_json_schema(catalog: greenrpc.Server) -> None:
    document = catalog.registry.discover()
    find = by_name(document)["Catalog.Find"]
    assert find["summary"] == "Find nodes matching the query."
    assert find["description"] == "Results come sorted by name; at most limit of them."
    assert [(p["name"], p["required"]) for p in find["params"]] == [("query", True),
                                                                      ("limit", False)]
    assert find["params"][1]["schema"] == {"type": "integer", "format": "int",
                                           "minimum": -(1 << 63), "maximum": (1 << 63) - 1}
    assert find["result"]["schema"] == {"type": "array",
                                        "items": {"$ref": "#/components/schemas/test_openrpc.Node"}}
    assert find["result"]["x-go-type"] == "[]test_openrpc.Node"
    schemas = document["components"]["schemas"]
    node = schemas["test_openrpc.Node"]
    assert node["description"] == "A tree node; children are nodes too."
    assert node["properties"]["Parent"] == {
        "anyOf": [{"$ref": "#/components/schemas/test_openrpc.Node"}, {"type": "null"}]}
    query = schemas["test_openrpc.Query"]
    assert "description" not in query  # the signature dataclasses write is no description
    assert query["properties"]["Ids"]["items"]["minimum"] == 0
    assert query["properties"]["Ids"]["items"]["maximum"] == (1 << 64) - 1
    assert query["properties"]["Level"]["minimum"] == -128
    assert query["properties"]["Weights"]["propertyNames"] == {"pattern": "^-?[0-9]+$"}
    assert query["properties"]["Blob"] == {"type": "string", "contentEncoding": "base64"}
    methods = by_name(document)
    assert methods["Catalog.Raw"]["params"][0]["schema"] == {}
    assert methods["Catalog.Raw"]["result"] == {"name": "result", "schema": {}}
    assert methods["Catalog.Named"]["paramStructure"] == "by-name"
    assert methods["Arith.Multiply"]["paramStructure"] == "either"


def test_schemas_accept_what_the_method_accepts(catalog: greenrpc.Server) -> None:
    document = catalog.registry.discover()
    query = by_name(document)["Catalog.Find"]["params"][0]["schema"]
    validator = jsonschema.Draft7Validator(schema_with_components(query, document))
    good = {"Ids": [1, 2], "Labels": {"a": "b"}, "Weights": {"-3": 0.5}, "Level": -128,
            "Blob": "AAE="}
    assert validator.is_valid(good)
    assert not validator.is_valid({**good, "Ids": [-1]})
    assert not validator.is_valid({**good, "Level": 128})
    assert not validator.is_valid({**good, "Weights": {"x": 1.0}})
    with greenrpc.dial(catalog.address, version=2) as client:
        assert client.call("Catalog.Find", [good]) == []
        with pytest.raises(greenrpc.ServerError, match="Ids"):
            client.call("Catalog.Find", [{**good, "Ids": [-1]}])


def test_reachable_over_go_dialect_and_http(catalog: greenrpc.Server) -> None:
    with greenrpc.dial(catalog.address) as client:  # Go's net/rpc/jsonrpc dialect
        over_go = client.call("rpc.discover")
    over_http = requests.post(f"http://{catalog.address}/", timeout=5, json={
        "jsonrpc": "2.0", "method": "rpc.discover", "id": 1}).json()["result"]
    assert over_go == over_http == catalog.registry.discover()


def test_not_listed_on_the_debug_page_or_in_metrics(catalog: greenrpc.Server) -> None:
    with greenrpc.dial(catalog.address) as client:
        client.call("rpc.discover")
    assert "rpc.discover" not in requests.get(f"http://{catalog.address}/metrics", timeout=5).text
    assert "discover" not in requests.get(f"http://{catalog.address}/debug/rpc", timeout=5).text
    with greenrpc.dial(catalog.address) as client:
        with pytest.raises(greenrpc.ServerError, match="can't find service rpc.nothing"):
            client.call("rpc.nothing")


def test_go_types_and_names_in_the_document() -> None:
    registry = profiles.make_server().registry
    document = registry.discover()
    meta_validator().validate(document)
    schemas = document["components"]["schemas"]
    profile = schemas["profiles.Profile"]
    # properties: the JSON view, embedded structs' fields promoted; x-go-fields: the Go struct.
    assert list(profile["properties"])[:5] == ["id", "created_at", "By", "note", "user_id"]
    assert "secret" not in profile["properties"] and "Secret" not in profile["properties"]
    go_fields = {f["name"]: f for f in profile["x-go-fields"]}
    assert go_fields["Base"] == {"name": "Base", "type": "profiles.Base", "json": "Base",
                                 "embedded": True}
    assert go_fields["Secret"] == {"name": "Secret", "type": "string", "json": "-"}
    assert go_fields["Email"] == {"name": "Email", "type": "string", "json": "email",
                                  "omitempty": True}
    assert profile["properties"]["created_at"] == {"type": "string", "format": "date-time"}
    assert profile["properties"]["timeout"]["format"] == "time.Duration"
    assert profile["properties"]["color"] == {"$ref": "#/components/schemas/profiles.Color"}
    assert schemas["profiles.Priority"] == {
        "title": "Priority", "type": "integer", "enum": [0, 1, 2], "x-go-type": "uint8",
        "format": "uint8", "description": "Priority is an enum on an unsigned width, so gob "
        "sends it as a uint.", "x-go-constants": [{"name": "PriorityUnset", "value": 0},
                                                   {"name": "PriorityLow", "value": 1},
                                                   {"name": "PriorityHigh", "value": 2}]}
    encode = registry.methods["Profiles.Sample"].encode_result
    assert encode is not None
    sample = json.loads(json.dumps(encode(profiles.sample_profile())))
    validator = jsonschema.Draft7Validator({**profile, "components": document["components"]})
    assert list(validator.iter_errors(sample)) == []


def test_inspect_and_debug_page_show_go_names() -> None:
    registry = profiles.make_server().registry
    text = describe.render(registry.discover(), "here")
    assert "  Echo(args profiles.Profile) profiles.Profile\n" in text
    assert "  Shift(args profiles.Stamp) time.Time\n" in text
    assert ("  profiles.Profile {profiles.Base, *profiles.Audit, UserID uint64 json:\"user_id\", "
            "Name string json:\"name\", Email string json:\"email,omitempty\", HomeURL string, "
            "Timeout time.Duration json:\"timeout\",") in text
    assert '  profiles.Level string {LevelUnset = "", LevelDebug = "debug",' in text
    page = debugpage.render_html(registry).decode()
    assert "Shift(profiles.Stamp, *time.Time) error" in page


@greenrpc.go_struct(name="UserInfo")
@dataclass
class UserRecord:
    user_id: int = 0


def test_a_go_type_name_is_the_name_everywhere() -> None:
    class Users:
        def Get(self, user_id: int) -> UserRecord:
            return UserRecord(user_id)
    server = greenrpc.Server()
    server.register(Users())
    document = server.registry.discover()
    assert list(document["components"]["schemas"]) == ["test_openrpc.UserInfo"]
    assert document["methods"][0]["result"]["x-go-type"] == "test_openrpc.UserInfo"
    assert "Get(int, *test_openrpc.UserInfo) error" in debugpage.render_html(server.registry).decode()
