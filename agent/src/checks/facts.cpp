// `rdma-agent facts`: one JSON document of the node's RDMA state, for Ansible (docs/agent-json-schema.md).
#include <cstdio>

#include "rdma_agent/modprobe.hpp"
#include "rdma_agent/sysfs.hpp"
#include "rdma_agent/system_checks.hpp"
#include "stack_info.hpp"

namespace rdma_agent {

nlohmann::json collect_facts(const FileSystem& fs) {
    using nlohmann::json;
    const auto s = checks::read_stack_info(fs);
    json j;
    j["schema_version"] = 1;

    json stack = {{"detected", s.detected}};
    stack["kernel_release"] = s.kernel_release ? json(*s.kernel_release) : json(nullptr);
    stack["ofed_version"] = s.ofed_version ? json(*s.ofed_version) : json(nullptr);
    stack["ofed_info"] = s.ofed_info_path ? json(*s.ofed_info_path) : json(nullptr);
    stack["rdma_core_version"] = s.rdma_core_version ? json(*s.rdma_core_version) : json(nullptr);
    stack["libibverbs"] = s.libibverbs_path ? json(*s.libibverbs_path) : json(nullptr);
    if (auto abi = fs.read("/sys/class/infiniband_verbs/abi_version"); abi && sysfs::parse_int(*abi))
        stack["uverbs_abi_version"] = *sysfs::parse_int(*abi);
    else
        stack["uverbs_abi_version"] = nullptr;
    json mods = json::array();
    for (const auto& m : s.modules) {
        json mj = {{"name", m.name}, {"loaded", m.loaded}, {"origin", m.origin}};
        mj["path"] = m.path ? json(*m.path) : json(nullptr);
        mj["version"] = m.version ? json(*m.version) : json(nullptr);
        mods.push_back(mj);
    }
    stack["modules"] = mods;
    j["stack"] = stack;

    json providers = {{"driver_files", s.driver_files}, {"library_dir", s.provider_dir}, {"libraries", s.provider_libs}};
    j["providers"] = providers;

    const auto uverbs = sysfs::uverbs_entries(fs);
    json devs = json::array();
    for (const auto& name : sysfs::device_names(fs)) {
        const auto d = sysfs::read_device(fs, name);
        json dj = {{"name", d.name},         {"kernel_driver", d.kernel_driver}, {"provider", d.provider},
                   {"fw_ver", d.fw_ver},     {"node_type", d.node_type},         {"node_guid", d.node_guid},
                   {"board_id", d.board_id}, {"hca_type", d.hca_type},           {"parent", d.parent},
                   {"pci_slot", d.pci_slot}};
        char buf[16];
        if (d.pci_vendor && d.pci_device) {
            std::snprintf(buf, sizeof buf, "%04x:%04x", *d.pci_vendor, *d.pci_device);
            dj["pci_id"] = buf;
        } else {
            dj["pci_id"] = nullptr;
        }
        dj["uverbs"] = nullptr;
        for (const auto& u : uverbs)
            if (u.ibdev == name) {
                dj["uverbs"] = u.name;
                dj["driver_abi_version"] = u.abi_version ? json(*u.abi_version) : json(nullptr);
                dj["uverbs_dev_present"] = fs.exists("/dev/infiniband/" + u.name);
            }
        json ports = json::array();
        for (const auto& p : d.ports) {
            json pj = {{"port", p.number}};
            pj["state"] = p.state ? json(p.state->name) : json(nullptr);
            pj["phys_state"] = p.phys_state ? json(p.phys_state->name) : json(nullptr);
            pj["link_layer"] = p.link_layer ? json(*p.link_layer) : json(nullptr);
            pj["rate"] = p.rate_text ? json(*p.rate_text) : json(nullptr);
            pj["rate_gbps"] = p.rate_gbps ? json(*p.rate_gbps) : json(nullptr);
            pj["netdevs"] = p.netdevs;
            json gids = json::array();
            for (const auto& g : p.gids) {
                json gj = {{"index", g.index}, {"gid", g.gid}, {"type", g.type}, {"ndev", g.ndev}};
                if (auto ip = sysfs::gid_ipv4(g.gid)) gj["ipv4"] = *ip;
                gids.push_back(gj);
            }
            pj["gids"] = gids;
            if (auto m = fs.read("/sys/kernel/config/rdma_cm/" + name + "/ports/" + std::to_string(p.number) + "/default_roce_mode"))
                pj["default_roce_mode"] = sysfs::trim(*m);
            ports.push_back(pj);
        }
        dj["ports"] = ports;
        devs.push_back(dj);
    }
    j["devices"] = devs;

    // Module parameters the toolkit manages: in effect and configured.
    json params = json::object();
    {
        json p;
        const auto v = fs.read("/sys/module/mlx4_core/parameters/log_num_mgm_entry_size");
        const auto iv = v ? sysfs::parse_int(*v) : std::nullopt;
        p["in_effect"] = iv ? json(*iv) : json(nullptr);
        const auto c = modprobe::configured_value(fs, "mlx4_core", "log_num_mgm_entry_size");
        if (c) {
            const auto ci = sysfs::parse_int(c->value);
            p["configured"] = ci ? json(*ci) : json(c->value);
            p["configured_in"] = c->file + ":" + std::to_string(c->line);
        } else {
            p["configured"] = nullptr;
            p["configured_in"] = nullptr;
        }
        p["loaded"] = sysfs::module_loaded(fs, "mlx4_core");
        params["mlx4_core.log_num_mgm_entry_size"] = p;
    }
    j["module_parameters"] = params;
    return j;
}

}  // namespace rdma_agent
