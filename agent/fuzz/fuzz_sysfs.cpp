// libFuzzer target: the sysfs/procfs value parsers and modules.dep lookup.
#include <cstddef>
#include <cstdint>
#include <string>

#include "rdma_agent/sysfs.hpp"

using namespace rdma_agent::sysfs;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string s(reinterpret_cast<const char*>(data), size);
    if (auto st = parse_numbered_state(s); st && (st->code < 0 || st->code > 255 || st->name.empty())) __builtin_trap();
    if (auto r = parse_rate_gbps(s); r && !(*r >= 0)) __builtin_trap();
    (void)parse_int(s);
    if (auto h = parse_hex_id(s); h && *h > 0xFFFF) __builtin_trap();
    const bool valid = gid_is_valid(s);
    (void)gid_is_zero(s);
    if (auto ip = gid_ipv4(s); ip && !valid) __builtin_trap();
    for (const auto& m : parse_proc_modules(s))
        if (m.empty()) __builtin_trap();
    const auto sep = s.find('\n');
    if (sep != std::string::npos) {
        if (auto p = module_path_in_dep(s.substr(sep + 1), s.substr(0, sep))) (void)module_origin(*p);
    }
    (void)trim(s);
    return 0;
}
