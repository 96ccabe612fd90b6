"""posternctl route (issue 7): the way a recipient's mail would go, with the DNS answers of its next hops."""
import json
import subprocess

import pytest

from conftest import BUILD, SLOW, Postern

ROUTES = """relayhost = [smarthost.example.com]:2600
route "partner.example.com" {
	via = [127.0.0.9]:2525
	tls = verify
	concurrency = 3
}
route "*.example.com" {
	via = mx
	tls = dane
}
route "inside.example.org" {
	via = lmtp:unix:/run/dovecot/lmtp
}
"""


@pytest.fixture
def conf(tmp_path, dns):
    """A config only: route needs no daemon running."""
    return Postern(tmp_path, dns, 2526).conf


@pytest.fixture
def routed(tmp_path, dns):
    return Postern(tmp_path, dns, 2526, extra=ROUTES).conf


def route(conf, *args):
    return subprocess.run([str(BUILD / "posternctl"), "-f", str(conf), "route", *args],
                          capture_output=True, text=True, timeout=60 * SLOW)


def test_mx_of_a_remote_domain_with_its_addresses(conf):
    r = route(conf, "bob@example.com")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "Recipient:    bob@example.com\n" in out
    assert "Domain:       example.com\n" in out
    assert "Class:        other:" in out
    assert "Route:        MX lookup (no route block matches, no relayhost)\n" in out
    assert "Next-Hop:     MX of example.com, port 2526\n" in out
    assert "MX:           1 host (DNSSEC insecure)\n" in out
    assert "  10   mx.example.com\n       A      127.0.0.1\n       AAAA   (no record)\n" in out

    j = json.loads(route(conf, "--json", "example.com").stdout)
    assert j["domain"] == "example.com" and j["class"] == "other"
    assert j["route"]["source"] == "default" and j["route"]["kind"] == "mx"
    assert j["route"]["port"] == 2526 and j["route"]["tls"] == "may"
    assert j["mx"] == {"status": "ok", "dnssec": "insecure", "records": 1}
    [h] = j["hosts"]
    assert h["name"] == "mx.example.com" and h["preference"] == 10
    assert h["a"]["addresses"] == ["127.0.0.1"] and h["aaaa"]["status"] == "nodata"
    assert h["tlsa"] is None and j["usable"] is True


def test_relay_domain_implicit_mx_and_null_mx(conf):
    j = json.loads(route(conf, "--json", "x@example.net").stdout)
    assert j["class"] == "relay" and j["hosts"][0]["name"] == "mx.example.com"
    # no MX record: the name itself is the mail host
    r = route(conf, "--json", "implicit.example.com")
    j = json.loads(r.stdout)
    assert j["implicit_mx"] is True and j["mx"]["status"] == "nodata"
    assert j["hosts"][0]["name"] == "implicit.example.com"
    assert j["hosts"][0]["preference"] is None
    assert j["hosts"][0]["a"]["addresses"] == ["127.0.0.1"]
    # RFC 7505: the domain takes no mail
    r = route(conf, "nullmx.example.com")
    assert r.returncode == 1 and "null MX" in r.stdout
    # no such domain
    r = route(conf, "--json", "nope.example.com")
    assert r.returncode == 1 and json.loads(r.stdout)["mx"]["status"] == "nxdomain"
    assert "MX:           no such name\n" in route(conf, "nope.example.com").stdout


def test_local_domain_goes_to_local_delivery(conf):
    r = route(conf, "alice@example.org")
    assert r.returncode == 0, r.stderr
    assert "Class:        local domain (local_domains)" in r.stdout
    assert "Route:        local delivery" in r.stdout
    assert "Hosts:" not in r.stdout
    j = json.loads(route(conf, "--json", "ALICE@Example.ORG.").stdout)
    assert j["domain"] == "example.org" and j["route"]["source"] == "local"
    assert j["hosts"] == []


def test_route_blocks_and_relayhost(routed):
    # a route block with a fixed next hop: no MX lookup
    j = json.loads(route(routed, "--json", "x@partner.example.com").stdout)
    r = j["route"]
    assert (r["source"], r["pattern"], r["via"], r["kind"]) == \
        ("route", "partner.example.com", "[127.0.0.9]:2525", "address")
    assert (r["port"], r["tls"], r["concurrency"]) == (2525, "verify", 3)
    assert j["hosts"] == [] and j["usable"] is True
    # "via = mx" overrides the relayhost; dane asks for TLSA records
    j = json.loads(route(routed, "--json", "mx.example.com").stdout)
    assert j["route"]["source"] == "route" and j["route"]["kind"] == "mx"
    assert j["route"]["tls"] == "dane"
    [h] = j["hosts"]     # no MX record for the name: implicit
    assert h["tlsa"]["status"] == "nxdomain" and h["tlsa"]["dnssec"] == "insecure"
    out = route(routed, "mx.example.com").stdout
    assert "TLS:          dane\n" in out and "       TLSA   (no such name)\n" in out
    # everything else goes to the smart host: its A/AAAA, no MX lookup
    r = route(routed, "bob@elsewhere.test")
    assert r.returncode == 0, r.stderr
    assert "Route:        relayhost (no route block matches)\n" in r.stdout
    assert "Next-Hop:     host smarthost.example.com (no MX lookup), port 2600\n" in r.stdout
    j = json.loads(route(routed, "--json", "bob@elsewhere.test").stdout)
    assert j["route"]["source"] == "relayhost" and j["mx"] is None
    assert j["hosts"][0]["name"] == "smarthost.example.com"
    assert j["hosts"][0]["a"]["addresses"] == ["127.0.0.1"]
    # an LMTP socket: no DNS at all
    j = json.loads(route(routed, "--json", "inside.example.org").stdout)
    assert (j["route"]["kind"], j["route"]["host"], j["route"]["lmtp"]) == \
        ("unix", "/run/dovecot/lmtp", True)
    assert j["usable"] is True


def test_route_usage_and_bad_names(conf):
    assert route(conf).returncode == 2
    assert route(conf, "a", "b").returncode == 2
    assert route(conf, "--bogus", "a").returncode == 2
    r = route(conf, "bob@exa mple.com")
    assert r.returncode == 1 and "not a domain" in r.stderr
    r = route(conf, "bob@")
    assert r.returncode == 1 and "no domain" in r.stderr
