// `mlx4_steering`: log_num_mgm_entry_size of mlx4_core in effect vs configured vs expected
// (issue 2, item 6). Sources: drivers/net/ethernet/mellanox/mlx4/main.c (Linux 6.1):
// module_param_named(log_num_mgm_entry_size, ..., 0444) "10 gives 248. range: 7 <=
// log_num_mgm_entry_size <= 12. To activate device managed flow steering when available, set to
// -1"; choose_steering_mode() picks DEVICE_MANAGED only when the value is <= 0 AND the firmware
// advertises MLX4_DEV_CAP_FLAG2_FS_EN (plus SR-IOV QP-per-entry limits), else B0 or A0.
// Whether DMFS is really active is not in sysfs: mlx4_ib reports IBV_DEVICE_MANAGED_FLOW_STEERING
// only in DEVICE_MANAGED mode (drivers/infiniband/hw/mlx4/main.c mlx4_ib_query_device), so we
// ask the device through the injected FlowSteeringProbe (libibverbs on a live node).
#include <algorithm>

#include "common.hpp"
#include "rdma_agent/modprobe.hpp"
#include "rdma_agent/sysfs.hpp"
#include "rdma_agent/system_checks.hpp"

namespace rdma_agent {

bool is_mlx4_pci_id(unsigned vendor, unsigned device) {
    // mlx4_pci_table in drivers/net/ethernet/mellanox/mlx4/main.c (Linux 6.1), vendor 0x15b3.
    static const unsigned ids[] = {0x6340, 0x634a, 0x6354, 0x6732, 0x673c, 0x6368, 0x6750, 0x6372, 0x675a,
                                   0x6764, 0x6746, 0x676e, 0x1002, 0x1003, 0x1004, 0x1005, 0x1006, 0x1007,
                                   0x1008, 0x1009, 0x100a, 0x100b, 0x100c, 0x100d, 0x100e, 0x100f, 0x1010};
    return vendor == 0x15b3 && std::find(std::begin(ids), std::end(ids), device) != std::end(ids);
}

namespace {

using checks::entity;

constexpr const char* kParam = "/sys/module/mlx4_core/parameters/log_num_mgm_entry_size";

std::string steering_word(long long v) {
    return v <= 0 ? "device-managed flow steering requested" : "B0/A0 steering (not device-managed)";
}

class Mlx4SteeringCheck final : public Check {
public:
    explicit Mlx4SteeringCheck(FlowSteeringProbe probe) : probe_(std::move(probe)) {}
    std::string_view name() const override { return "mlx4_steering"; }

    CheckResult run(const Context& ctx) override {
        const FileSystem& fs = ctx.fs;
        const int expected = ctx.config.mlx4_steering.expected;
        std::vector<Entity> es;

        // ConnectX-3 family hardware on the PCI bus.
        std::vector<std::string> hw;
        for (const auto& slot : fs.list("/sys/bus/pci/devices")) {
            const auto v = fs.read("/sys/bus/pci/devices/" + slot + "/vendor");
            const auto d = fs.read("/sys/bus/pci/devices/" + slot + "/device");
            if (!v || !d) continue;
            const auto vi = sysfs::parse_hex_id(*v), di = sysfs::parse_hex_id(*d);
            if (vi && di && is_mlx4_pci_id(*vi, *di)) hw.push_back(slot);
        }
        // mlx4 RDMA devices (mlx4_ib bound).
        std::vector<std::string> ibdevs;
        for (const auto& n : sysfs::device_names(fs)) {
            auto drv = fs.readlink("/sys/class/infiniband/" + n + "/device/driver");
            if (drv && (drv->ends_with("/mlx4_core") || *drv == "mlx4_core")) ibdevs.push_back(n);
        }

        const bool loaded = sysfs::module_loaded(fs, "mlx4_core");
        const auto configured = modprobe::configured_value(fs, "mlx4_core", "log_num_mgm_entry_size");
        nlohmann::json det = {{"loaded", loaded}, {"expected", expected}, {"pci_devices", hw}};
        std::string conf_desc = "not configured";
        std::optional<long long> conf_val;
        if (configured) {
            det["configured_in"] = configured->file + ":" + std::to_string(configured->line);
            conf_val = sysfs::parse_int(configured->value);
            if (!conf_val) {
                det["configured"] = configured->value;
                es.push_back(entity("mlx4_core", Status::fail,
                                    "log_num_mgm_entry_size='" + configured->value + "' in " + configured->file + ":" +
                                        std::to_string(configured->line) + " is not an integer: mlx4_core will refuse to load",
                                    det));
                return checks::summarize("mlx4_steering", std::move(es), "");
            }
            det["configured"] = *conf_val;
            conf_desc = "configured " + std::to_string(*conf_val) + " in " + configured->file + ":" + std::to_string(configured->line);
        }

        if (!loaded) {
            if (hw.empty()) {
                CheckResult r{"mlx4_steering", Status::skip,
                              "mlx4_core not loaded and no ConnectX-3 (mlx4) PCI device present (" + conf_desc + ")",
                              {entity("mlx4_core", Status::skip, "not loaded, no mlx4 hardware", det)}, 0.0};
                return r;
            }
            es.push_back(entity("mlx4_core", Status::fail,
                                "ConnectX-3 device(s) " + checks::join(hw) + " present but mlx4_core is not loaded (" + conf_desc + ")", det));
            return checks::summarize("mlx4_steering", std::move(es), "");
        }

        const auto in_text = fs.read(kParam);
        if (!in_text) {
            es.push_back(entity("mlx4_core", Status::fail, "mlx4_core is loaded but " + std::string(kParam) + " is unreadable", det));
            return checks::summarize("mlx4_steering", std::move(es), "");
        }
        const auto in_effect = sysfs::parse_int(*in_text);
        if (!in_effect) {
            es.push_back(entity("mlx4_core", Status::fail,
                                "unreadable value '" + sysfs::trim(in_text->substr(0, 32)) + "' in " + kParam, det));
            return checks::summarize("mlx4_steering", std::move(es), "");
        }
        det["in_effect"] = *in_effect;

        if (conf_val && *conf_val != *in_effect) {
            es.push_back(entity("mlx4_core", Status::fail,
                                "log_num_mgm_entry_size " + conf_desc + " but " + std::to_string(*in_effect) +
                                    " in effect: reload mlx4_core (modprobe -r mlx4_ib mlx4_en mlx4_core; modprobe mlx4_core) "
                                    "and, if it loads from the initramfs, rebuild it (update-initramfs -u / dracut -f) and reboot",
                                det));
            det["vma_ready"] = false;
            es.back().details = det;
            return checks::summarize("mlx4_steering", std::move(es), "");
        }
        if (*in_effect != expected) {
            const bool dmfs_wanted = expected <= 0;
            es.push_back(entity("mlx4_core", Status::fail,
                                "log_num_mgm_entry_size is " + std::to_string(*in_effect) + " in effect (" + conf_desc + "), expected " +
                                    std::to_string(expected) + ": add 'options mlx4_core log_num_mgm_entry_size=" +
                                    std::to_string(expected) + "' under /etc/modprobe.d and reload mlx4_core" +
                                    (dmfs_wanted ? "; not ready for VMA (needs device-managed flow steering)" : ""),
                                det));
            det["vma_ready"] = false;
            es.back().details = det;
            return checks::summarize("mlx4_steering", std::move(es), "");
        }

        // In effect == expected.
        if (*in_effect > 0) {
            det["vma_ready"] = false;
            es.push_back(entity("mlx4_core", Status::pass,
                                "log_num_mgm_entry_size=" + std::to_string(*in_effect) + " in effect as expected (" +
                                    steering_word(*in_effect) + "); not ready for VMA, which needs device-managed steering (-1)",
                                det));
            return checks::summarize("mlx4_steering", std::move(es), es.back().message);
        }
        if (ibdevs.empty()) {
            det["vma_ready"] = false;
            if (hw.empty()) {
                es.push_back(entity("mlx4_core", Status::pass,
                                    "log_num_mgm_entry_size=" + std::to_string(*in_effect) + " in effect as expected (" + conf_desc +
                                        "); no ConnectX-3 present to confirm DMFS on",
                                    det));
            } else {
                es.push_back(entity("mlx4_core", Status::warn,
                                    "log_num_mgm_entry_size=" + std::to_string(*in_effect) + " in effect as expected, but ConnectX-3 " +
                                        checks::join(hw) + " has no RDMA device (mlx4_ib not loaded?): cannot confirm DMFS, not ready for VMA",
                                    det));
            }
            return checks::summarize("mlx4_steering", std::move(es), es.back().message);
        }
        bool all_ready = true;
        es.push_back(entity("mlx4_core", Status::pass,
                            "log_num_mgm_entry_size=" + std::to_string(*in_effect) + " in effect as expected (" + conf_desc + ")", det));
        for (const auto& dev : ibdevs) {
            const std::optional<bool> dmfs = probe_ ? probe_(dev) : std::nullopt;
            nlohmann::json dd = nlohmann::json::object();
            if (!dmfs) {
                all_ready = false;
                es.push_back(entity(dev, Status::warn,
                                    "DMFS requested but not confirmable on " + dev +
                                        ": the device's flow-steering capability could not be queried (no verbs access, or a fixture tree)",
                                    dd));
            } else if (!*dmfs) {
                all_ready = false;
                dd["managed_flow_steering"] = false;
                es.push_back(entity(dev, Status::warn,
                                    "log_num_mgm_entry_size=" + std::to_string(*in_effect) + " but " + dev +
                                        " does not report IBV_DEVICE_MANAGED_FLOW_STEERING: the firmware lacks DMFS (or SR-IOV "
                                        "limits apply) and mlx4 fell back to B0/A0 steering; not ready for VMA",
                                    dd));
            } else {
                dd["managed_flow_steering"] = true;
                es.push_back(entity(dev, Status::pass, "device-managed flow steering active on " + dev + ": ready for VMA", dd));
            }
        }
        es.front().details["vma_ready"] = all_ready;
        return checks::summarize("mlx4_steering", std::move(es),
                                 "device-managed flow steering active on " + checks::join(ibdevs) + ": node ready for VMA");
    }

private:
    FlowSteeringProbe probe_;
};

}  // namespace

std::unique_ptr<Check> make_mlx4_steering_check(FlowSteeringProbe probe) {
    return std::make_unique<Mlx4SteeringCheck>(std::move(probe));
}

}  // namespace rdma_agent
