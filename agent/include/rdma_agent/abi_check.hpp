// The abi_scan check (issue 8): the binaries of `abi_scan.paths` against `abi_scan.manifest`.
// Not one of the seven stable checks: it is reported only when configured (or asked with --only).
#pragma once

#include <memory>
#include <string_view>

#include "rdma_agent/check.hpp"

namespace rdma_agent {

inline constexpr std::string_view kAbiScanCheckName = "abi_scan";

std::unique_ptr<Check> make_abi_scan_check();

}  // namespace rdma_agent
