// `stack`: which RDMA stack is in effect and whether its layers fit together (issue 2, item 1).
#include <algorithm>
#include <map>

#include "common.hpp"
#include "rdma_agent/sysfs.hpp"
#include "rdma_agent/system_checks.hpp"
#include "stack_info.hpp"

namespace rdma_agent {

namespace {

using checks::entity;

// libibverbs accepts kernel uverbs ABI 3..6: rdma-core libibverbs/init.c check_abi_version()
// with IB_USER_VERBS_MIN_ABI_VERSION 3 and IB_USER_VERBS_ABI_VERSION 6 (kernel-headers).
constexpr long long kMinUverbsAbi = 3, kMaxUverbsAbi = 6;

// Driver ABI ranges a provider accepts (rdma-core providers/<p>/<p>-abi.h, match_{min,max}_abi_version):
// mlx4 2..4 (MLX4_UVERBS_MIN/MAX_ABI_VERSION), mlx5 1..1 (MLX5_UVERBS_MIN/MAX_ABI_VERSION).
// Providers not listed here are not compared.
const std::map<std::string, std::pair<long long, long long>>& provider_abi_ranges() {
    static const std::map<std::string, std::pair<long long, long long>> m = {{"mlx4", {2, 4}}, {"mlx5", {1, 1}}};
    return m;
}

class StackCheck final : public Check {
public:
    std::string_view name() const override { return "stack"; }

    CheckResult run(const Context& ctx) override {
        const FileSystem& fs = ctx.fs;
        const StackConfig& cfg = ctx.config.stack;
        const checks::StackInfo s = checks::read_stack_info(fs);
        std::vector<Entity> es;

        // Kernel release.
        if (s.kernel_release)
            es.push_back(entity("kernel", Status::pass, "kernel " + *s.kernel_release, {{"release", *s.kernel_release}}));
        else
            es.push_back(entity("kernel", Status::fail, "cannot read the kernel release from /proc/sys/kernel/osrelease"));

        const auto devices = sysfs::device_names(fs);

        // Kernel modules and where they come from.
        bool any_kernel = false, any_ofa = false;
        for (const auto& m : s.modules) {
            nlohmann::json d = {{"loaded", m.loaded}, {"origin", m.origin}};
            if (m.path) d["path"] = *m.path;
            if (m.version) d["version"] = *m.version;
            const bool needed = m.name != "rdma_ucm";  // rdma_ucm only serves user-space rdma_cm
            if (!m.loaded) {
                const std::string why = m.name == "ib_core"     ? "the RDMA core: no device can exist"
                                        : m.name == "ib_uverbs" ? "user-space verbs: /dev/infiniband/uverbsN"
                                        : m.name == "rdma_cm"   ? "connection manager: librdmacm, multicast joins"
                                                                : "user-space rdma_cm: /dev/infiniband/rdma_cm";
                es.push_back(entity("module:" + m.name, needed ? Status::fail : Status::warn,
                                    "kernel module " + m.name + " is not loaded (" + why + ")", d));
                continue;
            }
            std::string where = m.origin.empty() ? std::string("not in modules.dep") : m.origin + "/";
            if (m.origin == "kernel") any_kernel = true;
            else if (!m.origin.empty()) any_ofa = true;
            es.push_back(entity("module:" + m.name, Status::pass,
                                m.name + " loaded from " + where + (m.version ? " (version " + *m.version + ")" : ""), d));
        }
        // Loaded device drivers: where they come from (kernel/ inbox, updates/dkms/ a DKMS build).
        for (const auto& m : s.drivers) {
            if (!m.loaded) continue;
            nlohmann::json d = {{"loaded", true}, {"origin", m.origin}};
            if (m.path) d["path"] = *m.path;
            if (m.version) d["version"] = *m.version;
            const std::string where = m.origin.empty() ? std::string("not in modules.dep") : m.origin + "/";
            es.push_back(entity("module:" + m.name, Status::pass,
                                m.name + " loaded from " + where + (m.version ? " (version " + *m.version + ")" : ""), d));
        }
        if (s.kernel_release && !s.modules_dep_found)
            es.push_back(entity("modules.dep", Status::warn,
                                "/lib/modules/" + *s.kernel_release + "/modules.dep not found: module origin unknown (run depmod?)"));

        // Stack identity and consistency.
        nlohmann::json ident = {{"detected", s.detected}};
        if (s.ofed_version) ident["ofed_version"] = *s.ofed_version;
        if (s.rdma_core_version) ident["rdma_core_version"] = *s.rdma_core_version;
        std::string id_msg = s.detected == "mofed"
                                 ? "MLNX_OFED/DOCA stack" + (s.ofed_version ? " " + *s.ofed_version : std::string(""))
                                 : "inbox stack (rdma-core " + s.rdma_core_version.value_or("not found") + ")";
        Status id_status = Status::pass;
        if (s.ofed_info_path && !s.ofed_version) {
            id_status = Status::warn;
            id_msg += ": " + *s.ofed_info_path + " found but no version string in it";
        }
        if (s.ofed_info_path && any_kernel && !any_ofa) {
            id_status = Status::fail;
            id_msg = "MLNX_OFED user space (" + s.ofed_version.value_or(*s.ofed_info_path) +
                     ") runs on the inbox kernel modules (kernel/): binaries built against MLNX_OFED will break; "
                     "reinstall MLNX_OFED for kernel " + s.kernel_release.value_or("?") + " (--add-kernel-support)";
        } else if (!s.ofed_info_path && any_ofa) {
            id_status = Status::warn;
            id_msg = "out-of-tree RDMA modules loaded (updates/ or extra/) but no ofed_info: a partial MLNX_OFED install or leftovers";
        } else if (s.ofed_info_path && any_kernel && any_ofa) {
            id_status = Status::fail;
            id_msg = "RDMA modules from both kernel/ and MLNX_OFED paths are loaded: mixed stack, symbol mismatches likely";
        }
        if (cfg.expected != "any") {
            const bool want_mofed = cfg.expected == "mofed";
            if (want_mofed != (s.detected == "mofed")) {
                id_status = Status::fail;
                id_msg = "expected the " + cfg.expected + " stack, found " +
                         (s.detected == "mofed" ? "MLNX_OFED/DOCA" + (s.ofed_version ? " " + *s.ofed_version : std::string(""))
                                                : std::string("the inbox stack (no ofed_info, modules from kernel/)"));
            } else if (cfg.version) {
                const auto& have = want_mofed ? s.ofed_version : s.rdma_core_version;
                const std::string what = want_mofed ? "MLNX_OFED version" : "rdma-core version";
                std::string want = *cfg.version;
                std::string h = have.value_or("");
                // "5.8" matches "MLNX_OFED_LINUX-5.8-1.0.1.1" as well as "5.8-1.0.1.1".
                const auto dash = h.find("LINUX-");
                const std::string hv = dash != std::string::npos ? h.substr(dash + 6) : h;
                if (!have || !(hv.starts_with(want) || h.starts_with(want))) {
                    id_status = Status::fail;
                    id_msg = "expected " + what + " " + want + ", found " + (have ? *have : std::string("none"));
                }
            }
        }
        es.push_back(entity("stack", id_status, id_msg, ident));

        // libibverbs / rdma-core.
        if (s.libibverbs_path)
            es.push_back(entity("libibverbs", Status::pass, "rdma-core " + *s.rdma_core_version + " (" + *s.libibverbs_path + ")",
                                {{"rdma_core_version", *s.rdma_core_version}, {"path", *s.libibverbs_path}}));
        else
            es.push_back(entity("libibverbs", Status::fail,
                                "libibverbs not found (no libibverbs.so.1.* under /usr/lib/<triplet>, /usr/lib64, /usr/lib): install ibverbs-providers/libibverbs1"));

        // Global uverbs ABI.
        const auto abi_text = fs.read("/sys/class/infiniband_verbs/abi_version");
        if (!abi_text) {
            es.push_back(entity("uverbs_abi", Status::fail,
                                "/sys/class/infiniband_verbs/abi_version absent: kernel module ib_uverbs not loaded"));
        } else if (auto abi = sysfs::parse_int(*abi_text); !abi) {
            es.push_back(entity("uverbs_abi", Status::fail,
                                "unreadable uverbs ABI '" + sysfs::trim(abi_text->substr(0, 32)) + "' in /sys/class/infiniband_verbs/abi_version"));
        } else if (*abi < kMinUverbsAbi || *abi > kMaxUverbsAbi) {
            es.push_back(entity("uverbs_abi", Status::fail,
                                "kernel uverbs ABI " + std::to_string(*abi) + " is outside what libibverbs accepts (" +
                                    std::to_string(kMinUverbsAbi) + ".." + std::to_string(kMaxUverbsAbi) +
                                    "): every verbs program fails with \"kernel ABI version doesn't match\"",
                                {{"abi_version", *abi}}));
        } else {
            es.push_back(entity("uverbs_abi", Status::pass, "kernel uverbs ABI " + std::to_string(*abi), {{"abi_version", *abi}}));
        }

        // Per device: uverbs char device, provider file and library, driver ABI.
        const auto uverbs = sysfs::uverbs_entries(fs);
        for (const auto& dev : devices) {
            // Driver and provider only: the ports and their GID tables are the devices check's.
            const auto d = sysfs::read_device(fs, dev, sysfs::DeviceParts::identity);
            std::vector<std::string> problems;
            nlohmann::json det = {{"kernel_driver", d.kernel_driver}, {"provider", d.provider}};
            Status st = Status::pass;
            auto u = std::find_if(uverbs.begin(), uverbs.end(), [&](const auto& e) { return e.ibdev == dev; });
            if (u == uverbs.end()) {
                st = Status::fail;
                problems.push_back("no /sys/class/infiniband_verbs/uverbsN for " + dev + " (ib_uverbs not loaded or not bound)");
            } else {
                det["uverbs"] = u->name;
                if (!fs.exists("/dev/infiniband/" + u->name)) {
                    st = Status::fail;
                    problems.push_back("/dev/infiniband/" + u->name + " missing (udev rule or permissions)");
                }
                if (u->abi_version) det["driver_abi"] = *u->abi_version;
                auto range = provider_abi_ranges().find(d.provider);
                if (range != provider_abi_ranges().end()) {
                    if (!u->abi_version) {
                        st = Status::fail;
                        problems.push_back("unreadable /sys/class/infiniband_verbs/" + u->name + "/abi_version");
                    } else if (*u->abi_version < range->second.first || *u->abi_version > range->second.second) {
                        st = Status::fail;
                        problems.push_back("driver ABI " + std::to_string(*u->abi_version) + " of " + dev +
                                           " is outside provider " + d.provider + "'s " + std::to_string(range->second.first) +
                                           ".." + std::to_string(range->second.second) +
                                           ": libibverbs skips the device (\"No IB devices found\"); kernel and rdma-core come from different stacks");
                    }
                }
            }
            if (d.provider.empty()) {
                st = Status::fail;
                problems.push_back("no known rdma-core provider for " + dev + " (kernel driver '" + d.kernel_driver + "')");
            } else {
                const std::string drv = "/etc/libibverbs.d/" + d.provider + ".driver";
                if (!fs.exists(drv)) {
                    st = Status::fail;
                    problems.push_back("provider file " + drv + " missing: libibverbs will not load the " + d.provider + " provider");
                }
                std::string lib;
                for (const auto& f : s.provider_libs)
                    if (auto p = checks::parse_provider_lib(f); p && p->first == d.provider) lib = f;
                if (lib.empty()) {
                    st = Status::fail;
                    problems.push_back("provider library lib" + d.provider + "-rdmav*.so missing in " +
                                       (s.provider_dir.empty() ? std::string("/usr/lib/<triplet>/libibverbs") : s.provider_dir));
                } else {
                    det["provider_library"] = s.provider_dir + "/" + lib;
                }
            }
            std::string msg = problems.empty()
                                  ? dev + ": provider " + d.provider + ", " + (u != uverbs.end() ? "/dev/infiniband/" + u->name : "")
                                  : checks::join(problems, "; ");
            es.push_back(entity(dev, st, msg, det));
        }

        std::string ok = (s.detected == "mofed" ? "MLNX_OFED/DOCA" + (s.ofed_version ? " " + *s.ofed_version : std::string(""))
                                                 : "inbox rdma-core " + s.rdma_core_version.value_or("(not found)")) +
                         " on kernel " + s.kernel_release.value_or("?") + ", " + std::to_string(devices.size()) +
                         " device(s) with provider and uverbs";
        return checks::summarize("stack", std::move(es), ok);
    }
};

}  // namespace

std::unique_ptr<Check> make_stack_check() { return std::make_unique<StackCheck>(); }

}  // namespace rdma_agent
