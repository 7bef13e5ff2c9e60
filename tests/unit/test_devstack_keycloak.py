"""Keycloak in the local stack: the JDK it runs on (21 or newer, found under /usr/lib/jvm, or
a clear error naming the requirement), its ports per profile, and the command that fixes the
issuer to the profile's address."""

from __future__ import annotations

from pathlib import Path

import pytest

from devstack import Profile, keycloak
from devstack.environment import console_env
from devstack.errors import StackError


def _jdk(root: Path, name: str, version: str) -> Path:
    home = root / name
    (home / "bin").mkdir(parents=True)
    (home / "bin" / "java").write_text("#!/bin/sh\n")
    (home / "release").write_text(f'IMPLEMENTOR="x"\nJAVA_VERSION="{version}"\n')
    return home


@pytest.fixture
def jvm_root(tmp_path, monkeypatch):
    monkeypatch.setattr(keycloak, "JVM_ROOT", tmp_path)
    monkeypatch.delenv("KEYCLOAK_JAVA_HOME", raising=False)
    monkeypatch.delenv("JAVA_HOME", raising=False)
    return tmp_path


def test_the_newest_jdk_21_or_later_is_chosen(jvm_root):
    _jdk(jvm_root, "java-17-openjdk-amd64", "17.0.15")
    _jdk(jvm_root, "openjdk-21", "21.0.4")
    newest = _jdk(jvm_root, "temurin-25-jdk-amd64", "25.0.1")
    assert keycloak.java_home() == newest


def test_java_home_is_used_when_it_is_recent_enough(jvm_root, monkeypatch):
    newest = _jdk(jvm_root, "temurin-25-jdk-amd64", "25.0.1")
    older = _jdk(jvm_root, "java-17-openjdk-amd64", "17.0.15")
    monkeypatch.setenv("JAVA_HOME", str(older))  # Kafka's 17: not enough for Keycloak
    assert keycloak.java_home() == newest
    chosen = _jdk(jvm_root, "openjdk-21", "21.0.4")
    monkeypatch.setenv("KEYCLOAK_JAVA_HOME", str(chosen))
    assert keycloak.java_home() == chosen


def test_without_a_jdk_21_the_error_names_the_requirement(jvm_root):
    _jdk(jvm_root, "java-17-openjdk-amd64", "17.0.15")
    with pytest.raises(StackError, match="JDK 21 or newer"):
        keycloak.java_home()


def test_keycloak_and_the_console_have_ports_of_their_own_per_profile():
    dev, test = Profile.dev(), Profile.test(port_offset=800)
    assert (dev.keycloak_port, dev.console_port) == (8180, 8000)
    assert (test.keycloak_port, test.console_port) == (18980, 18800)
    for profile in (dev, test):
        ports = list(profile.ports().values())
        assert len(ports) == len(set(ports))  # nothing else listens there
    assert test.keycloak_issuer == "http://127.0.0.1:18980/realms/dbt"


def test_the_issuer_is_fixed_to_the_profiles_address(tmp_path):
    command = keycloak.command(tmp_path / "kc.sh", 18980)
    assert command[1] == "start-dev"
    assert "--hostname=http://127.0.0.1:18980" in command
    assert "--http-host=127.0.0.1" in command and "--import-realm" in command


def test_the_console_is_pointed_at_the_profiles_keycloak_and_services():
    env = console_env(Profile.test(port_offset=800))
    assert env["OIDC_ISSUER"] == "http://127.0.0.1:18980/realms/dbt"
    assert env["CONSOLE_BASE_URL"] == "http://127.0.0.1:18800"
    assert env["INTAKE_URL"] == "http://127.0.0.1:18801"
    assert Path(env["CONSOLE_SECRET_KEY_FILE"]).is_file()
