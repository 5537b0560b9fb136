// Parsers for sysfs/procfs values and helpers that read the RDMA parts of sysfs through a
// FileSystem. Formats are those the kernel writes (see the comments in src/system/sysfs.cpp).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rdma_agent/filesystem.hpp"

namespace rdma_agent::sysfs {

// "  text\n" -> "text"
std::string trim(std::string_view s);

// drivers/infiniband/core/sysfs.c state_show: "4: ACTIVE" -> {4, "ACTIVE"}
struct NumberedState {
    int code = 0;
    std::string name;
};
std::optional<NumberedState> parse_numbered_state(std::string_view s);

// rate_show: "100 Gb/sec (4X EDR)", "2.5 Gb/sec (1X SDR)" -> 100.0 / 2.5
std::optional<double> parse_rate_gbps(std::string_view s);

// A decimal integer with optional sign, surrounding whitespace allowed ("-1\n").
std::optional<long long> parse_int(std::string_view s);

// PCI ids as sysfs writes them: "0x15b3\n" -> 0x15b3
std::optional<unsigned> parse_hex_id(std::string_view s);

// GID "fe80:0000:0000:0000:0000:0000:0000:0001": true when all zero (an empty table slot).
// 16 raw bytes -> that text (the kernel's "%pI6": 8 groups of 4 lower-case hex digits).
// Inline: the verbs layer renders GIDs with it without linking the system layer.
inline std::string gid_text(const unsigned char (&raw)[16]) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(39);
    for (int i = 0; i < 16; ++i) {
        if (i > 0 && i % 2 == 0) out.push_back(':');
        out.push_back(hex[raw[i] >> 4]);
        out.push_back(hex[raw[i] & 0xF]);
    }
    return out;
}
bool gid_is_zero(std::string_view gid);
bool gid_is_valid(std::string_view gid);
// "0000:0000:0000:0000:0000:ffff:0a4d:000b" -> "10.77.0.11" for IPv4-mapped GIDs.
std::optional<std::string> gid_ipv4(std::string_view gid);

// /proc/modules: names of loaded modules (first column).
std::vector<std::string> parse_proc_modules(std::string_view text);

// Module-name comparison as kmod does it: '-' and '_' are the same.
std::string normalize_module_name(std::string_view name);

// modules.dep: "kernel/drivers/infiniband/core/ib_core.ko.xz: ..." -> path of module `name`.
std::optional<std::string> module_path_in_dep(std::string_view modules_dep, std::string_view name);
// The same for several modules in one pass: result[i] is the path of names[i] (first line wins).
std::vector<std::optional<std::string>> module_paths_in_dep(std::string_view modules_dep, const std::vector<std::string>& names);
// "kernel" | "updates/dkms" | "updates" | "extra/mlnx-ofa_kernel" | "extra" | "other"
std::string module_origin(std::string_view module_path);

// Reading RDMA sysfs through a FileSystem.
struct Port {
    int number = 0;
    std::optional<NumberedState> state;
    std::optional<NumberedState> phys_state;
    std::string state_text, phys_state_text;  // raw, for messages about unreadable values
    std::optional<std::string> link_layer;
    std::optional<std::string> rate_text;
    std::optional<double> rate_gbps;
    struct Gid {
        int index = 0;
        std::string gid;
        std::string type;     // "RoCE v2", "IB/RoCE v1", "" when not readable
        std::string ndev;     // netdev from gid_attrs/ndevs, "" when none
    };
    std::vector<Gid> gids;    // non-zero entries only
    std::vector<std::string> netdevs;  // netdevs behind the port
};

struct Device {
    std::string name;
    std::string kernel_driver;   // basename of device/driver, "" when none (e.g. rxe)
    std::string provider;        // rdma-core provider name (mlx5, mlx4, rxe, ...), "" if unknown
    std::string fw_ver, node_type, node_guid, board_id, hca_type, parent;
    std::optional<unsigned> pci_vendor, pci_device;
    std::string pci_slot;        // basename of the device symlink target
    std::vector<Port> ports;
};

// A port's GID table from a source faster than sysfs, which has one file per table slot (1024 on
// rxe, read with a few syscalls each): the live device through ibv_query_gid_table (one ioctl).
// Entries as read_device() builds them from sysfs (non-zero GIDs, ascending index, same text);
// nullopt when the source cannot tell (no verbs access...): read_device() then reads sysfs.
class GidSource {
public:
    virtual ~GidSource() = default;
    virtual std::optional<std::vector<Port::Gid>> port_gids(const std::string& device, int port) = 0;
};

// What read_device() reads: `identity` is the device's own attributes and driver (no ports, no
// GID table: what the stack check needs); `all` adds the ports with their GID tables.
enum class DeviceParts { identity, all };

std::vector<std::string> device_names(const FileSystem& fs);
Device read_device(const FileSystem& fs, const std::string& name, DeviceParts parts = DeviceParts::all,
                   GidSource* gids = nullptr);

// Kernel driver -> rdma-core provider name (rdma-core providers/*/ match tables).
std::string provider_for(const std::string& device_name, const std::string& kernel_driver);

struct UverbsEntry {
    std::string name;                 // "uverbs0"
    std::string ibdev;                // "rxe0"
    std::optional<long long> abi_version;
};
std::vector<UverbsEntry> uverbs_entries(const FileSystem& fs);

bool module_loaded(const FileSystem& fs, const std::string& name);

}  // namespace rdma_agent::sysfs
