"""`greenrpc gen python`: Go files to a module that type-checks, lints, and talks to servers."""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import greenrpc
from greenrpc import cli, codegen
from greenrpc.schema import spec_of
from tests import services
from tests.support import ROOT

GO = ROOT / "tests" / "interop" / "go"
PROFILES = GO / "profiles" / "profiles.go"
REFUSED = ROOT / "tests" / "codegen" / "go" / "refused.go"


def generate(*paths: Path) -> codegen.Output:
    return codegen.python_module([str(p) for p in paths], "greenrpc gen python " + " ".join(
        p.name for p in paths))


def load(source: str, directory: Path, name: str) -> ModuleType:
    path = directory / f"{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_the_committed_profiles_module_is_what_generation_writes() -> None:
    # tests/generated/profiles.py is used by the JSON, gob and interop tests: it must be the
    # generator's own output for profiles.go, not a hand-edited copy.
    out = generate(PROFILES)
    assert out.source == (ROOT / "tests" / "generated" / "profiles.py").read_text()
    assert out.notes == []


def check_tools(path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    mypy = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental",
                           str(path)], capture_output=True, text=True, env=env, timeout=300,
                          cwd=path.parent)
    assert mypy.returncode == 0, mypy.stdout + mypy.stderr
    ruff = subprocess.run([sys.executable, "-m", "ruff", "check", "--isolated", "--select",
                           "E,F,W,B,I", str(path)], capture_output=True, text=True, timeout=60)
    assert ruff.returncode == 0, ruff.stdout + ruff.stderr


def test_generated_modules_pass_mypy_strict_and_ruff(tmp_path: Path) -> None:
    for name, go_file in [("profiles_types", PROFILES), ("refused_types", REFUSED),
                          ("arith_types", GO / "gobserver" / "main.go")]:
        path = tmp_path / f"{name}.py"
        path.write_text(generate(go_file).source)
        check_tools(path)


def test_types_it_cannot_generate_are_refused_with_the_reason() -> None:
    out = generate(REFUSED)
    assert out.notes == [
        "refused type Handler: a func type has no value to send",
        "refused type Events: a chan type has no value to send",
        "refused type Box: it is generic (has type parameters), which greenrpc cannot generate",
        "refused type IntBox: IntBox.Box: Box[int] instantiates a generic type, which greenrpc "
        "cannot generate",
        "refused type hidden: it has no exported fields, so nothing of it crosses the wire",
        "refused type Secretive: it has no exported fields, so nothing of it crosses the wire",
        "refused type Wave: Wave.Amplitude: Go's complex128 has no JSON form",
        "refused type Row: Row.Name: sql.NullString comes from package sql, whose declarations "
        "are not in the files given",
        "refused type Uses: Uses.W: type Wave is refused (Wave.Amplitude: Go's complex128 has "
        "no JSON form)",
        "refused type Shape: an interface with methods needs concrete types gob.Register'ed on "
        "both sides; declare a concrete type",
        "refused type Drawing: Drawing.Main: type Shape is refused (an interface with methods "
        "needs concrete types gob.Register'ed on both sides; declare a concrete type)",
        'refused type Quoted: Quoted.N: the json ",string" option is not supported',
        "refused type Inline: Inline.Point: an anonymous struct type; declare it as a named type",
        "refused type Keyed: Keyed.M: map key [2]int is not a string or integer kind (JSON "
        "object keys are)",
        "left out field Job.Callback: a func is never sent (gob skips it, encoding/json "
        "refuses it)",
        "left out method Store.Draw: Store.Draw: type Drawing is refused (Drawing.Main: type "
        "Shape is refused (an interface with methods needs concrete types gob.Register'ed on "
        "both sides; declare a concrete type))",
    ]
    # What remains is usable: Job without its chan and func, and Store's client with Put.
    assert "class Job:" in out.source and "class StoreClient:" in out.source
    assert "def put(self, args: Job) -> Int64:" in out.source
    assert "def draw" not in out.source and "def stream" not in out.source


def test_job_keeps_the_fields_that_cross(tmp_path: Path) -> None:
    module = load(generate(REFUSED).source, tmp_path, "refused_job")
    spec = spec_of(module.Job)
    assert [(f.attr, f.name, f.json) for f in spec.fields] == [("id", "ID", "ID"),
                                                               ("labels", "Labels", "labels")]
    assert spec.encode(module.Job(id=3)) == {"ID": 3}


def test_generated_client_calls_a_greenrpc_server_over_json_and_gob(tmp_path: Path) -> None:
    # gobserver/main.go is a real Go program (Go's own Arith): its types and methods as Python.
    module = load(generate(GO / "gobserver" / "main.go").source, tmp_path, "arith_types")
    server = services.make_server()
    server.start("127.0.0.1:0")
    try:
        for codec in ("json", "gob"):
            with greenrpc.dial(server.address, codec=codec) as client:
                arith = module.ArithClient(client)
                assert arith.multiply(module.ArithRequest(7, 8)) == module.ArithResponse(pro=56)
                assert arith.divide(module.ArithRequest(17, 5)) == module.ArithResponse(0, 3, 2)
                with pytest.raises(greenrpc.ServerError, match="divide by zero"):
                    arith.divide(module.ArithRequest(1, 0))
    finally:
        server.stop(timeout=5)


def test_the_command_writes_the_module_and_reports_on_stderr(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "store.py"
    assert cli.main(["gen", "python", str(REFUSED), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "greenrpc: refused type Handler: a func type has no value to send\n" in err
    assert out.read_text() == generate(REFUSED).source
    assert cli.main(["gen", "python", str(PROFILES)]) == 0
    assert capsys.readouterr().out == generate(PROFILES).source


def test_the_command_fails_with_where_for_files_it_cannot_read(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken.go"
    broken.write_text("package p\ntype T struct {\n\tX map[string\n}\n")
    assert cli.main(["gen", "python", str(broken)]) == 2
    assert capsys.readouterr().err == f"greenrpc: {broken}:3:14: expected ']', found newline\n"
    assert cli.main(["gen", "python", str(tmp_path / "missing.go")]) == 2
    assert "No such file" in capsys.readouterr().err
    twice = tmp_path / "twice.go"
    twice.write_text("package p\ntype T int\n")
    assert cli.main(["gen", "python", str(twice), str(twice)]) == 2
    assert "type T is declared twice" in capsys.readouterr().err


def test_it_needs_no_go_toolchain(tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    done = subprocess.run([sys.executable, "-m", "greenrpc", "gen", "python", str(PROFILES)],
                          capture_output=True, text=True, timeout=60,
                          env={"PATH": str(empty), "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    assert done.stdout == generate(PROFILES).source


STANDARD_LIBRARY = ["image/color/color.go", "net/http/cookie.go", "go/token/position.go",
                    "net/rpc/server.go", "archive/tar/common.go", "time/format.go"]


@pytest.mark.interop
def test_go_s_own_files_generate_modules_that_check(tmp_path: Path) -> None:
    # Real Go code nobody wrote for greenrpc: it must parse, and what it makes must check.
    done = subprocess.run(["go", "env", "GOROOT"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    source = Path(done.stdout.strip()) / "src"
    for index, name in enumerate(STANDARD_LIBRARY):
        out = generate(source / name)
        module = load(out.source, tmp_path, f"stdlib_{index}")
        assert module.__doc__ is not None and name.rpartition("/")[2] in module.__doc__
        (tmp_path / f"stdlib_{index}.py").write_text(out.source)
    color = load(generate(source / STANDARD_LIBRARY[0]).source, tmp_path, "stdlib_color")
    assert [f.name for f in spec_of(color.RGBA).fields] == ["R", "G", "B", "A"]
    assert spec_of(color.RGBA).fields[0].spec.go_name == "uint8"  # R, G, B, A uint8
    check_tools(tmp_path / "stdlib_0.py")
    ruff = subprocess.run([sys.executable, "-m", "ruff", "check", "--isolated", "--select",
                           "E,F,W,B,I", str(tmp_path)], capture_output=True, text=True,
                          timeout=60)
    assert ruff.returncode == 0, ruff.stdout
