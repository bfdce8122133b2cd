"""The deployment files keep the deployment guide's promises.

Static checks only: no Docker engine, no cluster, no network. The Dockerfile is read
with a small parser below, compose.yaml and the alert rules with PyYAML, the
Kubernetes manifests are validated against the JSON schemas that the
`kubernetes-validate` package ships, and the Grafana dashboard is plain JSON.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from phiacta.config import Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent
K8S_DIR = ROOT / "k8s"
KUBERNETES_VERSION = "1.31"

METRICS = (
    "phiacta_http_requests_total",
    "phiacta_http_request_duration_seconds_bucket",
    "phiacta_graphql_errors_total",
    "phiacta_db_pool_size",
    "phiacta_db_pool_available",
    "phiacta_db_pool_waiting",
    "phiacta_db_query_duration_seconds_bucket",
    "phiacta_bundles_submitted_total",
    "phiacta_claims_ingested_total",
    "phiacta_searches_total",
    "phiacta_traversals_total",
    "phiacta_active_subscriptions",
    "phiacta_db_reads_total",
    "phiacta_db_read_fallbacks_total",
    "phiacta_db_replica_up",
    "phiacta_db_replica_lag_seconds",
)
SECRET_VARIABLES = {"DATABASE_URL", "OPENAI_API_KEY", "API_KEY_SALT"}
DEV_EXTRA = re.compile(r"--extra[= ]dev\b|\[dev\]|--all-extras|--group[= ]dev\b")
BUILD_TOOLS = re.compile(r"\b(gcc|g\+\+|build-essential|libpq-dev|make)\b")
PODS = [("Deployment", "phiacta-api"), ("Job", "phiacta-migrate")]
PGBOUNCER_PROFILE = ("pgbouncer", "backend-pgbouncer")
OVERLAY_DIR = K8S_DIR / "overlays" / "replicas-pgbouncer"
# The writable emptyDir under a read-only root filesystem, not a temporary file.
SCRATCH_MOUNT = "/tmp"  # noqa: S108


# ── Dockerfile ────────────────────────────────────────────────────────────────


@dataclass
class Instruction:
    keyword: str
    args: str


@dataclass
class Stage:
    name: str
    image: str
    instructions: list[Instruction] = field(default_factory=list)

    def args_of(self, keyword: str) -> list[str]:
        return [i.args for i in self.instructions if i.keyword == keyword]


def logical_lines(text: str) -> list[str]:
    """Dockerfile lines with comments dropped and backslash continuations joined."""
    lines: list[str] = []
    pending: list[str] = []
    for raw in text.splitlines():
        stripped = raw.strip()
        if stripped.startswith("#") or (not stripped and not pending):
            continue
        if stripped.endswith("\\"):
            pending.append(stripped[:-1].strip())
            continue
        pending.append(stripped)
        lines.append(" ".join(part for part in pending if part))
        pending = []
    if pending:
        lines.append(" ".join(part for part in pending if part))
    return lines


def parse_dockerfile(text: str) -> list[Stage]:
    """The build stages in order; instructions before the first FROM are ignored."""
    stages: list[Stage] = []
    for line in logical_lines(text):
        keyword, _, args = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            match = re.fullmatch(r"(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?", args, re.IGNORECASE)
            assert match, f"unreadable FROM line: {line}"
            stages.append(Stage(name=match.group(2) or str(len(stages)), image=match.group(1)))
        elif stages:
            stages[-1].instructions.append(Instruction(keyword, args.strip()))
    return stages


def command_text(args: str) -> str:
    """A CMD as one string, whether written in exec (JSON) or shell form."""
    if args.startswith("["):
        parts = json.loads(args)
        assert isinstance(parts, list)
        return " ".join(str(part) for part in parts)
    return args


@pytest.fixture(scope="module")
def stages() -> dict[str, Stage]:
    return {stage.name: stage for stage in parse_dockerfile((ROOT / "Dockerfile").read_text())}


def test_dockerfile_parser_joins_continuations_and_skips_comments() -> None:
    text = "ARG X=1\nFROM img:1 AS one\n# note\nRUN a \\\n    # inside\n    && b\nUSER me\n"
    [stage] = parse_dockerfile(text)
    assert (stage.name, stage.image) == ("one", "img:1")
    assert stage.args_of("RUN") == ["a && b"]
    assert stage.args_of("USER") == ["me"]


def test_dockerfile_has_the_four_stages_in_order() -> None:
    names = [stage.name for stage in parse_dockerfile((ROOT / "Dockerfile").read_text())]
    assert names == ["base", "development", "test", "production"]


def test_stages_build_on_python_3_12_slim(stages: dict[str, Stage]) -> None:
    assert stages["base"].image == "python:3.12-slim"
    assert stages["production"].image == "python:3.12-slim"
    assert stages["development"].image == "base"
    assert stages["test"].image == "base"


def test_every_install_is_pinned_by_the_lock_file(stages: dict[str, Stage]) -> None:
    runs = [run for stage in stages.values() for run in stage.args_of("RUN")]
    syncs = [run for run in runs if "uv sync" in run]
    assert syncs, "dependencies are installed with `uv sync` from uv.lock"
    assert all("--frozen" in run for run in syncs)
    assert not [run for run in runs if re.search(r"\bpip install\b", run)]
    assert any("uv.lock" in copy for copy in stages["base"].args_of("COPY"))


def test_base_installs_the_all_extra(stages: dict[str, Stage]) -> None:
    assert any("--extra all" in run for run in stages["base"].args_of("RUN"))
    assert not any(DEV_EXTRA.search(run) for run in stages["base"].args_of("RUN"))


@pytest.mark.parametrize("name", ["development", "test"])
def test_development_and_test_install_the_dev_extra(stages: dict[str, Stage], name: str) -> None:
    assert any(DEV_EXTRA.search(run) for run in stages[name].args_of("RUN"))


def test_no_stage_installs_build_tools(stages: dict[str, Stage]) -> None:
    for stage in stages.values():
        assert not [run for run in stage.args_of("RUN") if BUILD_TOOLS.search(run)], stage.name


def test_production_installs_no_dev_extra(stages: dict[str, Stage]) -> None:
    production = stages["production"]
    assert not [run for run in production.args_of("RUN") if DEV_EXTRA.search(run)]
    copied_from = [copy for copy in production.args_of("COPY") if copy.startswith("--from=")]
    assert all(
        copy.startswith(("--from=base ", "--from=ghcr.io/astral-sh/uv")) for copy in copied_from
    )


def test_production_runs_as_the_non_root_user_newpub(stages: dict[str, Stage]) -> None:
    production = stages["production"]
    assert production.args_of("USER")[-1] == "newpub"
    user_setup = " ".join(production.args_of("RUN"))
    assert re.search(r"groupadd -r\b.*\bnewpub\b", user_setup)
    assert re.search(r"useradd -r\b.*\bnewpub\b", user_setup)


def test_production_copies_only_the_package_migrations_and_alembic_ini(
    stages: dict[str, Stage],
) -> None:
    copies = stages["production"].args_of("COPY")
    sources = {word for copy in copies for word in copy.split()[:-1]}
    assert {"phiacta/", "migrations/", "alembic.ini"} <= sources
    assert "." not in sources
    assert not {"tests/", "bench/", ".env"} & sources


def test_production_serves_on_port_8000_with_web_concurrency_workers(
    stages: dict[str, Stage],
) -> None:
    production = stages["production"]
    assert "8000" in production.args_of("EXPOSE")
    assert any(re.search(r"\bWEB_CONCURRENCY=4\b", env) for env in production.args_of("ENV"))
    cmd = production.args_of("CMD")[-1]
    text = command_text(cmd)
    for part in ("phiacta serve", "--host 0.0.0.0", "--port 8000", "--workers", "WEB_CONCURRENCY"):
        assert part in text
    # Exec form does not expand variables: the command must go through a shell.
    assert not cmd.startswith("[") or json.loads(cmd)[:2] == ["sh", "-c"]


def test_production_healthcheck_calls_health_with_python(stages: dict[str, Stage]) -> None:
    [healthcheck] = stages["production"].args_of("HEALTHCHECK")
    assert "python" in healthcheck
    assert "/health" in healthcheck
    assert "curl" not in healthcheck


def test_test_stage_runs_lint_format_types_and_tests(stages: dict[str, Stage]) -> None:
    text = command_text(stages["test"].args_of("CMD")[-1])
    for step in ("ruff check", "ruff format --check", "mypy --strict phiacta", "pytest"):
        assert step in text


def test_dockerignore_keeps_local_state_and_secrets_out_of_the_context() -> None:
    patterns = {
        line.strip().rstrip("/")
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".venv", ".git", ".phiacta", ".env", "bench/results"} <= patterns
    # The test stage runs this file, which reads these.
    needed = {"Dockerfile", "compose.yaml", "k8s", "ops", "tests", "uv.lock", "pyproject.toml"}
    assert not needed & patterns


# ── compose.yaml ──────────────────────────────────────────────────────────────


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "compose.yaml").read_text())
    assert isinstance(data, dict)
    return data


def test_compose_defines_db_backend_and_pgadmin(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {"db", "backend", "pgadmin", *PGBOUNCER_PROFILE}
    assert "pgdata" in compose["volumes"]


def test_compose_pgbouncer_profile_pools_transactions_in_front_of_db(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    for name in PGBOUNCER_PROFILE:
        assert services[name]["profiles"] == ["pgbouncer"]
    bouncer = services["pgbouncer"]
    assert bouncer["environment"]["POOL_MODE"] == "transaction"
    assert "@db:5432/phiacta" in bouncer["environment"]["DATABASE_URL"]
    assert bouncer["depends_on"]["db"]["condition"] == "service_healthy"
    env = services["backend-pgbouncer"]["environment"]
    settings = Settings(
        _env_file=None,
        database_url=env["DATABASE_URL"],
        database_pooler=env["DATABASE_POOLER"],
        database_listen_url=env["DATABASE_LISTEN_URL"],
    )
    assert settings.behind_pooler
    port = bouncer["environment"]["LISTEN_PORT"]
    assert settings.database_url == f"postgresql://newpub:devpassword@pgbouncer:{port}/phiacta"
    assert settings.database_listen_url == "postgresql://newpub:devpassword@db:5432/phiacta"


def test_compose_db_is_pgvector_with_a_health_check(compose: dict[str, Any]) -> None:
    db = compose["services"]["db"]
    assert db["image"] == "pgvector/pgvector:pg16"
    assert db["environment"] == {
        "POSTGRES_DB": "phiacta",
        "POSTGRES_USER": "newpub",
        "POSTGRES_PASSWORD": "devpassword",
    }
    assert "pgdata:/var/lib/postgresql/data" in db["volumes"]
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])


def test_compose_backend_waits_for_a_healthy_db(compose: dict[str, Any]) -> None:
    backend = compose["services"]["backend"]
    assert backend["depends_on"]["db"]["condition"] == "service_healthy"


def test_compose_backend_runs_the_development_stage_with_reload(
    compose: dict[str, Any], stages: dict[str, Stage]
) -> None:
    backend = compose["services"]["backend"]
    assert backend["build"]["target"] == "development"
    assert backend["build"]["target"] in stages
    assert "8000:8000" in backend["ports"]
    assert {"./phiacta:/app/phiacta", "./migrations:/app/migrations"} <= set(backend["volumes"])
    command = (
        backend["command"] if isinstance(backend["command"], str) else " ".join(backend["command"])
    )
    assert command.startswith("phiacta serve")
    assert "--reload" in command


def test_compose_backend_environment(compose: dict[str, Any]) -> None:
    env = compose["services"]["backend"]["environment"]
    assert env["DATABASE_URL"] == "postgresql+asyncpg://newpub:devpassword@db:5432/phiacta"
    assert env["OPENAI_API_KEY"] == "${OPENAI_API_KEY:-}"
    assert (env["ENVIRONMENT"], env["LOG_LEVEL"], env["LOG_FORMAT"]) == (
        "development",
        "debug",
        "console",
    )
    settings = Settings(_env_file=None, database_url=env["DATABASE_URL"])
    assert settings.database_url == "postgresql://newpub:devpassword@db:5432/phiacta"


def test_compose_pgadmin_only_under_the_debug_profile(compose: dict[str, Any]) -> None:
    pgadmin = compose["services"]["pgadmin"]
    assert pgadmin["image"].startswith("dpage/pgadmin4")
    assert pgadmin["profiles"] == ["debug"]
    assert "5050:80" in pgadmin["ports"]


# ── Kubernetes ────────────────────────────────────────────────────────────────


def manifest_files() -> list[Path]:
    return sorted(p for p in K8S_DIR.glob("*.yaml") if p.name != "kustomization.yaml")


def load_documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


@pytest.fixture(scope="module")
def resources() -> dict[tuple[str, str], dict[str, Any]]:
    """Every manifest by (kind, name)."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for path in manifest_files():
        for doc in load_documents(path):
            found[(doc["kind"], doc["metadata"]["name"])] = doc
    return found


def container(resource: dict[str, Any]) -> dict[str, Any]:
    [first] = resource["spec"]["template"]["spec"]["containers"]
    assert isinstance(first, dict)
    return first


def port_number(port: int | str, ctr: dict[str, Any]) -> int:
    if isinstance(port, int):
        return port
    [number] = [p["containerPort"] for p in ctr["ports"] if p.get("name") == port]
    assert isinstance(number, int)
    return number


def assert_valid_manifests(path: Path) -> None:
    documents = load_documents(path)
    assert documents
    for doc in documents:
        try:
            validated = kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            where = ".".join(str(part) for part in exc.path)
            pytest.fail(f"{path.name}: {doc['kind']} {where}: {exc.message}")
        assert validated == KUBERNETES_VERSION


@pytest.mark.parametrize("path", manifest_files(), ids=lambda p: p.name)
def test_manifest_is_valid_against_the_kubernetes_schema(path: Path) -> None:
    assert_valid_manifests(path)


def test_kustomization_lists_every_manifest_and_only_existing_files() -> None:
    kustomization = yaml.safe_load((K8S_DIR / "kustomization.yaml").read_text())
    assert kustomization["kind"] == "Kustomization"
    listed = kustomization["resources"]
    assert len(listed) == len(set(listed))
    assert all((K8S_DIR / name).is_file() for name in listed)
    assert set(listed) == {p.name for p in manifest_files()}


def test_deployment_runs_three_replicas_of_the_image_on_port_8000(
    resources: dict[tuple[str, str], dict[str, Any]],
) -> None:
    deployment = resources[("Deployment", "phiacta-api")]
    assert deployment["spec"]["replicas"] == 3
    api = container(deployment)
    assert [p["containerPort"] for p in api["ports"]] == [8000]
    assert api["resources"] == {
        "requests": {"memory": "512Mi", "cpu": "250m"},
        "limits": {"memory": "1Gi", "cpu": "1000m"},
    }


def test_deployment_probes_health_and_ready(
    resources: dict[tuple[str, str], dict[str, Any]],
) -> None:
    api = container(resources[("Deployment", "phiacta-api")])
    for probe, path in (("livenessProbe", "/health"), ("readinessProbe", "/ready")):
        assert api[probe]["httpGet"]["path"] == path
        assert port_number(api[probe]["httpGet"]["port"], api) == 8000
    assert api["startupProbe"]["httpGet"]["path"] == "/health"


@pytest.mark.parametrize(("kind", "name"), PODS)
def test_pods_take_settings_from_the_secret_and_the_configmap(
    resources: dict[tuple[str, str], dict[str, Any]], kind: str, name: str
) -> None:
    env_from = container(resources[(kind, name)])["envFrom"]
    assert {"secretRef": {"name": "phiacta-secrets"}} in env_from
    assert {"configMapRef": {"name": "phiacta-config"}} in env_from
    assert ("Secret", "phiacta-secrets") in resources
    assert ("ConfigMap", "phiacta-config") in resources


@pytest.mark.parametrize(("kind", "name"), PODS)
def test_pods_run_as_newpub_on_a_read_only_root_filesystem(
    resources: dict[tuple[str, str], dict[str, Any]],
    stages: dict[str, Stage],
    kind: str,
    name: str,
) -> None:
    resource = resources[(kind, name)]
    pod = resource["spec"]["template"]["spec"]
    ctr = container(resource)
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert ctr["securityContext"]["readOnlyRootFilesystem"] is True
    assert ctr["securityContext"]["allowPrivilegeEscalation"] is False
    mounts = {m["mountPath"]: m["name"] for m in ctr["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "emptyDir" in volumes[mounts[SCRATCH_MOUNT]]
    # runAsNonRoot needs a numeric user: the one the image creates for newpub.
    useradd = " ".join(stages["production"].args_of("RUN"))
    uid = re.search(r"useradd\b[^&]*?-u (\d+)", useradd)
    assert uid, "the production image gives newpub a fixed uid"
    assert pod["securityContext"]["runAsUser"] == int(uid.group(1))


def test_service_routes_to_the_api_pods(
    resources: dict[tuple[str, str], dict[str, Any]],
) -> None:
    deployment = resources[("Deployment", "phiacta-api")]
    service = resources[("Service", "phiacta-api")]
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    [port] = service["spec"]["ports"]
    assert port_number(port["targetPort"], container(deployment)) == 8000


def test_migration_job_upgrades_to_head_once(
    resources: dict[tuple[str, str], dict[str, Any]],
) -> None:
    job = resources[("Job", "phiacta-migrate")]
    assert container(job)["command"] == ["phiacta", "migrate", "upgrade", "head"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"


def test_configmap_is_production_json_logging_without_secrets(
    resources: dict[tuple[str, str], dict[str, Any]],
) -> None:
    data = resources[("ConfigMap", "phiacta-config")]["data"]
    assert data["ENVIRONMENT"] == "production"
    assert data["LOG_FORMAT"] == "json"
    assert not SECRET_VARIABLES & set(data)


def test_configmap_names_only_real_settings(
    resources: dict[tuple[str, str], dict[str, Any]],
) -> None:
    known = {(f.alias or name).upper() for name, f in Settings.model_fields.items()}
    known.add("WEB_CONCURRENCY")  # read by the Docker CMD and uvicorn, not by Settings
    known.add("PROMETHEUS_MULTIPROC_DIR")  # read by prometheus_client itself
    data = resources[("ConfigMap", "phiacta-config")]["data"]
    assert set(data) <= known


def test_configmap_and_example_secret_values_are_accepted_by_the_settings(
    resources: dict[tuple[str, str], dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    secret = resources[("Secret", "phiacta-secrets")]["stringData"]
    for key, value in {**resources[("ConfigMap", "phiacta-config")]["data"], **secret}.items():
        monkeypatch.setenv(key, value)
    settings = load_settings()
    assert settings.environment == "production"
    assert settings.log_format == "json"
    assert settings.cors_origins == []
    assert settings.database_url is not None
    assert settings.database_url.startswith("postgresql://")


# ── The overlay: read replicas and PgBouncer ─────────────────────────────────


def overlay_kustomization() -> dict[str, Any]:
    data = yaml.safe_load((OVERLAY_DIR / "kustomization.yaml").read_text())
    assert isinstance(data, dict)
    return data


def overlay_resource_files() -> list[Path]:
    return [OVERLAY_DIR / name for name in overlay_kustomization()["resources"][1:]]


def overlay_patches() -> dict[str, dict[str, Any]]:
    """The overlay's patches by kind."""
    patches = [load_documents(OVERLAY_DIR / p["path"]) for p in overlay_kustomization()["patches"]]
    return {doc["kind"]: doc for docs in patches for doc in docs}


@pytest.fixture(scope="module")
def overlay_resources() -> dict[tuple[str, str], dict[str, Any]]:
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for path in overlay_resource_files():
        for doc in load_documents(path):
            found[(doc["kind"], doc["metadata"]["name"])] = doc
    return found


def test_overlay_builds_on_the_base_and_lists_only_existing_files() -> None:
    kustomization = overlay_kustomization()
    assert kustomization["kind"] == "Kustomization"
    assert kustomization["resources"][0] == "../../"
    listed = [OVERLAY_DIR / name for name in kustomization["resources"][1:]]
    listed += [OVERLAY_DIR / patch["path"] for patch in kustomization["patches"]]
    assert all(path.is_file() for path in listed)
    assert {p.name for p in listed} == {p.name for p in OVERLAY_DIR.glob("*.yaml")} - {
        "kustomization.yaml"
    }


@pytest.mark.parametrize("path", overlay_resource_files(), ids=lambda p: p.name)
def test_overlay_manifest_is_valid_against_the_kubernetes_schema(path: Path) -> None:
    assert_valid_manifests(path)


def test_overlay_patches_target_the_base_configmap_and_secret(
    resources: dict[tuple[str, str], dict[str, Any]],
) -> None:
    for kind, patch in overlay_patches().items():
        assert (kind, patch["metadata"]["name"]) in resources


def test_overlay_settings_are_accepted_with_the_pooler_and_two_replicas(
    resources: dict[tuple[str, str], dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.chdir(tmp_path)
    patches = overlay_patches()
    values = {
        **resources[("ConfigMap", "phiacta-config")]["data"],
        **patches["ConfigMap"]["data"],
        **resources[("Secret", "phiacta-secrets")]["stringData"],
        **patches["Secret"]["stringData"],
    }
    known = {(f.alias or name).upper() for name, f in Settings.model_fields.items()}
    assert set(patches["ConfigMap"]["data"]) | set(patches["Secret"]["stringData"]) <= known
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    settings = load_settings()
    assert settings.database_pooler == "pgbouncer"
    assert len(settings.database_replica_urls) == 2
    assert settings.database_url is not None and "@phiacta-pgbouncer:6432/" in settings.database_url
    assert settings.database_listen_url is not None
    assert "pgbouncer" not in settings.database_listen_url
    assert all("REPLACE-ME" in value for value in patches["Secret"]["stringData"].values())


def test_overlay_pgbouncer_pools_transactions_behind_its_service(
    overlay_resources: dict[tuple[str, str], dict[str, Any]],
) -> None:
    ini = overlay_resources[("ConfigMap", "phiacta-pgbouncer")]["data"]["pgbouncer.ini"]
    settings = dict(
        (key.strip(), value.strip())
        for key, _, value in (line.partition("=") for line in ini.splitlines())
        if _ and not key.lstrip().startswith(";")
    )
    assert settings["pool_mode"] == "transaction"
    deployment = overlay_resources[("Deployment", "phiacta-pgbouncer")]
    service = overlay_resources[("Service", "phiacta-pgbouncer")]
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    [port] = service["spec"]["ports"]
    assert port["port"] == 6432
    assert port_number(port["targetPort"], container(deployment)) == int(settings["listen_port"])
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    assert volumes["userlist"]["secret"]["secretName"] in {
        name for kind, name in overlay_resources if kind == "Secret"
    }


def test_example_secret_holds_only_marked_placeholders(
    resources: dict[tuple[str, str], dict[str, Any]],
) -> None:
    secret = resources[("Secret", "phiacta-secrets")]
    assert set(secret["stringData"]) == SECRET_VARIABLES
    assert all("REPLACE-ME" in value for value in secret["stringData"].values())
    assert "EXAMPLE" in (K8S_DIR / "secret.example.yaml").read_text()


def test_disruption_budget_and_autoscaler_target_the_api(
    resources: dict[tuple[str, str], dict[str, Any]],
) -> None:
    deployment = resources[("Deployment", "phiacta-api")]
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    pdb = resources[("PodDisruptionBudget", "phiacta-api")]
    assert pdb["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    hpa = resources[("HorizontalPodAutoscaler", "phiacta-api")]
    assert hpa["spec"]["scaleTargetRef"]["name"] == "phiacta-api"
    assert hpa["spec"]["minReplicas"] == deployment["spec"]["replicas"]


# ── Monitoring ────────────────────────────────────────────────────────────────


def metric_names(expr: str) -> set[str]:
    return set(re.findall(r"\bphiacta_[a-z_]+", expr))


def brackets_balance(expr: str) -> bool:
    pairs = {")": "(", "]": "[", "}": "{"}
    stack: list[str] = []
    for char in re.sub(r'"[^"]*"', "", expr):
        if char in "([{":
            stack.append(char)
        elif char in pairs and (not stack or stack.pop() != pairs[char]):
            return False
    return not stack


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    data = json.loads((ROOT / "ops" / "grafana-dashboard.json").read_text())
    assert isinstance(data, dict)
    return data


def dashboard_exprs(dashboard: dict[str, Any]) -> list[str]:
    return [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]


def test_dashboard_is_a_grafana_dashboard(dashboard: dict[str, Any]) -> None:
    assert 36 <= dashboard["schemaVersion"] <= 41
    assert dashboard["uid"] and dashboard["title"]
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24
        if panel["type"] != "row":
            assert panel["targets"], panel["title"]


def test_dashboard_charts_every_metric(dashboard: dict[str, Any]) -> None:
    used = set().union(*(metric_names(expr) for expr in dashboard_exprs(dashboard)))
    assert used == set(METRICS)


def test_dashboard_queries_are_well_formed(dashboard: dict[str, Any]) -> None:
    for expr in dashboard_exprs(dashboard):
        assert brackets_balance(expr), expr


def test_dashboard_shows_latency_percentiles_by_operation(dashboard: dict[str, Any]) -> None:
    exprs = dashboard_exprs(dashboard)
    for quantile in ("0.50", "0.95", "0.99"):
        assert any(
            f"histogram_quantile({quantile}, sum by (le, operation)" in expr for expr in exprs
        )
    assert any("sum by (code)" in expr for expr in exprs)


@pytest.fixture(scope="module")
def alert_rules() -> list[dict[str, Any]]:
    data = yaml.safe_load((ROOT / "ops" / "prometheus-alerts.yaml").read_text())
    return [rule for group in data["groups"] for rule in group["rules"]]


def test_alert_rules_are_complete(alert_rules: list[dict[str, Any]]) -> None:
    assert alert_rules
    names = [rule["alert"] for rule in alert_rules]
    assert len(names) == len(set(names))
    for rule in alert_rules:
        assert isinstance(rule["expr"], str) and brackets_balance(rule["expr"]), rule["alert"]
        assert re.fullmatch(r"\d+[smh]", rule["for"]), rule["alert"]
        assert rule["labels"]["severity"] in {"warning", "critical"}, rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
        assert metric_names(rule["expr"]) <= set(METRICS), rule["alert"]


def test_alerts_use_the_guide_thresholds(alert_rules: list[dict[str, Any]]) -> None:
    def alerting(*needles: str) -> bool:
        squashed = [" ".join(rule["expr"].split()) for rule in alert_rules]
        return any(all(needle in expr for needle in needles) for expr in squashed)

    assert alerting('phiacta_http_requests_total{status=~"5.."}', "> 0.05")
    assert alerting("histogram_quantile(0.99", "phiacta_http_request_duration_seconds", "> 5")
    assert alerting("phiacta_db_pool_available", "> 0.8")
    assert alerting("phiacta_db_pool_waiting", "> 0")
    assert alerting("up{", "== 0")
    assert alerting("kube_deployment_status_replicas_available")


def test_make_test_names_in_one_line_what_did_not_run_without_pgbouncer(tmp_path: Path) -> None:
    """`make test`'s PgBouncer pass on a machine without the binary (PATH and the
    places Debian installs it made empty): one line, naming the tests and the fix."""
    make = shutil.which("make")
    assert make is not None
    done = subprocess.run(
        [make, "--no-print-directory", "-s", "pytest-pgbouncer", "PGBOUNCER_PATHS=/nonexistent"],
        env={"PATH": str(tmp_path)},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    (line,) = done.stdout.splitlines()
    assert line.startswith("PgBouncer is not installed: tests/test_pooler.py and ")
    assert "PHIACTA_TEST_POOLER=pgbouncer) did not run" in line
    assert line.endswith("apt-get install pgbouncer (Debian/Ubuntu) to run them")
    assert done.stderr == ""


def test_ci_installs_pgbouncer_from_debian_as_root_before_make_test() -> None:
    script = (ROOT / ".ci" / "run").read_text()
    install = script.index("apt-get install -y -qq --no-install-recommends pgbouncer")
    assert '[ "$(id -u)" = 0 ] && [ -f /etc/debian_version ]' in script[:install]
    assert script.rstrip().endswith("make test")
