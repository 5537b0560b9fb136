// The ports' GID tables of the live device through ibv_query_gid_table (rdma-core >= 32): one
// ioctl (UVERBS_METHOD_QUERY_GID_TABLE) for the whole table, where sysfs has one file per slot
// (1024 slots on rxe, each read with open/fstat/read/read/close): on a TCG lab node that was
// ~300 ms of the devices check (docs/BENCHMARKS.md). The entries are rendered exactly as
// sysfs::read_device() renders the sysfs files, so the report does not depend on the source.
#include <net/if.h>

#include <algorithm>
#include <cstring>
#include <map>

#include "rdma_agent/sysfs.hpp"
#include "verbs_api.hpp"
#include "verbs_checks.hpp"

namespace rdma_agent {

namespace {

class VerbsGidSource final : public sysfs::GidSource {
public:
    VerbsGidSource(std::shared_ptr<VerbsApi> api, IfName ifname) : api_(std::move(api)), ifname_(std::move(ifname)) {}

    std::optional<std::vector<sysfs::Port::Gid>> port_gids(const std::string& device, int port) override {
        auto it = tables_.find(device);
        if (it == tables_.end()) it = tables_.emplace(device, query(device)).first;  // once per device and run
        if (!it->second) return std::nullopt;
        return render(*it->second, port);
    }

    std::optional<std::vector<sysfs::Port::Gid>> render(const std::vector<ibv_gid_entry>& table, int port) {
        std::vector<sysfs::Port::Gid> out;
        for (const auto& e : table) {
            if (static_cast<int>(e.port_num) != port) continue;
            sysfs::Port::Gid g;
            g.index = static_cast<int>(e.gid_index);
            static constexpr unsigned char zero[16] = {};
            if (std::memcmp(e.gid.raw, zero, sizeof zero) == 0) continue;  // sysfs: an empty slot
            g.gid = sysfs::gid_text(e.gid.raw);
            // drivers/infiniband/core/cache.c ib_cache_gid_type_str(): IB_GID_TYPE_IB (= RoCE v1)
            // is "IB/RoCE v1", IB_GID_TYPE_ROCE_UDP_ENCAP "RoCE v2"; libibverbs reports the
            // former as IBV_GID_TYPE_IB on InfiniBand and IBV_GID_TYPE_ROCE_V1 on Ethernet.
            switch (e.gid_type) {
                case IBV_GID_TYPE_IB:
                case IBV_GID_TYPE_ROCE_V1: g.type = "IB/RoCE v1"; break;
                case IBV_GID_TYPE_ROCE_V2: g.type = "RoCE v2"; break;
                default: return std::nullopt;  // a type this code cannot name: let sysfs say it
            }
            // gid_attrs/ndevs/N: the netdev's name, or EINVAL (we show "") when the GID has none.
            if (e.ndev_ifindex != 0) {
                auto name = ifname_(e.ndev_ifindex);
                if (!name) return std::nullopt;  // the netdev went away meanwhile: let sysfs say
                g.ndev = *name;
            }
            out.push_back(std::move(g));
        }
        std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.index < b.index; });
        return out;
    }

private:
    std::optional<std::vector<ibv_gid_entry>> query(const std::string& device) {
        // Any failure (no uverbs device, no permission, no provider, old kernel without the
        // ioctl and no fallback) means "ask sysfs": the devices check then names the cause.
        try {
            if (!api_) api_ = make_real_verbs_api();
            DeviceContext ctx(*api_, api_->open_device(device));
            return api_->query_gid_table(ctx.get(), device);
        } catch (const std::exception&) {
            return std::nullopt;
        }
    }

    std::shared_ptr<VerbsApi> api_;
    IfName ifname_;
    std::map<std::string, std::optional<std::vector<ibv_gid_entry>>> tables_;
};

}  // namespace

std::shared_ptr<sysfs::GidSource> make_verbs_gid_source(std::shared_ptr<VerbsApi> api, IfName ifname) {
    if (!ifname) {
        ifname = [](unsigned ifindex) -> std::optional<std::string> {
            char name[IF_NAMESIZE] = {};
            if (if_indextoname(ifindex, name) == nullptr) return std::nullopt;
            return std::string(name);
        };
    }
    return std::make_shared<VerbsGidSource>(std::move(api), std::move(ifname));
}

}  // namespace rdma_agent
