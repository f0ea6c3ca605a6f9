"""The files in deploy/ say what docs/deploy.md says they do."""
from __future__ import annotations

from typing import Any

import yaml

from tests.support import ROOT

DEPLOY = ROOT / "deploy"


def test_compose_runs_replicas_behind_haproxy() -> None:
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    greenrpc, haproxy = compose["services"]["greenrpc"], compose["services"]["haproxy"]
    assert greenrpc["deploy"]["replicas"] >= 2
    assert greenrpc["environment"]["GREENRPC_LISTEN"] == "0.0.0.0:8096"
    assert "./haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro" in haproxy["volumes"]
    config = (DEPLOY / "haproxy.cfg").read_text()
    assert "mode tcp" in config and "option httpchk GET /healthz" in config
    # Connections of a replica taken out of rotation must live on to receive their replies.
    settings = [line for line in config.splitlines() if not line.lstrip().startswith("#")]
    assert not any("shutdown-sessions" in line for line in settings)


def test_kubernetes_probes_healthz_and_drains() -> None:
    documents: list[Any] = list(yaml.safe_load_all((DEPLOY / "kubernetes.yaml").read_text()))
    deployment, service = documents
    assert (deployment["kind"], service["kind"]) == ("Deployment", "Service")
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/healthz"
    assert "preStop" in container["lifecycle"]
    assert pod["terminationGracePeriodSeconds"] > 5 + 10  # preStop sleep + default drain
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
