"""devstack's wiring of Prometheus and Alertmanager: setup builds their four binaries (promtool
and amtool first, each step runnable alone), ``make run``/``make up`` start them, ``make status``
shows where, the console is told their addresses, and their data live under the profile."""

from __future__ import annotations

from devstack import Profile, Stack, build, monitoring, paths
from devstack.cli import build_parser
from devstack.environment import console_env
from devstack.profile import CORE_INFRASTRUCTURE, INFRASTRUCTURE, MONITORING


def test_setup_builds_the_four_binaries_tools_first_and_each_step_runs_alone():
    names = [step.name for step in build.steps()]
    for binary in ("promtool", "amtool", "prometheus", "alertmanager"):
        step = next(s for s in build.steps() if s.name == binary)
        assert step.output == paths.BIN_DIR / binary
    assert names.index("promtool") < names.index("prometheus")
    assert names.index("amtool") < names.index("alertmanager")
    # `setup --only <step>` accepts every step (it used to refuse those it did not list).
    args = build_parser().parse_args(["setup", *(f"--only={name}" for name in names)])
    assert args.only == names


def test_monitoring_is_infrastructure_that_a_plain_test_stack_does_not_start():
    assert set(MONITORING) <= set(INFRASTRUCTURE)  # make status lists it, supervisor restarts it
    assert not set(MONITORING) & set(CORE_INFRASTRUCTURE)  # a plain test stack stays light


def test_status_shows_where_to_see_alerts():
    profile = Profile.test(port_offset=2100)
    stack = Stack(profile, detached=True)
    assert stack.address("prometheus") == "http://127.0.0.1:21190/api/v1/alerts"
    assert stack.address("alertmanager") == "http://127.0.0.1:21294/api/v2/alerts"


def test_the_console_reads_prometheus_and_alertmanager_of_its_profile():
    profile = Profile.test(port_offset=2100)
    env = console_env(profile)
    assert env["PROMETHEUS_URL"] == "http://127.0.0.1:21190"
    assert env["ALERTMANAGER_URL"] == "http://127.0.0.1:21294"


def test_commands_keep_data_under_the_profile_and_listen_on_loopback(tmp_path):
    import dataclasses

    profile = dataclasses.replace(Profile.dev(), root=tmp_path)
    prometheus = monitoring.prometheus_command(profile)
    alertmanager = monitoring.alertmanager_command(profile)
    assert f"--web.listen-address=127.0.0.1:{profile.prometheus_port}" in prometheus
    assert f"--storage.tsdb.path={profile.data_dir / 'prometheus' / 'data'}" in prometheus
    assert f"--web.listen-address=127.0.0.1:{profile.alertmanager_port}" in alertmanager
    assert f"--storage.path={profile.data_dir / 'alertmanager' / 'data'}" in alertmanager
    assert "--cluster.listen-address=" in alertmanager  # no gossip port shared between stacks
    assert (profile.data_dir / "prometheus" / "prometheus.yml").is_file()
    assert (profile.data_dir / "alertmanager" / "alertmanager.yml").is_file()
