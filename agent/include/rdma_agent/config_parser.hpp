// Parsing /etc/rdma-agent/agent.yaml into Config (docs/agent-config.md).
// Every error names file:line:column and what was expected; the caller exits 3.
#pragma once

#include <stdexcept>
#include <string>

#include "rdma_agent/config.hpp"

namespace rdma_agent {

class ConfigError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Parses YAML text; `source` names the file in error messages and in Config::source.
// Throws ConfigError on syntax errors, unknown keys, duplicate keys, wrong types, out-of-range
// numbers and invalid addresses.
Config parse_config(const std::string& text, const std::string& source);

// Reads and parses a file; throws ConfigError if it cannot be read.
Config load_config_file(const std::string& path);

// Validates an address: IPv4/IPv6 literal (for multicast: a multicast group).
bool is_ip_address(const std::string& s);
bool is_multicast_group(const std::string& s);

}  // namespace rdma_agent
