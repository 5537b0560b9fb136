// `devices`: expected devices present, ports ACTIVE/LinkUp, link layer, rate range, RoCE v2 GID,
// rdma_cm default RoCE mode, netdev per port (issue 2, item 2).
#include <algorithm>
#include <sstream>

#include "common.hpp"
#include "rdma_agent/sysfs.hpp"
#include "rdma_agent/system_checks.hpp"

namespace rdma_agent {

namespace {

using checks::entity;

std::string fmt_rate(double v) {
    std::ostringstream os;
    os << v;
    return os.str();
}

// include/rdma/ib_verbs.h: IB_PORT_ACTIVE = 4; IB_PORT_PHYS_STATE_LINK_UP = 5.
constexpr int kActive = 4, kLinkUp = 5;

class DevicesCheck final : public Check {
public:
    std::string_view name() const override { return "devices"; }

    CheckResult run(const Context& ctx) override {
        const FileSystem& fs = ctx.fs;
        const DevicesConfig& cfg = ctx.config.devices;
        const auto found = sysfs::device_names(fs);
        std::vector<Entity> es;

        std::vector<std::pair<std::string, const ExpectedDevice*>> to_check;
        if (cfg.expected.empty()) {
            if (found.empty()) {
                es.push_back(entity("devices", Status::fail,
                                    "no RDMA device under /sys/class/infiniband (at least one is required when no devices "
                                    "are configured): is the driver loaded (mlx5_ib, mlx4_ib, rdma_rxe + `rdma link add`)?"));
            }
            for (const auto& f : found) to_check.emplace_back(f, nullptr);
        } else {
            for (const auto& ed : cfg.expected) {
                if (std::find(found.begin(), found.end(), ed.name) == found.end()) {
                    es.push_back(entity(ed.name, Status::fail,
                                        "expected device " + ed.name + " not found (present: " +
                                            (found.empty() ? std::string("none") : checks::join(found)) + ")"));
                } else {
                    to_check.emplace_back(ed.name, &ed);
                }
            }
        }

        const bool rdma_cm_loaded = sysfs::module_loaded(fs, "rdma_cm");
        int ports_ok = 0;
        for (const auto& [dev, ed] : to_check) {
            const auto d = sysfs::read_device(fs, dev, sysfs::DeviceParts::all, ctx.gids);
            if (d.ports.empty()) {
                es.push_back(entity(dev, Status::fail, dev + " has no ports under /sys/class/infiniband/" + dev + "/ports"));
                continue;
            }
            if (ed && !ed->ports.empty()) {
                for (int want : ed->ports)
                    if (std::none_of(d.ports.begin(), d.ports.end(), [&](const auto& p) { return p.number == want; }))
                        es.push_back(entity(dev + "/" + std::to_string(want), Status::fail,
                                            "expected port " + std::to_string(want) + " of " + dev + " does not exist"));
            }
            for (const auto& p : d.ports) {
                if (ed && !ed->ports.empty() && std::find(ed->ports.begin(), ed->ports.end(), p.number) == ed->ports.end())
                    continue;
                es.push_back(check_port(fs, ctx.config.devices, d, p, ed, rdma_cm_loaded));
                if (es.back().status == Status::pass) ++ports_ok;
            }
        }
        return checks::summarize("devices", std::move(es),
                                 std::to_string(to_check.size()) + " device(s), " + std::to_string(ports_ok) +
                                     " port(s) ACTIVE/LinkUp as expected");
    }

private:
    static Entity check_port(const FileSystem& fs, const DevicesConfig& cfg, const sysfs::Device& d, const sysfs::Port& p,
                             const ExpectedDevice* ed, bool rdma_cm_loaded) {
        const std::string id = d.name + "/" + std::to_string(p.number);
        const std::string where = "port " + std::to_string(p.number) + " of " + d.name;
        std::vector<std::string> fails, warns, info;
        nlohmann::json det = nlohmann::json::object();

        if (!p.state) fails.push_back(where + ": unreadable state '" + p.state_text + "'");
        else det["state"] = p.state->name;
        if (!p.phys_state) fails.push_back(where + ": unreadable phys_state '" + p.phys_state_text + "'");
        else det["phys_state"] = p.phys_state->name;
        if (p.state && p.phys_state && (p.state->code != kActive || p.phys_state->code != kLinkUp))
            fails.push_back(where + " is " + p.state->name + " (phys state " + p.phys_state->name + ")" +
                            (p.phys_state->code != kLinkUp ? ": cable, switch or peer down?" : ": link up, waiting for the subnet manager?"));
        else if (p.state && !p.phys_state && p.state->code != kActive)
            fails.push_back(where + " is " + p.state->name);

        const std::string ll = p.link_layer.value_or("");
        det["link_layer"] = ll;
        if (ll.empty()) fails.push_back(where + ": unreadable link_layer");
        else if (ed && ed->link_layer && *ed->link_layer != ll)
            fails.push_back(where + " link layer is " + ll + ", expected " + *ed->link_layer);

        if (!p.rate_gbps) {
            fails.push_back(where + ": unreadable rate '" + p.rate_text.value_or("") + "'");
        } else {
            det["rate_gbps"] = *p.rate_gbps;
            if (ed && ed->rate.min_gbps && *p.rate_gbps < *ed->rate.min_gbps)
                fails.push_back(where + " runs at " + fmt_rate(*p.rate_gbps) + " Gb/s, below the expected minimum " + fmt_rate(*ed->rate.min_gbps));
            if (ed && ed->rate.max_gbps && *p.rate_gbps > *ed->rate.max_gbps)
                fails.push_back(where + " runs at " + fmt_rate(*p.rate_gbps) + " Gb/s, above the expected maximum " + fmt_rate(*ed->rate.max_gbps));
        }

        det["netdevs"] = p.netdevs;
        const bool eth = ll == "Ethernet";
        if (eth) {
            auto v2 = std::find_if(p.gids.begin(), p.gids.end(), [](const auto& g) { return g.type == "RoCE v2"; });
            if (v2 == p.gids.end()) {
                std::vector<std::string> types;
                for (const auto& g : p.gids) types.push_back(std::to_string(g.index) + ":" + (g.type.empty() ? "?" : g.type));
                fails.push_back(where + " has no RoCE v2 GID (GIDs: " + (types.empty() ? std::string("none") : checks::join(types)) +
                                "): no IP address on its netdev?");
            } else {
                det["roce_v2_gid_index"] = v2->index;
                det["roce_v2_gid"] = v2->gid;
            }
            if (p.netdevs.empty()) fails.push_back(where + " (Ethernet) has no netdev behind it");
            if (cfg.roce_mode) {
                const std::string f = "/sys/kernel/config/rdma_cm/" + d.name + "/ports/" + std::to_string(p.number) + "/default_roce_mode";
                if (!rdma_cm_loaded) {
                    fails.push_back("kernel module rdma_cm is not loaded: default RoCE mode of " + where + " cannot apply");
                } else if (auto m = fs.read(f)) {
                    const std::string mode = sysfs::trim(*m);
                    det["default_roce_mode"] = mode;
                    if (mode != *cfg.roce_mode)
                        fails.push_back("rdma_cm default RoCE mode of " + where + " is '" + mode + "', expected '" + *cfg.roce_mode +
                                        "' (set it in " + f + ")");
                } else {
                    warns.push_back("rdma_cm default RoCE mode of " + where + " not readable: " + f +
                                    " absent (configfs not mounted or /sys/kernel/config/rdma_cm/" + d.name + " not created)");
                }
            }
        } else if (!p.netdevs.empty()) {
            info.push_back("netdev " + checks::join(p.netdevs));
        }

        if (!fails.empty()) return entity(id, Status::fail, checks::join(fails, "; "), det);
        if (!warns.empty()) return entity(id, Status::warn, checks::join(warns, "; "), det);
        std::string msg = where + " ACTIVE/LinkUp, " + ll + ", " + p.rate_text.value_or("");
        if (eth) msg += ", RoCE v2 GID index " + std::to_string(det["roce_v2_gid_index"].get<int>()) + ", netdev " + checks::join(p.netdevs);
        if (det.contains("default_roce_mode")) msg += ", rdma_cm default " + det["default_roce_mode"].get<std::string>();
        for (const auto& i : info) msg += ", " + i;
        return entity(id, Status::pass, msg, det);
    }
};

}  // namespace

std::unique_ptr<Check> make_devices_check() { return std::make_unique<DevicesCheck>(); }

}  // namespace rdma_agent
