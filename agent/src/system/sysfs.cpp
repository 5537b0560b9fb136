// Value parsers for the files the kernel writes; each cites where the format comes from.
#include "rdma_agent/sysfs.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>

namespace rdma_agent::sysfs {

std::string trim(std::string_view s) {
    std::size_t b = 0, e = s.size();
    while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
    while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
    return std::string(s.substr(b, e - b));
}

std::optional<long long> parse_int(std::string_view s) {
    const std::string t = trim(s);
    if (t.empty()) return std::nullopt;
    std::size_t i = 0;
    if (t[0] == '+') i = 1;
    long long v = 0;
    const char* first = t.data() + i;
    const char* last = t.data() + t.size();
    auto [p, ec] = std::from_chars(first, last, v, 10);
    if (ec != std::errc() || p != last || first == last) return std::nullopt;
    return v;
}

// drivers/infiniband/core/sysfs.c: state_show() prints "%d: %s\n" (ib_port_state_to_str),
// phys_state_show() prints "%u: %s\n" (ib_port_phys_state_str).
std::optional<NumberedState> parse_numbered_state(std::string_view s) {
    const std::string t = trim(s);
    const auto colon = t.find(':');
    if (colon == std::string::npos || colon == 0) return std::nullopt;
    const auto code = parse_int(std::string_view(t).substr(0, colon));
    if (!code || *code < 0 || *code > 255) return std::nullopt;
    NumberedState st;
    st.code = static_cast<int>(*code);
    st.name = trim(std::string_view(t).substr(colon + 1));
    if (st.name.empty()) return std::nullopt;
    for (char ch : st.name)
        if (!std::isprint(static_cast<unsigned char>(ch))) return std::nullopt;
    return st;
}

// drivers/infiniband/core/sysfs.c rate_show(): "%d%s Gb/sec (%dX%s)\n" where %s is ".5" or "".
std::optional<double> parse_rate_gbps(std::string_view s) {
    const std::string t = trim(s);
    const auto sp = t.find(' ');
    if (sp == std::string::npos || sp == 0) return std::nullopt;
    if (t.compare(sp, 7, " Gb/sec") != 0) return std::nullopt;
    const std::string num = t.substr(0, sp);
    std::size_t dots = 0;
    for (char ch : num) {
        if (ch == '.') ++dots;
        else if (!std::isdigit(static_cast<unsigned char>(ch))) return std::nullopt;
    }
    if (dots > 1 || num.front() == '.' || num.back() == '.' || num.size() > 12) return std::nullopt;
    double v = 0;
    auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), v);
    if (ec != std::errc() || p != num.data() + num.size()) return std::nullopt;
    return v;
}

// drivers/pci/pci-sysfs.c: vendor/device attributes print "0x%04x\n".
std::optional<unsigned> parse_hex_id(std::string_view s) {
    std::string t = trim(s);
    if (t.size() < 3 || t[0] != '0' || (t[1] != 'x' && t[1] != 'X')) return std::nullopt;
    unsigned v = 0;
    const char* first = t.data() + 2;
    const char* last = t.data() + t.size();
    auto [p, ec] = std::from_chars(first, last, v, 16);
    if (ec != std::errc() || p != last || v > 0xFFFF) return std::nullopt;
    return v;
}

// drivers/infiniband/core/sysfs.c show_port_gid(): "%pI6" = 8 groups of 4 hex digits.
bool gid_is_valid(std::string_view gid) {
    const std::string t = trim(gid);
    if (t.size() != 39) return false;
    for (std::size_t i = 0; i < t.size(); ++i) {
        if (i % 5 == 4) {
            if (t[i] != ':') return false;
        } else if (!std::isxdigit(static_cast<unsigned char>(t[i]))) {
            return false;
        }
    }
    return true;
}

bool gid_is_zero(std::string_view gid) {
    const std::string t = trim(gid);
    return std::all_of(t.begin(), t.end(), [](char c) { return c == '0' || c == ':'; });
}

std::optional<std::string> gid_ipv4(std::string_view gid) {
    const std::string t = trim(gid);
    if (!gid_is_valid(t)) return std::nullopt;
    if (t.compare(0, 30, "0000:0000:0000:0000:0000:ffff:") != 0) return std::nullopt;
    unsigned a = 0, b = 0;
    std::from_chars(t.data() + 30, t.data() + 34, a, 16);
    std::from_chars(t.data() + 35, t.data() + 39, b, 16);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", a >> 8, a & 0xFF, b >> 8, b & 0xFF);
    return std::string(buf);
}

// kernel/module/procfs.c m_show(): "name size refcount deps state address".
std::vector<std::string> parse_proc_modules(std::string_view text) {
    std::vector<std::string> out;
    std::size_t pos = 0;
    while (pos < text.size()) {
        auto nl = text.find('\n', pos);
        if (nl == std::string_view::npos) nl = text.size();
        std::string_view line = text.substr(pos, nl - pos);
        const auto sp = line.find(' ');
        std::string name(line.substr(0, sp));
        if (!name.empty()) out.push_back(name);
        pos = nl + 1;
    }
    return out;
}

std::string normalize_module_name(std::string_view name) {
    std::string s(name);
    std::replace(s.begin(), s.end(), '-', '_');
    return s;
}

// kmod depmod writes modules.dep lines "<path relative to /lib/modules/<rel>>: <deps...>".
// One pass over the file (about 500 KB on a Debian kernel) for all names, no allocation per
// line: scanning it once per module was most of the stack check's time on an emulated CPU.
std::vector<std::optional<std::string>> module_paths_in_dep(std::string_view dep, const std::vector<std::string>& names) {
    std::vector<std::string> want;
    for (const auto& n : names) want.push_back(normalize_module_name(n));
    std::vector<std::optional<std::string>> out(names.size());
    std::size_t missing = names.size();
    // stem "mlx4-core" equals normalized "mlx4_core": '-' and '_' compare equal
    auto same = [](std::string_view stem, const std::string& w) {
        if (stem.size() != w.size()) return false;
        for (std::size_t i = 0; i < stem.size(); ++i)
            if ((stem[i] == '-' ? '_' : stem[i]) != w[i]) return false;
        return true;
    };
    std::size_t pos = 0;
    while (pos < dep.size() && missing > 0) {
        auto nl = dep.find('\n', pos);
        if (nl == std::string_view::npos) nl = dep.size();
        const std::string_view line = dep.substr(pos, nl - pos);
        pos = nl + 1;
        const auto colon = line.find(':');
        if (colon == std::string_view::npos) continue;
        const std::string_view path = line.substr(0, colon);
        const auto slash = path.rfind('/');
        const std::string_view base = slash == std::string_view::npos ? path : path.substr(slash + 1);
        const auto ko = base.find(".ko");
        if (ko == std::string_view::npos) continue;
        const std::string_view stem = base.substr(0, ko);
        for (std::size_t k = 0; k < want.size(); ++k) {
            if (!out[k] && same(stem, want[k])) {
                out[k] = std::string(path);
                --missing;
            }
        }
    }
    return out;
}

std::optional<std::string> module_path_in_dep(std::string_view dep, std::string_view name) {
    return module_paths_in_dep(dep, {std::string(name)})[0];
}

std::string module_origin(std::string_view p) {
    if (p.starts_with("kernel/")) return "kernel";
    if (p.starts_with("updates/dkms/")) return "updates/dkms";
    if (p.starts_with("updates/")) return "updates";
    if (p.starts_with("extra/mlnx-ofa_kernel/")) return "extra/mlnx-ofa_kernel";
    if (p.starts_with("extra/")) return "extra";
    if (p.starts_with("weak-updates/")) return "weak-updates";
    return "other";
}

namespace {
std::optional<std::string> read_trim(const FileSystem& fs, const std::string& path) {
    auto v = fs.read(path);
    if (!v) return std::nullopt;
    return trim(*v);
}
std::string basename_of(const std::string& p) {
    const auto s = p.rfind('/');
    return s == std::string::npos ? p : p.substr(s + 1);
}
// The GID table of the port at sysfs directory `pb`: one file per slot, empty slots all zero.
std::vector<Port::Gid> read_port_gids(const FileSystem& fs, const std::string& pb) {
    std::vector<Port::Gid> out;
    std::vector<std::string> idx = fs.list(pb + "/gids");
    std::sort(idx.begin(), idx.end(), [](const std::string& a, const std::string& b) {
        return parse_int(a).value_or(-1) < parse_int(b).value_or(-1);
    });
    for (const auto& gi : idx) {
        const auto gnum = parse_int(gi);
        if (!gnum) continue;
        auto g = fs.read(pb + "/gids/" + gi);
        if (!g || !gid_is_valid(*g) || gid_is_zero(*g)) continue;
        Port::Gid gid;
        gid.index = static_cast<int>(*gnum);
        gid.gid = trim(*g);
        // drivers/infiniband/core/sysfs.c: gid_attrs/types/N is "IB/RoCE v1" or "RoCE v2";
        // reading an empty slot gives EINVAL, which we see as absent.
        gid.type = read_trim(fs, pb + "/gid_attrs/types/" + gi).value_or("");
        gid.ndev = read_trim(fs, pb + "/gid_attrs/ndevs/" + gi).value_or("");
        out.push_back(std::move(gid));
    }
    return out;
}
}  // namespace

std::vector<std::string> device_names(const FileSystem& fs) {
    return fs.list("/sys/class/infiniband");
}

std::string provider_for(const std::string& device_name, const std::string& kernel_driver) {
    // Kernel driver -> rdma-core provider (providers/<name>/, lib<name>-rdmav<N>.so).
    static const std::pair<const char*, const char*> by_driver[] = {
        {"mlx5_core", "mlx5"}, {"mlx4_core", "mlx4"}, {"bnxt_en", "bnxt_re"}, {"irdma", "irdma"},
        {"ice", "irdma"},      {"i40e", "irdma"},     {"qede", "qedr"},       {"qedr", "qedr"},
        {"hfi1", "hfi1verbs"}, {"ib_qib", "ipathverbs"}, {"efa", "efa"},      {"vmw_pvrdma", "vmw_pvrdma"},
        {"cxgb4", "cxgb4"},    {"mana", "mana"},      {"erdma", "erdma"},     {"hns_roce_hw_v2", "hns"},
        {"ocrdma", "ocrdma"},  {"be2net", "ocrdma"},  {"mthca", "mthca"},     {"ib_mthca", "mthca"}};
    for (const auto& [drv, prov] : by_driver)
        if (kernel_driver == drv) return prov;
    // Software devices have no PCI driver: rdma_rxe names them rxeN by convention, siw siwN.
    if (kernel_driver.empty()) {
        if (device_name.starts_with("rxe")) return "rxe";
        if (device_name.starts_with("siw")) return "siw";
    }
    return "";
}

Device read_device(const FileSystem& fs, const std::string& name, DeviceParts parts, GidSource* gid_source) {
    Device d;
    d.name = name;
    const std::string base = "/sys/class/infiniband/" + name;
    d.fw_ver = read_trim(fs, base + "/fw_ver").value_or("");
    d.node_type = read_trim(fs, base + "/node_type").value_or("");
    d.node_guid = read_trim(fs, base + "/node_guid").value_or("");
    d.board_id = read_trim(fs, base + "/board_id").value_or("");
    d.hca_type = read_trim(fs, base + "/hca_type").value_or("");
    d.parent = read_trim(fs, base + "/parent").value_or("");
    if (auto drv = fs.readlink(base + "/device/driver")) d.kernel_driver = basename_of(*drv);
    if (auto dev = fs.readlink(base + "/device")) d.pci_slot = basename_of(*dev);
    if (auto v = fs.read(base + "/device/vendor")) d.pci_vendor = parse_hex_id(*v);
    if (auto v = fs.read(base + "/device/device")) d.pci_device = parse_hex_id(*v);
    d.provider = provider_for(name, d.kernel_driver);
    if (parts == DeviceParts::identity) return d;

    for (const auto& pn : fs.list(base + "/ports")) {
        const auto num = parse_int(pn);
        if (!num || *num < 0 || *num > 255) continue;
        Port p;
        p.number = static_cast<int>(*num);
        const std::string pb = base + "/ports/" + pn;
        if (auto v = fs.read(pb + "/state")) {
            p.state = parse_numbered_state(*v);
            p.state_text = trim(v->substr(0, 64));
        }
        if (auto v = fs.read(pb + "/phys_state")) {
            p.phys_state = parse_numbered_state(*v);
            p.phys_state_text = trim(v->substr(0, 64));
        }
        p.link_layer = read_trim(fs, pb + "/link_layer");
        p.rate_text = read_trim(fs, pb + "/rate");
        if (p.rate_text) p.rate_gbps = parse_rate_gbps(*p.rate_text);
        if (auto fast = gid_source ? gid_source->port_gids(name, p.number) : std::nullopt) {
            p.gids = std::move(*fast);
        } else {
            p.gids = read_port_gids(fs, pb);
        }
        for (const auto& gid : p.gids)
            if (!gid.ndev.empty() && std::find(p.netdevs.begin(), p.netdevs.end(), gid.ndev) == p.netdevs.end())
                p.netdevs.push_back(gid.ndev);
        if (p.netdevs.empty()) {
            // A PCI device's netdevs: device/net/<ifname>/dev_port (0-based) == port - 1
            // (net/core/net-sysfs.c dev_port); a software device names its netdev in `parent`.
            for (const auto& nd : fs.list(base + "/device/net")) {
                const auto dp = fs.read(base + "/device/net/" + nd + "/dev_port");
                const long long port0 = dp ? parse_int(*dp).value_or(-1) : 0;
                if (port0 == p.number - 1) p.netdevs.push_back(nd);
            }
            if (p.netdevs.empty() && !d.parent.empty() && d.kernel_driver.empty()) p.netdevs.push_back(d.parent);
        }
        d.ports.push_back(std::move(p));
    }
    std::sort(d.ports.begin(), d.ports.end(), [](const Port& a, const Port& b) { return a.number < b.number; });
    return d;
}

std::vector<UverbsEntry> uverbs_entries(const FileSystem& fs) {
    std::vector<UverbsEntry> out;
    for (const auto& n : fs.list("/sys/class/infiniband_verbs")) {
        if (!n.starts_with("uverbs")) continue;
        UverbsEntry e;
        e.name = n;
        e.ibdev = read_trim(fs, "/sys/class/infiniband_verbs/" + n + "/ibdev").value_or("");
        if (auto v = fs.read("/sys/class/infiniband_verbs/" + n + "/abi_version")) e.abi_version = parse_int(*v);
        out.push_back(std::move(e));
    }
    return out;
}

bool module_loaded(const FileSystem& fs, const std::string& name) {
    const std::string want = normalize_module_name(name);
    if (auto mods = fs.read("/proc/modules")) {
        for (const auto& m : parse_proc_modules(*mods))
            if (normalize_module_name(m) == want) return true;
    }
    // Built-in modules have no /proc/modules line but do have /sys/module/<name> (with parameters).
    return fs.exists("/sys/module/" + want);
}

}  // namespace rdma_agent::sysfs
