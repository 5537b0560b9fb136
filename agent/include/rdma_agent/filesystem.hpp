// The seam between checks and the node: every path a check reads is an absolute node path
// ("/sys/class/infiniband", "/proc/modules", "/etc/modprobe.d", "/lib/modules/...") and the
// implementation maps it onto injected roots (--sysfs-root, --procfs-root, --etc-root, ...).
// The test fake fails loudly on anything not set up instead of reading the real disk.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace rdma_agent {

class FileSystem {
public:
    virtual ~FileSystem() = default;
    // Whole file content; nullopt if absent or unreadable.
    virtual std::optional<std::string> read(const std::string& path) const = 0;
    // Entry names of a directory (not paths), sorted; empty if absent.
    virtual std::vector<std::string> list(const std::string& dir) const = 0;
    // Target of a symlink as stored; nullopt if not a symlink.
    virtual std::optional<std::string> readlink(const std::string& path) const = 0;
    virtual bool exists(const std::string& path) const = 0;
};

// Roots for the node paths; each defaults to the real location.
struct Roots {
    std::string sysfs = "/sys";
    std::string procfs = "/proc";
    std::string etc = "/etc";
    std::string lib = "/lib";       // /lib/modules/<release>/modules.dep (module origin)
    std::string usr = "/usr";       // /usr/lib/x86_64-linux-gnu/libibverbs/*, /usr/bin/ofed_info
    std::string dev = "/dev";       // /dev/infiniband/uverbsN
    std::string run = "/run";       // /run/modprobe.d (added by the core; --root sets DIR/run)
};

}  // namespace rdma_agent
