// libFuzzer target: the ELF/DWARF evidence reader (libelf/libdw) and the verdict on its result.
// Any input must give evidence (possibly with an error) and a verdict; never a crash, and never
// "compatible" for a file that could not be read.
#include <cstddef>
#include <cstdint>

#include "rdma_agent/abi.hpp"

namespace {
const rdma_agent::abi::Manifest& manifest() {
    static const rdma_agent::abi::Manifest m = [] {
        rdma_agent::abi::Manifest x;
        x.name = "fuzz";
        x.family = "rdma-core";
        x.libraries["libibverbs.so.1"]["ibv_open_device"] = {"IBVERBS_1.1"};
        x.libraries["libibverbs.so.1"]["ibv_reg_dmabuf_mr"] = {"IBVERBS_1.12"};
        x.structs["ibv_context"] = 328;
        return x;
    }();
    return m;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto ev = rdma_agent::abi::read_elf_memory(data, size, "fuzz.elf");
    const auto r = rdma_agent::abi::scan(ev, manifest());
    if (!ev.error.empty() && r.verdict == rdma_agent::abi::Verdict::compatible) __builtin_trap();
    (void)rdma_agent::abi::to_json(r, true, &ev).dump(-1, ' ', false, nlohmann::json::error_handler_t::strict);
    return 0;
}
