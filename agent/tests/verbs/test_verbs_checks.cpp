// Unit tests of the verbs layer against the fake VerbsApi: the happy paths move and verify real
// bytes through the fake's in-memory data path; every failure path must name the failing call
// and its errno text, and leave no verbs object alive.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include <cerrno>
#include <cstring>

#include "fake_verbs.hpp"
#include "rdma_agent/sysfs.hpp"
#include "verbs_checks.hpp"
#include "verbs_common.hpp"

using namespace rdma_agent;
using rdma_agent::test::FakeVerbs;
using rdma_agent::test::MapFs;

namespace {

struct Env {
    std::shared_ptr<FakeVerbs> api = std::make_shared<FakeVerbs>();
    MapFs fs = test::rxe_node_fs();
    Config cfg;
    Env() {
        api->add_device(test::rxe_device("rxe0"));
        api->ipv4["eth1"] = "10.77.0.11";
        api->addr_device["10.77.0.11"] = "rxe0";
    }
    CheckResult run(std::unique_ptr<Check> c) {
        Context ctx{cfg, fs};
        return c->run(ctx);
    }
};

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("verbs: SEND/RECV and RDMA WRITE verified on an rxe-like port", "[verbs]") {
    Env env;
    const auto r = env.run(make_verbs_check(env.api));
    INFO(r.message);
    REQUIRE(r.status == Status::pass);
    REQUIRE(r.entities.size() == 1);
    const auto& e = r.entities[0];
    CHECK(e.name == "rxe0/1");
    CHECK(e.details["bytes_sent"] == 4096);
    CHECK(e.details["bytes_written"] == 4096);
    CHECK(e.details["sends"] == 1);
    CHECK(e.details["rdma_writes"] == 1);
    // RoCE: the RoCE v2 IPv4-mapped GID (index 3 of the fake rxe) is the one used
    CHECK(e.details["gid_index"] == 3);
    CHECK(e.details["gid_type"] == "RoCE v2");
    CHECK(env.api->live() == 0);
}

TEST_CASE("verbs: InfiniBand port connects by LID without a GRH", "[verbs]") {
    Env env;
    env.api = std::make_shared<FakeVerbs>();
    test::FakeDevice d;
    d.name = "mlx5_0";
    test::FakePort p;
    p.link_layer = IBV_LINK_LAYER_INFINIBAND;
    p.lid = 7;
    d.ports.push_back(p);
    env.api->add_device(d);
    const auto r = env.run(make_verbs_check(env.api));
    INFO(r.message);
    REQUIRE(r.status == Status::pass);
    CHECK(r.entities[0].details["link_layer"] == "InfiniBand");
    CHECK(r.entities[0].details["lid"] == 7);
    CHECK_FALSE(r.entities[0].details.contains("gid_index"));
    CHECK(env.api->count("ibv_query_gid_table") == 0);
    CHECK(env.api->live() == 0);
}

TEST_CASE("verbs: RoCE port without any GID names the cause", "[verbs]") {
    Env env;
    env.api = std::make_shared<FakeVerbs>();
    auto d = test::rxe_device("rxe0");
    d.ports[0].gids.clear();
    env.api->add_device(d);
    const auto r = env.run(make_verbs_check(env.api));
    CHECK(r.status == Status::fail);
    CHECK(has(r.message, "no GID on this RoCE port"));
    CHECK(env.api->live() == 0);
}

TEST_CASE("verbs: buffer size follows verbs.bytes", "[verbs]") {
    Env env;
    env.cfg.verbs.bytes = 65536;
    const auto r = env.run(make_verbs_check(env.api));
    REQUIRE(r.status == Status::pass);
    CHECK(r.entities[0].details["bytes_verified"] == 2 * 65536);
}

TEST_CASE("verbs: teardown runs in reverse order of creation", "[verbs][teardown]") {
    Env env;
    env.run(make_verbs_check(env.api));
    const auto& a = *env.api;
    REQUIRE(a.count("ibv_destroy_qp") == 2);
    REQUIRE(a.count("ibv_destroy_cq") == 4);
    CHECK(a.last("ibv_destroy_qp") < a.first("ibv_destroy_cq"));
    CHECK(a.last("ibv_destroy_cq") < a.first("ibv_dereg_mr"));
    CHECK(a.last("ibv_dereg_mr") < a.first("ibv_dealloc_pd"));
    CHECK(a.last("ibv_dealloc_pd") < a.last("ibv_close_device"));
    CHECK(a.live() == 0);
}

TEST_CASE("verbs: every failing call is named with its errno text and nothing leaks", "[verbs][errors]") {
    const auto [call, err] = GENERATE(table<std::string, int>({
        {"ibv_get_device_list", ENOSYS},
        {"ibv_open_device", EACCES},
        {"ibv_query_gid_table", EINVAL},
        {"ibv_alloc_pd", ENOMEM},
        {"ibv_reg_mr", EFAULT},
        {"ibv_create_cq", ENOMEM},
        {"ibv_create_qp", ENOSPC},
        {"ibv_modify_qp", EINVAL},
        {"ibv_post_recv", ENOMEM},
        {"ibv_post_send", EIO},
        {"ibv_poll_cq", EIO},
    }));
    Env env;
    // open_device is called once to select ports and again for the test: fail the second one
    env.api->fail(call, err, call == "ibv_open_device" ? 2 : 1);
    const auto r = env.run(make_verbs_check(env.api));
    INFO(call << ": " << r.message);
    CHECK(r.status == Status::fail);
    CHECK(has(r.message, call));
    CHECK(has(r.message, std::strerror(err)));
    CHECK(has(r.message, "errno " + std::to_string(err)));
    CHECK(env.api->live() == 0);
}

TEST_CASE("verbs: a completion that never comes times out and names the wait", "[verbs][timeout]") {
    Env env;
    env.api->deliver = false;
    env.cfg.verbs.timeout_ms = 30;
    const auto r = env.run(make_verbs_check(env.api));
    CHECK(r.status == Status::fail);
    CHECK(has(r.message, "timed out after 30 ms"));
    CHECK(has(r.message, "SEND completion on QP A"));
    CHECK(env.api->live() == 0);
}

TEST_CASE("verbs: corrupted payload is detected with its offset", "[verbs]") {
    Env env;
    env.api->corrupt = true;
    const auto r = env.run(make_verbs_check(env.api));
    CHECK(r.status == Status::fail);
    CHECK(has(r.message, "SEND/RECV data corrupted"));
    CHECK(has(r.message, "offset 4095"));
}

TEST_CASE("verbs: no device names the missing layer", "[verbs][layers]") {
    Env env;
    env.api = std::make_shared<FakeVerbs>();  // libibverbs lists nothing

    SECTION("no kernel driver") {
        env.fs = MapFs{};
        const auto r = env.run(make_verbs_check(env.api));
        CHECK(r.status == Status::fail);
        CHECK(has(r.message, "/sys/class/infiniband is empty"));
    }
    SECTION("no uverbs device") {
        env.fs.files.erase("/sys/class/infiniband_verbs/uverbs0/ibdev");
        const auto r = env.run(make_verbs_check(env.api));
        CHECK(has(r.message, "ib_uverbs not loaded"));
    }
    SECTION("no /dev node") {
        env.fs.files.erase("/dev/infiniband/uverbs0");
        const auto r = env.run(make_verbs_check(env.api));
        CHECK(has(r.message, "/dev/infiniband/uverbs0 (uverbs device of rxe0) is missing"));
    }
    SECTION("no provider") {
        const auto r = env.run(make_verbs_check(env.api));
        CHECK(r.status == Status::fail);
        CHECK(has(r.message, "no provider for rxe0 (driver rxe)"));
        CHECK(has(r.message, "/etc/libibverbs.d/rxe.driver"));
    }
}

TEST_CASE("verbs: config decides the devices and ports", "[verbs][config]") {
    Env env;
    SECTION("expected device absent") {
        env.cfg.devices.expected.push_back({"mlx5_0", {}, std::nullopt, {}});
        const auto r = env.run(make_verbs_check(env.api));
        CHECK(r.status == Status::fail);
        CHECK(has(r.message, "expected device mlx5_0 not listed by libibverbs"));
        CHECK(has(r.message, "does not exist in /sys/class/infiniband (kernel has: rxe0)"));
    }
    SECTION("expected port down") {
        env.api = std::make_shared<FakeVerbs>();
        auto d = test::rxe_device("rxe0");
        d.ports[0].state = IBV_PORT_DOWN;
        env.api->add_device(d);
        env.cfg.devices.expected.push_back({"rxe0", {1}, std::nullopt, {}});
        const auto r = env.run(make_verbs_check(env.api));
        CHECK(r.status == Status::fail);
        CHECK(has(r.message, "port 1 of rxe0 is DOWN, not ACTIVE"));
    }
    SECTION("non-existent port") {
        env.cfg.devices.expected.push_back({"rxe0", {2}, std::nullopt, {}});
        const auto r = env.run(make_verbs_check(env.api));
        CHECK(r.status == Status::fail);
        CHECK(has(r.message, "port 2 of rxe0 does not exist (1 port(s))"));
    }
    SECTION("bad config values refused before any verbs call") {
        env.cfg.verbs.bytes = 0;
        const auto r = env.run(make_verbs_check(env.api));
        CHECK(r.status == Status::fail);
        CHECK(has(r.message, "verbs.bytes"));
        CHECK(env.api->log.empty());
    }
}

TEST_CASE("flow_steering: rxe-like device without the capability", "[flow]") {
    Env env;
    SECTION("not required: skip") {
        const auto r = env.run(make_flow_steering_check(env.api));
        CHECK(r.status == Status::skip);
        CHECK(has(r.message, "unsupported by device rxe0"));
    }
    SECTION("required: fail") {
        env.cfg.flow_steering.required = true;
        const auto r = env.run(make_flow_steering_check(env.api));
        CHECK(r.status == Status::fail);
        CHECK(has(r.message, "unsupported by device rxe0"));
        CHECK(has(r.message, "required"));
    }
    CHECK(env.api->count("ibv_create_flow") == 0);
    CHECK(env.api->live() == 0);
}

TEST_CASE("flow_steering: capable device", "[flow]") {
    Env env;
    env.api = std::make_shared<FakeVerbs>();
    auto d = test::rxe_device("mlx5_0");
    d.cap_flags_ex = IBV_DEVICE_MANAGED_FLOW_STEERING;
    env.api->add_device(d);
    SECTION("rule created and destroyed") {
        const auto r = env.run(make_flow_steering_check(env.api));
        INFO(r.message);
        CHECK(r.status == Status::pass);
        CHECK(env.api->count("ibv_create_flow") == 1);
        CHECK(env.api->count("ibv_destroy_flow") == 1);
    }
    SECTION("ENXIO: unsupported, skip unless required") {
        env.api->fail("ibv_create_flow", ENXIO);
        auto r = env.run(make_flow_steering_check(env.api));
        CHECK(r.status == Status::skip);
        CHECK(has(r.message, "unsupported by device mlx5_0"));
        CHECK(has(r.message, "device-managed steering not enabled"));
    }
    SECTION("EOPNOTSUPP: its own message") {
        env.cfg.flow_steering.required = true;
        env.api->fail("ibv_create_flow", EOPNOTSUPP);
        auto r = env.run(make_flow_steering_check(env.api));
        CHECK(r.status == Status::fail);
        CHECK(has(r.message, "lacks the verb"));
    }
    SECTION("EPERM on the flow: CAP_NET_RAW") {
        env.api->fail("ibv_create_flow", EPERM);
        auto r = env.run(make_flow_steering_check(env.api));
        CHECK(r.status == Status::fail);
        CHECK(has(r.message, "needs CAP_NET_RAW"));
    }
    SECTION("EPERM on the raw packet QP: CAP_NET_RAW") {
        env.api->fail("ibv_create_qp", EPERM);
        auto r = env.run(make_flow_steering_check(env.api));
        CHECK(r.status == Status::fail);
        CHECK(has(r.message, "RAW_PACKET QP"));
        CHECK(has(r.message, "CAP_NET_RAW"));
    }
    CHECK(env.api->live() == 0);
}

TEST_CASE("latency statistics follow perftest (hand-computed)", "[latency][stats]") {
    SECTION("even kept count: median is the mean of the two middle samples") {
        // sorted: 2 4 6 8 10 12 14 16 | 100 200 (top 2 dropped) -> m = 8
        const auto f = verbs::latency_figures({10, 2, 4, 6, 8, 12, 14, 16, 100, 200});
        CHECK(f.kept == 8);
        CHECK(f.min == Approx(1.0));         // 2 / 2
        CHECK(f.median == Approx(4.5));      // (8 + 10) / 2 / 2
        CHECK(f.average == Approx(4.5));     // 72 / 8 / 2
        CHECK(f.p99 == Approx(50.0));        // d[ceil(8 * 0.99) = 8] = 100, halved
        CHECK(f.p999 == Approx(50.0));       // d[ceil(8 * 0.999) = 8]
        CHECK(f.max == Approx(50.0));        // d[m] like perftest
    }
    SECTION("odd kept count: median is the middle sample") {
        // sorted: 1 2 3 | 4 5 -> m = 3
        const auto f = verbs::latency_figures({5, 3, 1, 4, 2});
        CHECK(f.median == Approx(1.0));      // d[1] = 2, halved
        CHECK(f.average == Approx(1.0));     // (1+2+3)/3/2
        CHECK(f.p99 == Approx(2.0));         // d[3] = 4
        CHECK(f.min == Approx(0.5));
    }
    SECTION("larger sample: p99 index ceil(m*0.99)") {
        std::vector<double> d;
        for (int i = 1; i <= 1002; ++i) d.push_back(i);  // m = 1000
        const auto f = verbs::latency_figures(d);
        CHECK(f.median == Approx((500.0 + 501.0) / 2 / 2));  // d[499]=500, d[500]=501
        CHECK(f.p99 == Approx(991.0 / 2));                    // d[990] = 991
        CHECK(f.p999 == Approx(1000.0 / 2));                  // d[999] = 1000
        CHECK(f.max == Approx(1001.0 / 2));                   // d[1000]
    }
    SECTION("too few samples") { CHECK_THROWS_AS(verbs::latency_figures({1, 2}), std::invalid_argument); }
}

TEST_CASE("latency: measure_latency runs the ping-pong", "[latency]") {
    FakeVerbs api;
    api.add_device(test::rxe_device("rxe0"));
    LatencyRequest req;
    req.iters = 200;
    req.responder_thread = GENERATE(true, false);
    const auto s = measure_latency(api, req);
    CHECK(s.device == "rxe0");
    CHECK(s.iters == 200);
    CHECK(s.gid_index == 3);
    CHECK(s.min_us <= s.median_us);
    CHECK(s.median_us <= s.p99_us);
    CHECK(s.p99_us <= s.max_us);
    // 200 pings + 200 pongs
    CHECK(api.count("ibv_post_send") == 400);
    CHECK(api.live() == 0);

    SECTION("bad requests refused before any verbs call") {
        FakeVerbs a2;
        a2.add_device(test::rxe_device("rxe0"));
        LatencyRequest bad;
        bad.iters = 4;
        CHECK_THROWS_WITH(measure_latency(a2, bad), Catch::Contains("iters must be at least 5"));
        bad.iters = 100;
        bad.size = 0;
        CHECK_THROWS_WITH(measure_latency(a2, bad), Catch::Contains("size must be"));
        CHECK(a2.log.empty());
    }
    SECTION("unknown GID index") {
        FakeVerbs a3;
        a3.add_device(test::rxe_device("rxe0"));
        LatencyRequest r3;
        r3.gid_index = 9;
        CHECK_THROWS_WITH(measure_latency(a3, r3), Catch::Contains("GID index 9 is not a valid entry"));
        CHECK(a3.live() == 0);
    }
    SECTION("lost ping times out (responder thread): the measuring side reports") {
        FakeVerbs a4;
        a4.add_device(test::rxe_device("rxe0"));
        a4.deliver = false;
        LatencyRequest r4;
        r4.timeout_ms = 200;  // margins wide enough for a loaded 2-core CI host
        CHECK_THROWS_WITH(measure_latency(a4, r4), Catch::Contains("pong RECV on QP A") && Catch::Contains("timed out"));
        CHECK(a4.live() == 0);
    }
    SECTION("lost ping times out (one thread)") {
        FakeVerbs a5;
        a5.add_device(test::rxe_device("rxe0"));
        a5.deliver = false;
        LatencyRequest r5;
        r5.timeout_ms = 200;
        r5.responder_thread = false;
        CHECK_THROWS_WITH(measure_latency(a5, r5), Catch::Contains("ping RECV on QP B") && Catch::Contains("timed out"));
        CHECK(a5.live() == 0);
    }
    SECTION("responder failure is the reported cause") {
        FakeVerbs a6;
        a6.add_device(test::rxe_device("rxe0"));
        a6.fail("ibv_post_send", EIO, 2);  // the first pong
        LatencyRequest r6;
        CHECK_THROWS_WITH(measure_latency(a6, r6), Catch::Contains("ibv_post_send(pong SEND on QP B)") &&
                                                      Catch::Contains(std::strerror(EIO)));
        CHECK(a6.live() == 0);
    }
}

TEST_CASE("latency check: budget decides", "[latency]") {
    Env env;
    env.cfg.latency.iters = 50;
    SECTION("no budget: skip") {
        const auto r = env.run(make_latency_check(env.api));
        CHECK(r.status == Status::skip);
        CHECK(has(r.message, "no latency budget configured"));
        CHECK(env.api->log.empty());
    }
    SECTION("within budget: pass with figures") {
        env.cfg.latency.median_budget_us = 1e6;
        env.cfg.latency.p99_budget_us = 1e6;
        const auto r = env.run(make_latency_check(env.api));
        INFO(r.message);
        CHECK(r.status == Status::pass);
        CHECK(r.entities.at(0).details.contains("median_us"));
        CHECK(r.entities.at(0).details["iters"] == 50);
    }
    SECTION("over the budget: fail naming the figure") {
        env.cfg.latency.median_budget_us = 0.0;
        const auto r = env.run(make_latency_check(env.api));
        CHECK(r.status == Status::fail);
        CHECK(has(r.message, "exceeds the budget of 0.00 us"));
    }
    CHECK(env.api->live() == 0);
}

TEST_CASE("multicast: join, send, receive, leave", "[multicast]") {
    Env env;
    SECTION("all datagrams received") {
        const auto r = env.run(make_multicast_check(env.api));
        INFO(r.message);
        REQUIRE(r.status == Status::pass);
        const auto& e = r.entities.at(0);
        CHECK(e.name == "239.1.1.1");
        CHECK(e.details["sent"] == 20);
        CHECK(e.details["received"] == 20);
        CHECK(e.details["lost"] == 0);
        CHECK(e.details["bind_address"] == "10.77.0.11");
        CHECK(env.api->count("rdma_leave_multicast") == 2);
        // leave before the QPs, QPs before the PD, the PD before the ids, ids before the channel
        CHECK(env.api->last("rdma_leave_multicast") < env.api->first("rdma_destroy_qp"));
        CHECK(env.api->last("rdma_destroy_qp") < env.api->first("ibv_dealloc_pd"));
        CHECK(env.api->last("ibv_dealloc_pd") < env.api->first("rdma_destroy_id"));
        CHECK(env.api->last("rdma_destroy_id") < env.api->first("rdma_destroy_event_channel"));
    }
    SECTION("another node's check on the same group at the same moment: its datagrams are ignored") {
        // Lab, 2026-11-29: two nodes' gates ran together and each lost 2-3 of 20: the other's
        // datagrams (same seq numbers) had used up the member's receives.
        env.api->mcast_foreign = 20;
        const auto r = env.run(make_multicast_check(env.api));
        INFO(r.message);
        REQUIRE(r.status == Status::pass);
        const auto& e = r.entities.at(0);
        CHECK(e.details["received"] == 20);
        CHECK(e.details["foreign"] == 20);
        CHECK(e.details["corrupted"] == 0);
        CHECK(has(r.message, "20 from other senders on the group ignored"));
    }
    SECTION("no loopback: loss reported") {
        env.api->mcast_loopback = false;
        env.cfg.multicast.timeout_ms = 20;
        const auto r = env.run(make_multicast_check(env.api));
        CHECK(r.status == Status::fail);
        CHECK(has(r.message, "received 0 of 20 datagrams"));
        CHECK(r.entities.at(0).details["lost"] == 20);
    }
    SECTION("join fails: named") {
        env.api->fail("rdma_join_multicast", EADDRNOTAVAIL);
        const auto r = env.run(make_multicast_check(env.api));
        CHECK(r.status == Status::fail);
        CHECK(has(r.message, "rdma_join_multicast(239.1.1.1 via 10.77.0.11)"));
        CHECK(has(r.message, std::strerror(EADDRNOTAVAIL)));
    }
    SECTION("no join event: timeout names the event") {
        env.api->deliver_join_event = false;
        const auto r = env.run(make_multicast_check(env.api));
        CHECK(r.status == Status::fail);
        CHECK(has(r.message, "waiting for RDMA_CM_EVENT_MULTICAST_JOIN"));
    }
    SECTION("no IPv4 on the netdev") {
        env.api->ipv4.clear();
        const auto r = env.run(make_multicast_check(env.api));
        CHECK(r.status == Status::fail);
        CHECK(has(r.message, "no IPv4 address to bind to"));
    }
    SECTION("configured bind address is used") {
        env.cfg.multicast.bind_address = "10.77.0.99";
        env.api->addr_device["10.77.0.99"] = "rxe0";
        const auto r = env.run(make_multicast_check(env.api));
        CHECK(r.status == Status::pass);
        CHECK(r.entities.at(0).details["bind_address"] == "10.77.0.99");
    }
    SECTION("invalid group refused") {
        env.cfg.multicast.group = "239.1.1";
        const auto r = env.run(make_multicast_check(env.api));
        CHECK(r.status == Status::fail);
        CHECK(has(r.message, "multicast.group '239.1.1' is not an IPv4/IPv6 address"));
    }
    SECTION("each rdma_cm step failing is named") {
        const auto call = GENERATE(as<std::string>{}, "rdma_create_event_channel", "rdma_create_id",
                                   "rdma_resolve_addr", "rdma_create_qp", "ibv_create_ah", "ibv_alloc_pd");
        env.api->fail(call, ENOMEM);
        const auto r = env.run(make_multicast_check(env.api));
        INFO(r.message);
        CHECK(r.status == Status::fail);
        CHECK(has(r.message, call));
    }
    CHECK(env.api->live() == 0);
}

// ------------------------------------------------------------------------------------------
// The devices check's GID source on live nodes: ibv_query_gid_table rendered like sysfs.

TEST_CASE("verbs GID source: one table query per device, rendered like the sysfs files", "[gids]") {
    auto api = std::make_shared<FakeVerbs>();
    auto dev = test::rxe_device("rxe0");
    ibv_gid_entry empty{};  // an all-zero slot: sysfs shows it as a zero GID, read_device skips it
    empty.gid_index = 4;
    empty.gid_type = IBV_GID_TYPE_ROCE_V2;
    dev.ports[0].gids.push_back(empty);
    api->add_device(dev);
    std::vector<unsigned> asked;
    auto src = make_verbs_gid_source(api, [&](unsigned ifindex) -> std::optional<std::string> {
        asked.push_back(ifindex);
        return std::string("ens4");
    });
    const auto gids = src->port_gids("rxe0", 1);
    REQUIRE(gids);
    REQUIRE(gids->size() == 4);
    CHECK((*gids)[0].index == 0);
    CHECK((*gids)[0].gid == "fe80:0000:0000:0000:5054:00ff:fe12:3456");
    CHECK((*gids)[0].type == "IB/RoCE v1");
    CHECK((*gids)[1].type == "RoCE v2");
    CHECK((*gids)[3].index == 3);
    CHECK((*gids)[3].gid == "0000:0000:0000:0000:0000:ffff:0a4d:000b");
    CHECK((*gids)[3].type == "RoCE v2");
    CHECK((*gids)[3].ndev == "ens4");
    CHECK(asked == std::vector<unsigned>{3, 3, 3, 3});
    // asked again (another port, another check): no second query
    CHECK(src->port_gids("rxe0", 2)->empty());
    CHECK(api->count("ibv_query_gid_table") == 1);
    CHECK(api->count("ibv_open_device") == 1);
    CHECK(api->live() == 0);  // the device context is closed again
}

TEST_CASE("verbs GID source: cannot tell -> nullopt (the devices check reads sysfs)", "[gids]") {
    auto api = std::make_shared<FakeVerbs>();
    api->add_device(test::rxe_device("rxe0"));
    SECTION("the device cannot be opened") {
        api->fail("ibv_open_device", EACCES);
        auto src = make_verbs_gid_source(api, [](unsigned) { return std::optional<std::string>("ens4"); });
        CHECK_FALSE(src->port_gids("rxe0", 1));
    }
    SECTION("the table query fails") {
        api->fail("ibv_query_gid_table", EOPNOTSUPP);
        auto src = make_verbs_gid_source(api, [](unsigned) { return std::optional<std::string>("ens4"); });
        CHECK_FALSE(src->port_gids("rxe0", 1));
        CHECK(api->live() == 0);
    }
    SECTION("a device libibverbs does not list") {
        auto src = make_verbs_gid_source(api, [](unsigned) { return std::optional<std::string>("ens4"); });
        CHECK_FALSE(src->port_gids("mlx5_0", 1));
    }
    SECTION("a netdev that went away") {
        auto src = make_verbs_gid_source(api, [](unsigned) { return std::optional<std::string>(); });
        CHECK_FALSE(src->port_gids("rxe0", 1));
    }
}
