// The out-of-band exchange of `rdma-agent serve` / `rdma-agent check --peer HOST`: one text line
// each way over TCP on the data network, before and after the RC traffic. No secrets travel (QP
// number, PSN, LID, GID, MTU and the test's sizes are what every RDMA connection manager
// exchanges in the clear), so the lines may be logged as they are.
//
//   client -> server  RDMA-AGENT-PEER/1 HELLO qpn=17 psn=4660 lid=0 gid=::ffff:10.0.0.1 mtu=1024
//                                         verify=8192 size=2 iters=1000
//   server -> client  RDMA-AGENT-PEER/1 ACCEPT qpn=18 psn=22136 lid=0 gid=::ffff:10.0.0.2 mtu=1024
//                                          device=rxe0/1
//                 or  RDMA-AGENT-PEER/1 ERROR <text>
//   server -> client  RDMA-AGENT-PEER/1 DONE verified=8192 answered=1000     (after the traffic)
//
// Unknown keys are ignored (a newer peer may add some); a missing or malformed known key is an
// error that names the key. Pure code: no sockets, no verbs (unit-tested and fuzzed).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rdma_agent::peer {

inline constexpr std::string_view kMagic = "RDMA-AGENT-PEER/1";
inline constexpr uint16_t kDefaultPort = 18515;  // perftest's default port, familiar on RDMA networks
inline constexpr size_t kMaxLine = 512;
inline constexpr uint32_t kMaxBytes = 1U << 20;  // verify and size: at most 1 MiB
inline constexpr uint32_t kMaxIters = 1000000;

// One RC queue pair's address: what the other side needs to reach it.
struct QpAddress {
    uint32_t qpn = 0;    // 24 bits
    uint32_t psn = 0;    // 24 bits
    uint16_t lid = 0;    // InfiniBand; 0 on RoCE
    std::string gid;     // IPv6 text (RoCE: the IPv4-mapped RoCE v2 GID); "::" on InfiniBand without GRH
    int mtu = 0;         // active MTU in bytes (256..4096)
};

struct Hello {
    QpAddress qp;
    uint32_t verify = 0;  // bytes sent, checked and echoed once
    uint32_t size = 0;    // ping-pong message size
    uint32_t iters = 0;   // round trips
};

struct Accept {
    QpAddress qp;
    std::string device;   // the server's device/port, e.g. rxe0/1
};

struct Done {
    uint32_t verified = 0;
    uint32_t answered = 0;
};

// Parse results: the value, or the reason (naming the key or token at fault).
template <typename T>
struct Parsed {
    std::optional<T> value;
    std::string error;
};

std::string format_hello(const Hello& h);
std::string format_accept(const Accept& a);
std::string format_error(std::string_view text);   // newlines in text become spaces
std::string format_done(const Done& d);

Parsed<Hello> parse_hello(std::string_view line);
// The server's first answer: ACCEPT, or ERROR (then `error` holds "peer refused: <text>").
Parsed<Accept> parse_accept(std::string_view line);
Parsed<Done> parse_done(std::string_view line);

// Active MTU enum of libibverbs (IBV_MTU_256 = 1 ... IBV_MTU_4096 = 5) <-> bytes; 0 if invalid.
int mtu_bytes_to_enum(int bytes);
int mtu_enum_to_bytes(int e);

// HOST, HOST:PORT, [V6]:PORT -> host and port; nullopt with `error` set when malformed.
struct Endpoint {
    std::string host;
    uint16_t port = kDefaultPort;
    std::string text() const;
};
Parsed<Endpoint> parse_endpoint(std::string_view spec);

// The byte pattern both sides write and check: position- and seed-dependent, so a shifted,
// truncated or stale buffer does not pass.
void fill_pattern(uint8_t* p, size_t n, uint32_t seed);
// Index of the first byte that differs from the pattern, or -1.
long check_pattern(const uint8_t* p, size_t n, uint32_t seed);

}  // namespace rdma_agent::peer
