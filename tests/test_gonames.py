"""Go names for Python fields: the rule, GoField, go_struct, and the warning at registration."""
from __future__ import annotations

import enum
import warnings
from dataclasses import dataclass
from typing import Annotated, Optional

import pytest

import greenrpc
from greenrpc import GoField, GoNameWarning, go_enum, go_struct
from greenrpc.gonames import go_name, is_exported, python_name, split_words
from greenrpc.registry import Registry
from greenrpc.schema import spec_of


@pytest.mark.parametrize("python, go", [
    ("user_id", "UserID"), ("url", "URL"), ("name", "Name"), ("http_url", "HTTPURL"),
    ("ids", "IDs"), ("user_ids", "UserIDs"), ("api_key", "APIKey"), ("utf8_text", "UTF8Text"),
    ("from_", "From"), ("userName", "UserName"), ("ip_addr", "IPAddr"), ("x", "X"),
    ("created_at", "CreatedAt"), ("json_rpc_version", "JSONRPCVersion"), ("status", "Status"),
])
def test_rule_names_fields_as_go_does(python: str, go: str) -> None:
    assert go_name(python) == go


@pytest.mark.parametrize("go, python", [
    ("UserID", "user_id"), ("HTTPServer", "http_server"), ("IDs", "ids"), ("URLs", "urls"),
    ("HomeURL", "home_url"), ("Int64", "int64"), ("UTF8", "utf8"), ("From", "from_"),
    ("ID", "id"), ("CreatedAt", "created_at"), ("Field2Name", "field2_name"),
    ("XMLHTTPRequest", "xmlhttp_request"),
])
def test_go_names_read_as_python(go: str, python: str) -> None:
    assert python_name(go) == python


def test_words_keep_initialisms_and_their_plurals_whole() -> None:
    assert split_words("UserIDsByURL") == ["User", "IDs", "By", "URL"]
    assert split_words("IDSet") == ["ID", "Set"]


def test_exported_is_go_s_rule() -> None:
    assert is_exported("Name") and is_exported("Élan")
    assert not is_exported("name") and not is_exported("_Name") and not is_exported("")


@go_struct
@dataclass
class UserInfo:
    user_id: int
    name: str
    home_url: str = ""
    nickname: Annotated[Optional[str], GoField(json="nick", omitempty=True)] = None
    password: Annotated[str, GoField(json="-")] = ""
    legacy: Annotated[str, GoField("OldName")] = ""


@go_struct(json="python", name="Account")
@dataclass
class AccountRow:
    account_id: int
    url: str = ""


def test_go_struct_names_fields_for_gob_and_json() -> None:
    spec = spec_of(UserInfo)
    assert [(f.attr, f.name, f.json) for f in spec.fields] == [
        ("user_id", "UserID", "UserID"), ("name", "Name", "Name"), ("home_url", "HomeURL", "HomeURL"),
        ("nickname", "Nickname", "nick"), ("password", "Password", None),
        ("legacy", "OldName", "OldName")]
    assert [f.key for f in spec.json_fields] == ["UserID", "Name", "HomeURL", "nick", "OldName"]


def test_json_python_keeps_python_keys_and_name_renames_the_type() -> None:
    spec = spec_of(AccountRow)
    assert spec.go_name == "test_gonames.Account" and spec.name == "Account"
    assert [(f.name, f.json) for f in spec.fields] == [("AccountID", "account_id"), ("URL", "url")]
    assert spec.encode(AccountRow(5, "u")) == {"account_id": 5, "url": "u"}


def test_mapped_names_encode_and_decode_like_go() -> None:
    spec = spec_of(UserInfo)
    user = UserInfo(7, "Ada", nickname=None, password="secret")
    assert spec.encode(user) == {"UserID": 7, "Name": "Ada", "HomeURL": "", "OldName": ""}
    assert spec.encode(UserInfo(7, "Ada", nickname="a")) == {
        "UserID": 7, "Name": "Ada", "HomeURL": "", "nick": "a", "OldName": ""}
    # Decoding matches keys case-insensitively, as encoding/json does; hidden fields stay zero.
    assert spec.convert({"userid": 1, "NAME": "x", "Nick": "n", "Password": "p"}) == \
        UserInfo(1, "x", nickname="n")
    # Unmapped Python names are no keys any more: Go would not send them.
    assert spec.convert({"user_id": 1}) == UserInfo(0, "")


def test_errors_name_the_json_key_as_go_does() -> None:
    with pytest.raises(greenrpc.schema.TypeMismatch) as info:
        spec_of(UserInfo).convert({"UserID": "7"})
    assert str(info.value) == ("json: cannot unmarshal string into Go struct field "
                               "UserInfo.UserID of type int")


def test_bad_markers_are_refused_early() -> None:
    with pytest.raises(ValueError, match="not a Go identifier"):
        GoField("User-ID")
    with pytest.raises(ValueError, match='"-" to hide'):
        GoField(json="")
    with pytest.raises(ValueError, match='"go" or "python"'):
        go_struct(json="snake")  # type: ignore[call-overload]
    with pytest.raises(ValueError, match="go_enum kind"):
        go_enum(kind="float64")


def test_embedding_needs_a_dataclass() -> None:
    @dataclass
    class Bad:
        n: Annotated[int, GoField(embedded=True)] = 0
    with pytest.raises(TypeError, match="only a dataclass"):
        spec_of(Bad)


@dataclass
class UserRequest:
    id: int
    name: str
    Email: str = ""


class UserService:
    def GetUserInfo(self, args: UserRequest) -> UserInfo:
        return UserInfo(args.id, args.name)


def test_registration_warns_about_fields_gob_cannot_carry_with_the_fix() -> None:
    registry = Registry()
    with pytest.warns(GoNameWarning) as caught:
        registry.register(UserService())
    messages = sorted(str(w.message) for w in caught)
    assert len(messages) == 2  # id and name; Email is exported, UserInfo is mapped
    assert messages[0].startswith("UserRequest.id never crosses gob: Go sees only exported")
    assert "@greenrpc.go_struct on UserRequest (id -> ID)" in messages[0]
    assert 'greenrpc.GoField("Name")' in messages[1]
    assert caught[0].filename == __file__  # points at the register call, not into greenrpc


def test_registration_of_go_named_types_is_silent() -> None:
    class Clean:
        def Get(self, args: UserInfo) -> list[AccountRow]:
            return []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Registry().register(Clean())


class Mood(enum.Enum):
    HAPPY = 1
    SAD = "sad"


def test_enums_must_be_all_ints_or_all_strings() -> None:
    with pytest.raises(TypeError, match="all int or all str"):
        spec_of(Mood)

    @go_enum(kind="string")
    class Counted(enum.IntEnum):
        ONE = 1
    with pytest.raises(TypeError, match="int values, not go_enum kind 'string'"):
        spec_of(Counted)

    @go_enum(kind="uint8")
    class Wide(enum.IntEnum):
        BIG = 300
    with pytest.raises(TypeError, match="does not fit Go's uint8"):
        spec_of(Wide)
