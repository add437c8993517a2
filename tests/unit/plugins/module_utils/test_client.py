# -*- coding: utf-8 -*-
# Copyright (c) pinotops.pinot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The controller client at the transport level, against the fake controller over real HTTP."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import base64
import socket

import pytest
import requests
from urllib3.exceptions import (
    ConnectTimeoutError,
    MaxRetryError,
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)

from ansible_collections.pinotops.pinot.plugins.module_utils.client import PinotClient
from ansible_collections.pinotops.pinot.plugins.module_utils.errors import PinotError, describe_body, redact_url
from ansible_collections.pinotops.pinot.plugins.module_utils.names import split_table_name, table_name_with_type
from ansible_collections.pinotops.pinot.plugins.module_utils.transport import was_never_sent
from ansible_collections.pinotops.pinot.tests.unit.fake_controller import Reply, error, server_id
from ansible_collections.pinotops.pinot.tests.unit.fake_rebalance import RebalanceSim


def dead_url():
    """A loopback URL nothing listens on (connection refused)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return "http://127.0.0.1:%d" % port


class SleepRecorder:
    def __init__(self):
        self.waits = []

    def __call__(self, seconds):
        self.waits.append(seconds)


def client_for(fake, **kwargs):
    kwargs.setdefault("sleep", SleepRecorder())
    return PinotClient(kwargs.pop("urls", [fake.url]), **kwargs)


def last_headers(fake):
    return fake.requests[-1][4]


def test_basic_auth_header(fake):
    client = client_for(fake, username="admin", password="s3cret")
    client.list_instances()
    expected = "Basic " + base64.b64encode(b"admin:s3cret").decode()
    assert last_headers(fake)["Authorization"] == expected


@pytest.mark.parametrize("token, sent", [
    ("abc123", "Bearer abc123"),
    ("Basic YWRtaW46c2VjcmV0", "Basic YWRtaW46c2VjcmV0"),
])
def test_token_header(fake, token, sent):
    client_for(fake, token=token).list_instances()
    assert last_headers(fake)["Authorization"] == sent


def test_extra_headers_and_user_agent(fake):
    client_for(fake, headers={"Database": "analytics"}).list_instances()
    headers = last_headers(fake)
    assert headers["Database"] == "analytics"
    assert headers["User-Agent"].startswith("pinotops.pinot/0.1.0")


def test_get_retries_on_503_with_bounded_backoff(fake):
    fake.fail_next("GET", "^/instances$", error(503, "Pinot controller status is STARTING"), times=3)
    client = client_for(fake, retries=3, backoff_base=0.5, backoff_max=1.5)
    assert server_id(0) in client.list_instances()
    assert len(fake.calls("GET", "/instances")) == 4
    waits = client.sleep.waits
    assert len(waits) == 3
    # attempt n waits within [ceiling/2, ceiling], ceiling = min(max, base * 2**(n-1))
    for attempt, wait in enumerate(waits, start=1):
        ceiling = min(1.5, 0.5 * 2 ** (attempt - 1))
        assert ceiling / 2 <= wait <= ceiling


def test_get_gives_up_after_retries(fake):
    fake.fail_next("GET", "^/instances$", error(503, "Pinot controller status is STARTING"), times=10)
    client = client_for(fake, retries=2)
    with pytest.raises(PinotError) as caught:
        client.list_instances()
    assert caught.value.status == 503 and caught.value.unavailable
    assert "STARTING" in str(caught.value)
    assert len(fake.calls("GET", "/instances")) == 3


def test_work_starting_post_is_not_retried(fake):
    fake.fail_next("POST", "/rebalance$", error(503, "Service Unavailable"), times=5)
    client = client_for(fake, retries=3)
    with pytest.raises(PinotError) as caught:
        client.rebalance("events", "REALTIME", {"dryRun": "false"})
    assert caught.value.status == 503
    assert len(fake.calls("POST", "/tables/events/rebalance")) == 1
    assert client.sleep.waits == []


def test_get_fails_over_to_next_controller(fake):
    client = client_for(fake, urls=[dead_url(), fake.url], retries=0)
    assert server_id(1) in client.list_instances()


def test_post_never_sent_fails_over(fake):
    fake.route("POST", r"/tables/(?P<name>[^/]+)/rebalance",
               lambda f, m, q, b: Reply(200, {"jobId": "j1", "status": "IN_PROGRESS", "description": "In progress"}))
    client = client_for(fake, urls=[dead_url(), fake.url], retries=0)
    status, reply = client.rebalance("events", "REALTIME", {})
    assert (status, reply["jobId"]) == (200, "j1")
    assert len(fake.calls("POST")) == 1


def test_controller_down_message():
    client = PinotClient([dead_url()], retries=1, sleep=SleepRecorder())
    with pytest.raises(PinotError) as caught:
        client.list_instances()
    text = str(caught.value)
    assert "cannot reach the controller" in text
    assert "Check controller_url" in text
    assert caught.value.status is None and caught.value.unavailable


@pytest.mark.parametrize("reply, expected", [
    (error(404, "Instance Server_x_1 not found"), "HTTP 404: Instance Server_x_1 not found"),
    (Reply(500, "java.lang.NullPointerException at ...", "text/plain"), "HTTP 500: java.lang.NullPointerException"),
    (Reply(502, "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>", "text/html"),
     "an HTML page (502 Bad Gateway) - a proxy or load balancer answered"),
])
def test_error_bodies(fake, reply, expected):
    fake.fail_next("GET", "^/instances/x$", reply, times=10)
    client = client_for(fake, retries=0)
    with pytest.raises(PinotError) as caught:
        client.get(client.path("/instances/{0}", "x"), ok=(200,))
    assert expected in str(caught.value)
    assert caught.value.status == reply.status
    assert caught.value.unavailable == (reply.status in (502, 503, 504))
    assert caught.value.method == "GET"
    assert caught.value.url == fake.url + "/instances/x"


@pytest.mark.parametrize("status", [401, 403])
def test_auth_failure_hint(fake, status):
    fake.users = {"admin": "right"}
    fake.auth_failure_status = status  # 403 is what Pinot 0.11 answers to a wrong password
    client = client_for(fake, username="admin", password="wrong-pw",
                        credential_origin={"username": "the username option", "password": "PINOT_PASSWORD"})
    with pytest.raises(PinotError) as caught:
        client.list_instances()
    text = str(caught.value)
    assert caught.value.status == status and not caught.value.unavailable
    assert "Sent: user 'admin' (username from the username option, password from PINOT_PASSWORD)" in text
    if status == 403:
        # both causes are possible on that answer: neither is asserted
        assert "both when it refuses the credentials" in text and "lacks the permission" in text
    else:
        assert "credentials were missing or refused" in text
    assert "Check the credentials" in text
    assert "wrong-pw" not in text + repr(caught.value.to_result())


def test_authorization_header_from_headers_is_named(fake):
    fake.users = {"admin": "right"}
    with pytest.raises(PinotError) as caught:
        client_for(fake, headers={"Authorization": "Basic Zm9vOmJhcg=="}).list_instances()
    assert "Sent: the Authorization header from the headers option" in str(caught.value)
    assert "Zm9vOmJhcg" not in str(caught.value)


@pytest.mark.parametrize("credentials, secret", [
    ({"username": "admin", "password": "hunter2"}, "hunter2"),
    ({"token": "tok-XYZ"}, "tok-XYZ"),
])
def test_secrets_never_in_errors(fake, credentials, secret):
    # A proxy that echoes the request, credentials included, into its error page.
    fake.fail_next("GET", "^/instances$", Reply(400, "bad request with %s" % secret, "text/plain"), times=5)
    with pytest.raises(PinotError) as caught:
        client_for(fake, **credentials).list_instances()
    text = str(caught.value) + repr(caught.value.to_result())
    assert secret not in text
    assert "bad request with ********" in text


def test_credentials_in_url_are_not_echoed():
    client = PinotClient(["http://admin:hunter2@127.0.0.1:1"], retries=0, sleep=SleepRecorder(), password="hunter2")
    with pytest.raises(PinotError) as caught:
        client.list_instances()
    assert "hunter2" not in str(caught.value)
    assert caught.value.url == "http://127.0.0.1:1/instances"


def test_tls_options_passed_to_session(fake, tmp_path):
    ca = str(tmp_path / "ca.pem")
    client = PinotClient([fake.url], ca_path=ca, client_cert="/c.pem", client_key="/k.pem")
    assert client.session.verify == ca
    assert client.session.cert == ("/c.pem", "/k.pem")
    assert PinotClient([fake.url], validate_certs=False).session.verify is False
    assert PinotClient([fake.url]).session.verify is True


def test_ca_path_wins_over_ca_bundle_environment(fake, tmp_path, monkeypatch):
    # requests merges REQUESTS_CA_BUNDLE over a session's verify; the client must send ca_path per request.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "other-bundle.pem"))
    ca = str(tmp_path / "ca.pem")
    client = client_for(fake, ca_path=ca)
    sent = {}

    def record(method, url, **kwargs):
        sent.update(kwargs)
        raise PinotError("stop here")
    monkeypatch.setattr(client.session, "request", record)
    with pytest.raises(PinotError):
        client.list_instances()
    assert sent["verify"] == ca


def test_tls_error_is_explained(fake):
    client = client_for(fake, urls=[fake.url.replace("http://", "https://")], retries=0)
    with pytest.raises(PinotError) as caught:
        client.list_instances()
    assert "TLS error" in str(caught.value)
    assert "ca_path" in str(caught.value) and not caught.value.unavailable


@pytest.mark.parametrize("url", ["pinot-controller:9000", "ftp://host", ""])
def test_bad_controller_url(url):
    with pytest.raises(PinotError) as caught:
        PinotClient([url])
    assert "controller_url" in str(caught.value)


def test_path_arguments_are_quoted(fake):
    client = client_for(fake)
    assert client.get_instance("a/b?c") is None
    assert fake.requests[-1][1] == "/instances/a%2Fb%3Fc"


def test_typed_tables_come_from_two_listings(fake):
    fake.add_table("events_REALTIME", {})
    fake.add_table("events_OFFLINE", {})
    fake.add_table("stats_OFFLINE", {})
    tables = client_for(fake).typed_tables()
    assert tables == [("events_OFFLINE", "OFFLINE"), ("stats_OFFLINE", "OFFLINE"), ("events_REALTIME", "REALTIME")]
    assert [(c[1], c[2]["type"]) for c in fake.requests] == [("/tables", ["offline"]), ("/tables", ["realtime"])]


@pytest.mark.parametrize("missing_table_404", [True, False])
def test_table_config_of_an_unknown_table_is_empty(fake, missing_table_404):
    """Live 1.5.1 answers 404 for a table it does not have, 0.11 200 {}: both mean "no such table"."""
    fake.missing_table_404 = missing_table_404
    fake.add_table("events_OFFLINE", {})
    client = client_for(fake)
    assert client.get_table_config("nosuch") == {}
    assert list(client.get_table_config("events")) == ["OFFLINE"]


def test_probes_new_controller(fake):
    fake.route("DELETE", r"/tables/(?P<name>[^/]+)/rebalance", lambda f, m, q, b: Reply(200, []))
    client = client_for(fake)
    assert client.has_drop_validation() and client.has_tag_validation() and client.has_live_instances()
    assert client.has_rebalance_cancel() and client.has_periodic_task_post()
    assert client.has_query_routing_states() is False
    calls = len(fake.requests)
    client.has_drop_validation()
    client.has_rebalance_cancel()
    assert len(fake.requests) == calls  # cached
    assert set(c[0] for c in fake.requests) == {"GET"}  # probes only read


def test_probes_old_controller(fake):
    fake.features.update(drop_validation=False, tag_validation=False, live_instances=False, state_put=False,
                         periodic_task_post=False)
    client = client_for(fake)
    assert not client.has_drop_validation()
    assert not client.has_tag_validation()
    assert not client.has_live_instances()
    assert client.has_rebalance_cancel() is False and client.has_periodic_task_post() is False
    assert client.has_query_routing_states() is False
    assert set(c[0] for c in fake.requests) == {"GET"}


def test_probes_read_the_listing_of_the_real_path_templates(fake):
    """Pinot's listing names parameters its own way ({tableName}); only the shape of the path counts."""
    listing = {"paths": {
        "/tables/{tableName}/rebalance": {"post": {"parameters": [{"name": "forceCommit", "in": "query"}]},
                                          "delete": {}},
        "/periodictask/run": {"get": {}, "post": {}},
        "/instances/updateTags/validate": {"post": {}},
        "/instances/{instanceName}/state": {"put": {"parameters": [
            {"name": "state", "in": "query", "description": "enable|disable|drain|queries_disable|queries_enable"}]},
            "post": {}},
    }}
    fake.route("GET", r"/swagger\.json", lambda f, m, q, b: Reply(200, listing))
    client = client_for(fake)
    assert client.has_rebalance_cancel() and client.has_periodic_task_post() and client.has_tag_validation()
    assert client.has_query_routing_states() is True and client.has_rebalance_force_commit() is True
    assert len(fake.requests) == 1


def test_probes_without_listing(fake):
    """A proxy hides /swagger.json: unknown (None), or assumed present where the write itself tells (cancel)."""
    fake.api_listing = False
    client = client_for(fake)
    assert client.has_periodic_task_post() is None and client.has_query_routing_states() is None
    assert client.has_rebalance_force_commit() is None
    assert client.has_rebalance_cancel() is True
    assert client.has_tag_validation() is True  # asked with an empty validation, which changes nothing
    assert [c[0] for c in fake.writes()] == []


def test_listing_needs_no_credentials(fake):
    fake.users = {"admin": "right"}
    assert client_for(fake, username="admin", password="wrong").api_listing() is not None


def test_instance_state_put_and_fallback(fake):
    """No probe: the PUT is the write; a 405 (Pinot before 1.0) sends the older POST form, remembered."""
    client = client_for(fake)
    client.set_instance_state(server_id(1), "disable")
    assert fake.instances[server_id(1)]["enabled"] is False
    assert [(c[0], c[2]) for c in fake.writes()] == [("PUT", {"state": ["disable"]})]
    fake.features["state_put"] = False
    old = client_for(fake)
    old.set_instance_state(server_id(1), "enable")
    old.set_instance_state(server_id(2), "disable")
    assert fake.instances[server_id(1)]["enabled"] is True and fake.instances[server_id(2)]["enabled"] is False
    assert [c[0] for c in fake.writes()[1:]] == ["PUT", "POST", "POST"]


@pytest.mark.parametrize("state_put", [True, False])
def test_unknown_instance_state_is_unsupported(fake, state_put):
    fake.features["state_put"] = state_put
    with pytest.raises(PinotError) as caught:
        client_for(fake).set_instance_state(server_id(1), "queries_disable")
    assert caught.value.unsupported and caught.value.status in (400, 405)
    assert fake.calls("POST") == []  # the older POST form is not tried with a state it does not know


def test_cancel_on_a_controller_without_it_is_unsupported(fake):
    with pytest.raises(PinotError) as caught:
        fake.route("POST", r"/tables/(?P<name>[^/]+)/rebalance", lambda f, m, q, b: Reply(200, {}))
        client_for(fake).cancel_rebalance("events", "OFFLINE")
    assert caught.value.unsupported and caught.value.status == 405


def test_live_instances_without_endpoint_uses_zookeeper_listing(fake):
    fake.features["live_instances"] = False
    fake.live.discard(server_id(3))
    live = client_for(fake).live_instances()
    assert server_id(0) in live and server_id(3) not in live


def dns_failure(monkeypatch, host):
    """Make `host` fail to resolve, as a DNS server that does not know it (urllib3 2.x: NameResolutionError)."""
    real = socket.getaddrinfo

    def getaddrinfo(name, *args, **kwargs):
        if name == host:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(name, *args, **kwargs)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def test_post_fails_over_after_dns_failure(fake, monkeypatch):
    """A DNS failure sends nothing, so a work-starting POST goes on to the next controller."""
    dns_failure(monkeypatch, "pinot-controller-0.invalid")
    fake.route("POST", r"/tables/(?P<name>[^/]+)/rebalance",
               lambda f, m, q, b: Reply(200, {"jobId": "j1", "status": "IN_PROGRESS", "description": "In progress"}))
    client = client_for(fake, urls=["http://pinot-controller-0.invalid:9000", fake.url], retries=1, backoff_base=0.01)
    status, reply = client.rebalance("events", "REALTIME", {})
    assert (status, reply["jobId"]) == (200, "j1") and len(fake.calls("POST")) == 1


def test_post_is_not_resent_after_a_read_timeout(fake):
    """The controller may have started the work before the answer timed out: the POST goes nowhere else."""
    fake.delay = 0.5
    client = client_for(fake, urls=[fake.url, fake.url + "/"], retries=2, timeout=0.1)
    with pytest.raises(PinotError) as caught:
        client.rebalance("events", "REALTIME", {"dryRun": "false"})
    assert caught.value.unavailable and len(fake.calls("POST")) == 1 and client.sleep.waits == []


def refused_then_connects(monkeypatch, refusals):
    """The first `refusals` connections are refused (a restarting controller); counts every attempt."""
    import urllib3.util.connection
    real = urllib3.util.connection.create_connection
    attempts = []

    def create_connection(address, *args, **kwargs):
        attempts.append(address)
        if len(attempts) <= refusals:
            raise ConnectionRefusedError(111, "Connection refused")
        return real(address, *args, **kwargs)
    monkeypatch.setattr(urllib3.util.connection, "create_connection", create_connection)
    return attempts


def test_connect_retries_are_urllib3s_and_safe_for_a_post(fake, monkeypatch):
    attempts = refused_then_connects(monkeypatch, refusals=2)
    fake.route("POST", r"/tables/(?P<name>[^/]+)/rebalance", lambda f, m, q, b: Reply(200, {"jobId": "j1"}))
    client = client_for(fake, retries=2, backoff_base=0.01)
    assert client.session.get_adapter(fake.url).max_retries.connect == 2
    assert client.rebalance("events", "REALTIME", {})[1]["jobId"] == "j1"
    assert len(attempts) == 3 and len(fake.calls("POST")) == 1
    assert client.sleep.waits == []  # no round of our own: the connection retries were urllib3's


def test_unreachable_controller_is_tried_retries_plus_one_times(monkeypatch):
    attempts = refused_then_connects(monkeypatch, refusals=100)
    client = PinotClient(["http://127.0.0.1:9"], retries=2, backoff_base=0.01, sleep=SleepRecorder())
    with pytest.raises(PinotError) as caught:
        client.list_instances()
    assert caught.value.unavailable and len(attempts) == 3 and client.sleep.waits == []


def test_the_controller_that_answered_is_asked_first(fake, monkeypatch):
    dns_failure(monkeypatch, "gone.invalid")
    client = client_for(fake, urls=["http://gone.invalid:9000", fake.url], retries=0)
    client.list_instances()
    assert client.urls == [fake.url, "http://gone.invalid:9000"]


def test_copy_has_the_same_settings_and_its_own_session(fake):
    fake.users = {"admin": "s3cret"}
    client = client_for(fake, username="admin", password="s3cret", headers={"Database": "analytics"}, retries=2)
    client.has_live_instances()
    twin = client.copy()
    assert twin.session is not client.session
    assert twin.session.get_adapter(fake.url).max_retries.connect == 2
    assert twin.session.auth == client.session.auth and twin.session.headers == client.session.headers
    assert (twin.urls, twin.timeout, twin.verify) == (client.urls, client.timeout, client.verify)
    calls = len(fake.requests)
    assert twin.has_live_instances() and len(fake.requests) == calls  # what was probed is known to the copy
    assert server_id(0) in twin.list_instances()
    assert last_headers(fake)["Database"] == "analytics"
    twin.urls.reverse()
    assert client.urls == [fake.url]  # its own list


@pytest.mark.parametrize("make, never_sent", [
    (lambda: requests.exceptions.ConnectionError(MaxRetryError(None, "/x", NameResolutionError(
        "h", None, socket.gaierror(-2, "Name or service not known")))), True),
    (lambda: requests.exceptions.ConnectionError(MaxRetryError(None, "/x", NewConnectionError(
        None, "Failed to establish a new connection: [Errno 111] Connection refused"))), True),
    (lambda: requests.exceptions.ConnectTimeout(MaxRetryError(None, "/x", ConnectTimeoutError("timed out"))), True),
    (lambda: requests.exceptions.ReadTimeout(ReadTimeoutError(None, "/x", "Read timed out")), False),
    (lambda: requests.exceptions.ConnectionError(ProtocolError(
        "Connection aborted.", ConnectionResetError(104, "Connection reset by peer"))), False),
    (lambda: requests.exceptions.SSLError("certificate verify failed"), False),
])
def test_was_never_sent_by_type(make, never_sent):
    assert was_never_sent(make()) is never_sent


def test_instance_state_falls_back_to_post(fake):
    fake.features["state_put"] = False
    client_for(fake).set_instance_state(server_id(2), "disable")
    assert fake.instances[server_id(2)]["enabled"] is False
    assert fake.calls("POST", "/instances/")[-1][3] == "disable"


def test_drop_instance_absent_is_false(fake):
    assert client_for(fake).drop_instance("Server_gone_1") is False


def test_reset_segment_names_the_replica(fake):
    # Pinot 0.11 answers this (checked live): 200 {"status": "Successfully reset segment: ..."}.
    fake.route("POST", r"/segments/(?P<table>[^/]+)/(?P<segment>[^/]+)/reset",
               lambda f, m, q, b: Reply(200, {"status": "Successfully reset segment: %s of table: %s" % (
                   m.group("segment"), m.group("table"))}))
    reply = client_for(fake).reset_segment("events", "REALTIME", "events__1__2__20261122T0609Z", server_id(1))
    assert reply["status"] == "Successfully reset segment: events__1__2__20261122T0609Z of table: events_REALTIME"
    method, path, query, _body, _headers = fake.calls("POST")[0]
    assert (method, path) == ("POST", "/segments/events_REALTIME/events__1__2__20261122T0609Z/reset")
    assert query["targetInstance"] in (server_id(1), [server_id(1)])


def test_describe_body_json_without_error_key():
    class Resp:
        text = '{"unexpected": 1}'
        headers = {"Content-Type": "application/json"}
    assert describe_body(Resp()) == '{"unexpected": 1}'


def test_table_name_helpers():
    assert table_name_with_type("events", "realtime") == "events_REALTIME"
    assert table_name_with_type("events_REALTIME", "REALTIME") == "events_REALTIME"
    assert split_table_name("events_OFFLINE") == ("events", "OFFLINE")
    assert split_table_name("events") == ("events", None)
    assert redact_url("https://u:p@h:9000/x?y=1") == "https://h:9000/x"


@pytest.mark.parametrize("version, force_commit", [("1.4", True), ("1.1", False), ("0.11", False)])
def test_force_commit_is_read_from_the_rebalance_parameters_listed(fake, version, force_commit):
    RebalanceSim(fake, version)
    client = client_for(fake)
    assert client.has_rebalance_force_commit() is force_commit
    assert set(c[0] for c in fake.requests) == {"GET"}
