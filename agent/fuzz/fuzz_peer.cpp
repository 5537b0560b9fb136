// libFuzzer target: the peer exchange lines a remote node sends (rdma_agent/peer_protocol.hpp).
// Whatever arrives, parsing never crashes, and a line that parses formats back to one that
// parses to the same values.
#include <cstddef>
#include <cstdint>
#include <string>

#include "rdma_agent/peer_protocol.hpp"

using namespace rdma_agent::peer;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string s(reinterpret_cast<const char*>(data), size);
    if (auto h = parse_hello(s); h.value) {
        const auto again = parse_hello(format_hello(*h.value));
        if (!again.value || again.value->qp.qpn != h.value->qp.qpn || again.value->iters != h.value->iters ||
            again.value->qp.gid != h.value->qp.gid)
            __builtin_trap();
    } else if (h.error.empty()) {
        __builtin_trap();
    }
    if (auto a = parse_accept(s); a.value) {
        const auto again = parse_accept(format_accept(*a.value));
        if (!again.value || again.value->qp.psn != a.value->qp.psn) __builtin_trap();
    }
    (void)parse_done(s);
    (void)parse_endpoint(s);
    if (parse_accept(format_error(s)).value) __builtin_trap();  // an ERROR line never parses as ACCEPT
    return 0;
}
