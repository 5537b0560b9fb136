// The peer exchange lines (rdma_agent/peer_protocol.hpp): round trips, and every refusal names
// the key or token at fault.
#include <catch2/catch.hpp>

#include <vector>

#include "rdma_agent/peer_protocol.hpp"

using namespace rdma_agent::peer;

namespace {
QpAddress qp() {
    QpAddress a;
    a.qpn = 0x123456;
    a.psn = 4660;
    a.lid = 0;
    a.gid = "::ffff:10.99.0.11";
    a.mtu = 1024;
    return a;
}
}  // namespace

TEST_CASE("HELLO, ACCEPT and DONE survive a round trip") {
    const Hello h{qp(), 8192, 2, 1000};
    const auto line = format_hello(h);
    CHECK(line == "RDMA-AGENT-PEER/1 HELLO qpn=1193046 psn=4660 lid=0 gid=::ffff:10.99.0.11 mtu=1024 verify=8192 size=2 iters=1000\n");
    const auto p = parse_hello(line);
    REQUIRE(p.value);
    CHECK(p.value->qp.qpn == 0x123456);
    CHECK(p.value->qp.gid == "::ffff:10.99.0.11");
    CHECK(p.value->verify == 8192);
    CHECK(p.value->iters == 1000);

    const auto a = parse_accept(format_accept({qp(), "rxe0/1"}));
    REQUIRE(a.value);
    CHECK(a.value->device == "rxe0/1");
    CHECK(a.value->qp.mtu == 1024);

    const auto d = parse_done(format_done({8192, 1000}));
    REQUIRE(d.value);
    CHECK(d.value->verified == 8192);
    CHECK(d.value->answered == 1000);
}

TEST_CASE("unknown keys are ignored, known ones are required") {
    CHECK(parse_hello("RDMA-AGENT-PEER/1 HELLO qpn=1 psn=2 lid=0 gid=:: mtu=256 verify=0 size=1 iters=5 future=x\n").value);
    const auto p = parse_hello("RDMA-AGENT-PEER/1 HELLO qpn=1 psn=2 lid=0 gid=:: mtu=256 size=1 iters=5\n");
    CHECK_FALSE(p.value);
    CHECK(p.error == "missing verify=");
}

TEST_CASE("malformed lines are refused with the cause") {
    struct Case {
        const char* line;
        const char* error;
    };
    const std::vector<Case> cases = {
        {"GET / HTTP/1.1\r\n", "not an rdma-agent peer line"},
        {"RDMA-AGENT-PEER/1\n", "no message verb"},
        {"RDMA-AGENT-PEER/1 ACCEPT qpn=1\n", "expected HELLO, got ACCEPT"},
        {"RDMA-AGENT-PEER/1 HELLO qpn=16777216 psn=0 lid=0 gid=:: mtu=256 verify=0 size=1 iters=5\n", "qpn=16777216: larger than 16777215"},
        {"RDMA-AGENT-PEER/1 HELLO qpn=-1 psn=0 lid=0 gid=:: mtu=256 verify=0 size=1 iters=5\n", "qpn=-1: not a decimal number"},
        {"RDMA-AGENT-PEER/1 HELLO qpn=1 psn=0 lid=0 gid=10.0.0.1 mtu=256 verify=0 size=1 iters=5\n", "gid=10.0.0.1: not an IPv6-format GID"},
        {"RDMA-AGENT-PEER/1 HELLO qpn=1 psn=0 lid=0 gid=:: mtu=1500 verify=0 size=1 iters=5\n", "mtu=1500: not one of"},
        {"RDMA-AGENT-PEER/1 HELLO qpn=1 psn=0 lid=0 gid=:: mtu=256 verify=2000000 size=1 iters=5\n", "verify=2000000: larger than 1048576"},
        {"RDMA-AGENT-PEER/1 HELLO qpn=1 psn=0 lid=0 gid=:: mtu=256 verify=0 size=0 iters=5\n", "size=0"},
        {"RDMA-AGENT-PEER/1 HELLO qpn=1 psn=0 lid=0 gid=:: mtu=256 verify=0 size=1 iters=5 junk\n", "token 'junk' is not key=value"},
        {"RDMA-AGENT-PEER/1 HELLO qpn=1\x01\n", "non-printable"},
    };
    for (const auto& c : cases) {
        INFO(c.line);
        const auto p = parse_hello(c.line);
        CHECK_FALSE(p.value);
        CHECK_THAT(p.error, Catch::Contains(c.error));
    }
    CHECK_FALSE(parse_hello(std::string(600, 'A')).value);
}

TEST_CASE("an ERROR answer carries the peer's text") {
    const auto a = parse_accept(format_error("no ACTIVE port on rxe0\nsecond line"));
    CHECK_FALSE(a.value);
    CHECK(a.error == "peer refused: no ACTIVE port on rxe0 second line");
    const auto d = parse_done("RDMA-AGENT-PEER/1 ERROR ping RECV timed out\n");
    CHECK(d.error == "peer reported: ping RECV timed out");
}

TEST_CASE("peer endpoints") {
    auto e = parse_endpoint("node2");
    REQUIRE(e.value);
    CHECK(e.value->port == kDefaultPort);
    e = parse_endpoint("10.99.0.12:2000");
    REQUIRE(e.value);
    CHECK(e.value->host == "10.99.0.12");
    CHECK(e.value->port == 2000);
    e = parse_endpoint("[fe80::1%eth1]:2000");
    REQUIRE(e.value);
    CHECK(e.value->host == "fe80::1%eth1");
    CHECK(e.value->text() == "[fe80::1%eth1]:2000");
    CHECK_THAT(parse_endpoint("fe80::1").error, Catch::Contains("needs brackets"));
    CHECK_THAT(parse_endpoint("node2:0").error, Catch::Contains("not 1..65535"));
    CHECK_THAT(parse_endpoint("node2:").error, Catch::Contains("empty port"));
    CHECK_THAT(parse_endpoint("no de").error, Catch::Contains("not allowed"));
    CHECK_THAT(parse_endpoint("").error, Catch::Contains("empty peer"));
}

TEST_CASE("the pattern detects a changed, shifted or foreign buffer") {
    std::vector<uint8_t> b(4096);
    fill_pattern(b.data(), b.size(), 4660);
    CHECK(check_pattern(b.data(), b.size(), 4660) == -1);
    CHECK(check_pattern(b.data(), b.size(), 4661) >= 0);
    auto c = b;
    c[1234] ^= 1;
    CHECK(check_pattern(c.data(), c.size(), 4660) == 1234);
    CHECK(check_pattern(b.data() + 1, b.size() - 1, 4660) >= 0);
}

TEST_CASE("MTU conversions") {
    CHECK(mtu_bytes_to_enum(1024) == 3);
    CHECK(mtu_enum_to_bytes(3) == 1024);
    CHECK(mtu_bytes_to_enum(1500) == 0);
    CHECK(mtu_enum_to_bytes(0) == 0);
}
