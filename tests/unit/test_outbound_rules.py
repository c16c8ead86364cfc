"""Where outbound HTTP may go: URL rules at the door, address rules at the socket."""

from __future__ import annotations

import ipaddress

import pytest

from domain.outbound import (
    destination_problem,
    normalized,
    parse_allowlist,
    url_problem,
    url_syntax_problem,
)

LOCAL_8080 = parse_allowlist(["127.0.0.1:8080"])


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://\x15example.com/", "control characters"),
        ("https://example.com/a\tb", "control characters"),
        ("https://xn--zz.com/", "international domain name"),
        ("https://user:pw@example.com/", "credentials"),
        ("https://token@example.com/", "credentials"),
        ("ftp://example.com/", "scheme"),
        ("https://example.com:99999/", "port"),
    ],
)
def test_malformed_urls_are_refused_with_a_reason(url: str, problem: str) -> None:
    found = url_syntax_problem(url)
    assert found is not None
    assert problem in found


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://127.0.0.1:5432/", "loopback"),
        ("http://0x7f.1/", "loopback"),
        ("http://2130706433/", "loopback"),
        ("http://169.254.169.254/latest/meta-data/", "metadata"),
        ("http://10.1.2.3/hook", "private"),
        ("http://[fd00::1]/hook", "private"),
        ("http://[::ffff:127.0.0.1]/hook", "loopback"),
        ("http://0.0.0.0/hook", "unspecified"),
        ("http://224.0.0.1/hook", "multicast"),
        ("http://localhost:8080/hook", "internal host name"),
        ("http://hooks.example.com:6379/", "internal service"),
        ("http://127.0.0.1:8081/", "loopback"),
    ],
)
def test_internal_destinations_are_refused_unless_allowlisted(url: str, problem: str) -> None:
    found = url_problem(url, https_only=False, allowlist=LOCAL_8080)
    assert found is not None
    assert problem in found


def test_an_allowlisted_address_and_port_is_accepted() -> None:
    assert url_problem("http://127.0.0.1:8080/hook", https_only=False, allowlist=LOCAL_8080) is None
    assert url_problem("https://hooks.example.com/in", https_only=True, allowlist=()) is None


def test_https_is_required_when_the_setting_says_so() -> None:
    assert url_problem("http://hooks.example.com/", https_only=True, allowlist=()) == (
        "https is required"
    )


@pytest.mark.parametrize(
    ("vendor", "url", "ok"),
    [
        ("wecom", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k", True),
        ("wecom", "https://evil.example.com/cgi-bin/webhook/send?key=k", False),
        ("dingtalk", "https://oapi.dingtalk.com/robot/send?access_token=t", True),
        ("dingtalk", "https://qyapi.weixin.qq.com/robot/send", False),
        ("feishu", "https://open.feishu.cn/open-apis/bot/v2/hook/x", True),
        ("feishu", "https://open.larksuite.com/open-apis/bot/v2/hook/x", True),
        ("feishu", "https://open.feishu.cn.evil.com/open-apis/bot/v2/hook/x", False),
    ],
)
def test_robot_urls_must_be_on_their_vendors_host(vendor: str, url: str, ok: bool) -> None:
    found = url_problem(url, https_only=True, allowlist=(), vendor=vendor)
    assert (found is None) is ok


def test_a_proxy_host_an_admin_allows_is_accepted_for_robots() -> None:
    url = "https://egress.corp.example/wecom/send?key=k"
    assert url_problem(url, https_only=True, allowlist=(), vendor="wecom") is not None
    proxies = ["egress.corp.example"]
    found = url_problem(url, https_only=True, allowlist=(), vendor="wecom", proxy_hosts=proxies)
    assert found is None


def test_allowlist_entries_take_addresses_networks_and_ports() -> None:
    allow = parse_allowlist(["10.0.0.0/8", "[::1]:9000", "192.168.1.5"])
    assert destination_problem(ipaddress.ip_address("10.9.9.9"), 443, allow) is None
    assert destination_problem(ipaddress.ip_address("::1"), 9000, allow) is None
    assert destination_problem(ipaddress.ip_address("::1"), 9001, allow) is not None
    assert destination_problem(ipaddress.ip_address("192.168.1.5"), 80, allow) is None
    assert destination_problem(ipaddress.ip_address("93.184.215.14"), 443, ()) is None
    with pytest.raises(ValueError, match="port"):
        parse_allowlist(["127.0.0.1:0"])
    with pytest.raises(ValueError, match="does not appear to be"):
        parse_allowlist(["not-an-address"])


def test_urls_are_stored_in_the_form_the_worker_uses() -> None:
    assert normalized("https://München.example/hook") == "https://xn--mnchen-3ya.example/hook"
