"""The container image (Dockerfile, .dockerignore).

Always: static checks of the Dockerfile's instructions, its entry point run through /bin/sh with
a stand-in zh-textclf-serve (the flags it passes must parse), and its HEALTHCHECK command run
against the real Flask app, so that a renamed route or flag fails here. Where a container
engine answers (``docker info``), a slow test builds the image and serves a tiny export.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
import threading
import time
import tomllib
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
SERVE_COMMAND = "zh-textclf-serve"
MODELS_DIR = "/models"


# === Reading the Dockerfile ===
def instructions(text: str) -> list[tuple[str, str]]:
    """(KEYWORD, arguments) per instruction: comments dropped, continuation lines joined."""
    found: list[tuple[str, str]] = []
    pending = ""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#") or (not stripped and not pending):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        whole = (pending + stripped).strip()
        pending = ""
        keyword, _, args = whole.partition(" ")
        found.append((keyword.upper(), args.strip()))
    assert not pending, "the Dockerfile ends inside a continued line"
    return found


def exec_form(args: str) -> list[str]:
    """A JSON-array argument (CMD, ENTRYPOINT, HEALTHCHECK CMD), as Docker reads it."""
    parsed = json.loads(args)
    assert isinstance(parsed, list) and all(isinstance(a, str) for a in parsed), args
    return parsed


def env_of(found: list[tuple[str, str]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for keyword, args in found:
        if keyword == "ENV":
            for pair in shlex.split(args):
                name, sep, value = pair.partition("=")
                assert sep, f"ENV {args!r}: use the NAME=value form"
                env[name] = value
    return env


def only(found: list[tuple[str, str]], keyword: str) -> str:
    args = [a for k, a in found if k == keyword]
    assert len(args) == 1, f"expected one {keyword}, found {args}"
    return args[0]


def index_of(found: list[tuple[str, str]], keyword: str) -> int:
    return next(i for i, (k, _) in enumerate(found) if k == keyword)


def copy_sources(found: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """(source, destination) of every COPY, relative to the build context."""
    pairs = []
    for keyword, args in found:
        if keyword == "COPY":
            parts = exec_form(args) if args.startswith("[") else shlex.split(args)
            parts = [p for p in parts if not p.startswith("--")]
            pairs += [(src, parts[-1]) for src in parts[:-1]]
    return pairs


def healthcheck_command(found: list[tuple[str, str]]) -> list[str]:
    match = re.fullmatch(r"((?:--\S+\s+)*)CMD\s+(.+)", only(found, "HEALTHCHECK"))
    assert match, "HEALTHCHECK [options] CMD [...] expected"
    return exec_form(match[2])


def run_command(found: list[tuple[str, str]]) -> list[str]:
    """What the container runs by default: ENTRYPOINT + CMD."""
    entrypoint = exec_form(only(found, "ENTRYPOINT"))
    cmd = exec_form(only(found, "CMD"))
    return [*entrypoint, *cmd]


def ignore_patterns() -> list[str]:
    lines = DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
    return [p.strip().rstrip("/") for p in lines if p.strip() and not p.startswith("#")]


def ignored(path: str, patterns: list[str]) -> bool:
    """Docker's matching, near enough: a pattern that matches the path or a folder above it."""
    parts = Path(path.rstrip("/")).parts
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    hits = [
        not p.startswith("!")
        for p in patterns
        for prefix in prefixes
        if fnmatch.fnmatchcase(prefix, p.lstrip("!").removeprefix("**/"))
        or fnmatch.fnmatchcase(prefix, p.lstrip("!"))
    ]
    return bool(hits) and hits[-1]


@pytest.fixture(scope="module")
def dockerfile() -> list[tuple[str, str]]:
    return instructions(DOCKERFILE.read_text(encoding="utf-8"))


# === Static checks ===
def test_base_image_is_a_pinned_python_slim(dockerfile):
    base = only(dockerfile, "FROM")
    match = re.fullmatch(r"python:3\.(\d+)\.\d+-slim(?:-[a-z]+)?(?:@sha256:[0-9a-f]{64})?", base)
    assert match, f"FROM {base}: expected a pinned python:3.X.Y-slim[-debian] tag"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    lowest = re.fullmatch(r">=3\.(\d+)", project["requires-python"])
    assert lowest and int(match[1]) >= int(lowest[1])


def test_the_pinned_requirements_are_installed_before_the_sources(dockerfile):
    copies = copy_sources(dockerfile)
    requirements = [dest for src, dest in copies if src == "requirements.txt"]
    assert len(requirements) == 1, "COPY requirements.txt (the pinned runtime file) once"
    installs = [a for k, a in dockerfile if k == "RUN" and "pip install" in a]
    from_file = [a for a in installs if f"-r {requirements[0]}" in a]
    assert from_file, f"no RUN pip install -r {requirements[0]}"
    assert "--no-cache-dir" in from_file[0]
    assert not any("requirements-dev" in a or "requirements-beam" in a for a in installs)
    package = [a for a in installs if re.search(r"pip install .*--no-deps \.(\s|$)", a)]
    assert package, "the package itself: pip install --no-deps . (not editable)"
    assert not any(re.search(r"\s(-e|--editable)\s", a) for a in installs)
    # Dependencies are a layer of their own: copying the sources must not invalidate it.
    install_line = next(i for i, (k, a) in enumerate(dockerfile) if k == "RUN" and a in from_file)
    before = [a for k, a in dockerfile[:install_line] if k == "COPY"]
    assert len(before) == 1 and before[0].startswith("requirements.txt "), before


def test_every_copied_path_exists_and_is_in_the_build_context(dockerfile):
    patterns = ignore_patterns()
    for required in (".git", ".venv", "output", "exported"):
        assert ignored(required, patterns), f".dockerignore lets {required} into the context"
    for src, _ in copy_sources(dockerfile):
        assert (ROOT / src).exists(), f"COPY {src}: no such path in the repository"
        assert not ignored(src, patterns), f"COPY {src}: excluded by .dockerignore"


def test_the_package_build_gets_every_package_folder(dockerfile):
    """Every folder setup.py installs (and the readme pyproject names) is copied."""
    import runpy

    layout = runpy.run_path(str(ROOT / "setup.py"), run_name="setup")  # setup() not called
    folders = set(layout["INSTALLED_NAMES"])
    readme = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    copied = {src.rstrip("/") for src, _ in copy_sources(dockerfile)}
    missing = (folders | {"setup.py", "pyproject.toml", readme["readme"]}) - copied
    assert not missing, f"not copied into the image: {sorted(missing)}"


def test_it_runs_as_a_non_root_user(dockerfile):
    start = index_of(dockerfile, "ENTRYPOINT")
    users = [a for k, a in dockerfile[:start] if k == "USER"]
    assert users, "no USER before ENTRYPOINT: the server would run as root"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0"), f"USER {users[-1]}"
    assert not [a for k, a in dockerfile[start:] if k == "USER"]


def test_the_serve_command_is_installed_as_a_console_command():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert scripts["scripts"][SERVE_COMMAND] == "zh_textclf.cli.serve:main"


def run_entrypoint(dockerfile, tmp_path, extra_env=None, extra_args=()) -> list[str]:
    """The image's ENTRYPOINT + CMD through /bin/sh, with a zh-textclf-serve that prints its
    arguments: what the real command would be given."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    fake = bin_dir / SERVE_COMMAND
    fake.write_text(
        f"#!{sys.executable}\nimport json, sys\nprint(json.dumps(sys.argv[1:]))\n",
        encoding="utf-8",
    )
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    env = {**env_of(dockerfile), **(extra_env or {})}
    env["PATH"] = f"{bin_dir}{os.pathsep}{os.environ['PATH']}"
    command = [*run_command(dockerfile), *extra_args]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_default_command_serves_the_models_volume(dockerfile, tmp_path):
    from scripts.serve import build_parser

    command = run_command(dockerfile)
    assert SERVE_COMMAND in " ".join(command), "use the installed console command"
    env = env_of(dockerfile)
    args = build_parser().parse_args(run_entrypoint(dockerfile, tmp_path))
    assert args.export_dir == MODELS_DIR
    assert MODELS_DIR in exec_form(only(dockerfile, "VOLUME"))
    assert args.host == "0.0.0.0"
    assert str(args.port) == env["PORT"] == only(dockerfile, "EXPOSE").split("/")[0]
    assert args.model_name == env["MODEL_NAME"]


def test_model_name_port_and_extra_flags_can_be_chosen(dockerfile, tmp_path):
    from scripts.serve import build_parser

    argv = run_entrypoint(
        dockerfile,
        tmp_path,
        {"MODEL_NAME": "新闻 news", "PORT": "9000"},
        ["--threads", "2", "--max_batch_size", "16"],
    )
    args = build_parser().parse_args(argv)
    assert (args.model_name, args.port, args.export_dir) == ("新闻 news", 9000, MODELS_DIR)
    assert (args.threads, args.max_batch_size) == (2, 16)


# === The health check against the real app ===
class StandInPredictor:
    """/health never touches the model; anything else would fail loudly."""


@pytest.fixture
def live_app(tmp_path):
    """The Flask app (serving.app.create_app) over an export-shaped folder, on a free port."""
    from werkzeug.serving import make_server

    from serving.app import ServerState, create_app
    from serving.batcher import MicroBatcher
    from serving.model_holder import ModelHolder
    from serving.validation import Limits

    models = tmp_path / "models"
    (models / "3").mkdir(parents=True)
    (models / "3" / "saved_model.pb").write_bytes(b"")
    holder = ModelHolder(models, lambda found: StandInPredictor(), poll_seconds=0)
    state = ServerState()
    app = create_app(holder, MicroBatcher(holder), Limits(), "news", state)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield SimpleNamespace(app=app, state=state, port=server.server_port, server=server)
    server.shutdown()
    thread.join(timeout=10)


def run_healthcheck(dockerfile, port: int) -> subprocess.CompletedProcess:
    command = healthcheck_command(dockerfile)
    assert command[0] == "python", "the image has python, not curl"
    env = {**os.environ, **env_of(dockerfile), "PORT": str(port)}
    return subprocess.run(
        [sys.executable, *command[1:]], env=env, capture_output=True, text=True, timeout=60
    )


def test_the_health_check_asks_a_route_the_server_answers(dockerfile, live_app):
    reply = run_healthcheck(dockerfile, live_app.port)
    assert reply.returncode == 0, reply.stderr
    path = re.search(
        r"http://127\.0\.0\.1:[^/]*(/[\w/.-]*)", " ".join(healthcheck_command(dockerfile))
    )
    assert path, "the health check asks the server on 127.0.0.1, on $PORT"
    answer = live_app.app.test_client().get(path[1])
    assert answer.status_code == 200
    assert answer.get_json() == {"status": "ok", "model_name": "news", "model_version": 3}


def test_the_health_check_fails_while_draining_and_when_down(dockerfile, live_app):
    live_app.state.draining.set()  # SIGTERM received: /health answers 503
    assert run_healthcheck(dockerfile, live_app.port).returncode == 1
    live_app.server.shutdown()
    live_app.server.server_close()
    assert run_healthcheck(dockerfile, live_app.port).returncode == 1


# === The image, built and run (needs a container engine) ===
def docker(*args: str, timeout: float = 120, check: bool = True) -> str:
    done = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    if check:
        assert done.returncode == 0, f"docker {' '.join(args)}: {done.stderr[-3000:]}"
    return done.stdout.strip()


def engine_missing() -> str | None:
    """Why no image can be built here, or None."""
    if shutil.which("docker") is None:
        return "no docker command"
    try:
        done = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        return "docker info timed out"
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["docker info failed"])[-1]
        return f"no container engine answers docker info: {reason}"
    return None


@pytest.fixture(scope="session")
def docker_image() -> str:
    """The image built from this checkout; a skip where no engine answers. Session-scoped and
    asked for first, so that the skip comes before the exports are made."""
    reason = engine_missing()
    if reason:
        pytest.skip(reason)
    image = "zh-textclf:test"
    docker("build", "--tag", image, str(ROOT), timeout=3600)
    return image


@pytest.mark.slow  # builds the image (downloads TensorFlow) and starts a container
def test_the_image_serves_an_export(docker_image, serving_models, tmp_path):
    import numpy as np

    from serving import Predictor
    from tests.support.samples import SERVING_TEXTS
    from tests.support.serving import http_call

    # What export.sh wrote, readable by the image's user whatever this user's umask.
    models = tmp_path / "news"
    shutil.copytree(serving_models["multiclass"].export_dir, models)
    for path in [models, *models.rglob("*")]:
        path.chmod(path.stat().st_mode | stat.S_IROTH | (stat.S_IXOTH if path.is_dir() else 0))

    name = f"zh-textclf-test-{uuid.uuid4().hex[:12]}"
    docker(
        *("run", "--detach", "--name", name, "--publish", "127.0.0.1::8501"),
        *("--volume", f"{models}:{MODELS_DIR}:ro", "--env", "MODEL_NAME=news"),
        *("--health-interval", "2s", docker_image),  # the image's check, asked more often
    )
    try:
        deadline = time.monotonic() + 300
        health = "starting"
        while health != "healthy":
            state = json.loads(docker("inspect", "--format", "{{json .State}}", name))
            health = state.get("Health", {}).get("Status", "none")
            if not state["Running"] or health == "unhealthy" or time.monotonic() > deadline:
                logs = docker("logs", name, check=False)
                pytest.fail(f"container {health}, running={state['Running']}: {logs[-3000:]}")
            time.sleep(1)
        assert docker("exec", name, "id", "-u") != "0"

        host_port = docker("port", name, "8501/tcp").splitlines()[0]
        server = SimpleNamespace(url=f"http://{host_port}")
        reply = http_call(server, "GET", "/health")
        assert reply.json() == {"status": "ok", "model_name": "news", "model_version": 1}
        reply = http_call(server, "POST", "/predict", {"texts": SERVING_TEXTS})
        assert reply.status == 200, reply.body
        expected = Predictor.from_export_dir(models).predict(SERVING_TEXTS)
        for got, want in zip(reply.json()["predictions"], expected, strict=True):
            assert got["label"] == want.label
            np.testing.assert_allclose(
                list(got["probabilities"].values()), list(want.probabilities.values()), atol=1e-4
            )
        reply = http_call(server, "POST", "/v1/models/news:predict", {"instances": SERVING_TEXTS})
        assert reply.status == 200, reply.body
        assert len(reply.json()["predictions"]) == len(SERVING_TEXTS)

        docker("stop", "--time", "30", name, timeout=60)  # SIGTERM: a graceful exit
        assert docker("inspect", "--format", "{{.State.ExitCode}}", name) == "0"
    finally:
        docker("rm", "--force", name, check=False)
