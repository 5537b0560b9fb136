// Helpers shared by the abi sources (not part of the public header).
#pragma once

#include <string>

#include "rdma_agent/abi.hpp"

namespace rdma_agent::abi {

bool rdma_soname(const std::string& soname);          // libibverbs.so.1, libmlx5.so.1, ...
bool rdma_version_node(const std::string& v);         // IBVERBS_*, RDMACM_*, MLX5_*, ...
bool rdma_core_only_node(const std::string& v);       // IBVERBS_1.5+, IBVERBS_PRIVATE_*, RDMACM_1.1+
std::string family_of(const Manifest& m);

}  // namespace rdma_agent::abi
