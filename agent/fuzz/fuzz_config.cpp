// libFuzzer target: the agent.yaml parser. Any input must give a Config or a ConfigError.
#include <cstddef>
#include <cstdint>
#include <string>

#include "rdma_agent/config_parser.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    try {
        const auto c = rdma_agent::parse_config(text, "fuzz.yaml");
        if (c.source != "fuzz.yaml") __builtin_trap();
    } catch (const rdma_agent::ConfigError& e) {
        if (std::string(e.what()).rfind("fuzz.yaml:", 0) != 0) __builtin_trap();  // always names the file
    }
    return 0;
}
