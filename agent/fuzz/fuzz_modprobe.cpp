// libFuzzer target: modprobe.d parsing (continuations, comments, quotes) and /proc/cmdline.
#include <cstddef>
#include <cstdint>
#include <string>

#include "rdma_agent/modprobe.hpp"

using namespace rdma_agent::modprobe;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string s(reinterpret_cast<const char*>(data), size);
    std::vector<ParsedFile> files = {{"/etc/modprobe.d/fuzz.conf", s}};
    for (const auto& [name, v] : options_for(files, "mlx4_core")) {
        if (name.empty() || v.file != "/etc/modprobe.d/fuzz.conf" || v.line < 1) __builtin_trap();
    }
    for (const auto& [k, v] : split_params(s))
        if (k.empty()) __builtin_trap();
    (void)cmdline_value(s, "mlx4_core", "log_num_mgm_entry_size");
    return 0;
}
