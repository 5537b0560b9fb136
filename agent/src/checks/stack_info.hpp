// Stack identity read from files, shared by the stack check and `facts` (private to src/checks).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "rdma_agent/filesystem.hpp"

namespace rdma_agent::checks {

struct ModuleInfo {
    std::string name;
    bool loaded = false;
    std::optional<std::string> path;     // from modules.dep
    std::string origin;                  // sysfs::module_origin, "" when not found
    std::optional<std::string> version;  // /sys/module/<m>/version (out-of-tree modules set it)
    std::optional<std::string> taint;    // /sys/module/<m>/taint ("O" = out-of-tree)
};

struct StackInfo {
    std::optional<std::string> kernel_release;
    bool modules_dep_found = false;
    std::vector<ModuleInfo> modules;
    std::vector<ModuleInfo> drivers;             // kDriverModules, whether loaded or not
    std::optional<std::string> ofed_info_path;
    std::optional<std::string> ofed_version;     // "MLNX_OFED_LINUX-5.8-1.0.1.1"
    std::optional<std::string> rdma_core_version;
    std::optional<std::string> libibverbs_path;
    std::string provider_dir;                    // node path of the provider directory found
    std::vector<std::string> provider_libs;      // file names in provider_dir
    std::vector<std::string> driver_files;       // /etc/libibverbs.d/*.driver
    std::string detected;                        // "mofed" | "inbox"
};

StackInfo read_stack_info(const FileSystem& fs);

// Extracts "MLNX_OFED_LINUX-x.y-..." / "OFED-internal-..." from ofed_info's text.
std::optional<std::string> parse_ofed_version(const std::string& text);
// "libibverbs.so.1.14.44.0" -> "44.0" (rdma-core sets the library version to 1.<N>.<release>).
std::optional<std::string> rdma_core_version_from_soname(const std::string& file_name);
// "libmlx5-rdmav34.so" -> {"mlx5", 34}
std::optional<std::pair<std::string, int>> parse_provider_lib(const std::string& file_name);

inline const char* const kRdmaModules[] = {"ib_core", "ib_uverbs", "rdma_cm", "rdma_ucm"};
// Device drivers whose origin the stack check reports when loaded (a DKMS-patched rdma_rxe sits in
// updates/dkms/). They do not enter the stack identity: an inbox stack may carry a DKMS driver.
inline const char* const kDriverModules[] = {"rdma_rxe", "siw", "mlx4_ib", "mlx5_ib"};

}  // namespace rdma_agent::checks
