#include "stack_info.hpp"

#include <regex>

#include "rdma_agent/sysfs.hpp"

namespace rdma_agent::checks {

std::optional<std::string> parse_ofed_version(const std::string& text) {
    // MLNX_OFED's /usr/bin/ofed_info is a shell script that echoes its version for -s, e.g.
    // `if [ "X$1" == "X-s" ]; then echo MLNX_OFED_LINUX-4.9-7.1.0.0:; exit; fi`; DOCA-OFED prints
    // "OFED-internal-24.10-1.1.4:". The script also lists component versions (and may carry older
    // ones in comments), so the version on the `-s` branch wins; without one, the first match.
    static const std::regex re("(MLNX_OFED_LINUX|MLNX_EN_LINUX|OFED-internal|DOCA-OFED)-[0-9][0-9A-Za-z.\\-]*");
    if (text.size() > (1u << 20)) return std::nullopt;
    auto clean = [](std::string v) {
        while (!v.empty() && (v.back() == '.' || v.back() == '-')) v.pop_back();
        return v;
    };
    std::optional<std::string> first;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t end = text.find('\n', pos);
        if (end == std::string::npos) end = text.size();
        const std::string line = text.substr(pos, end - pos);
        pos = end + 1;
        std::smatch m;
        if (!std::regex_search(line, m, re)) continue;
        const bool s_branch = line.find("X-s") != std::string::npos || line.find("-s)") != std::string::npos;
        if (s_branch) return clean(m.str());
        if (!first) first = clean(m.str());
    }
    return first;
}

std::optional<std::string> rdma_core_version_from_soname(const std::string& f) {
    // rdma-core's libibverbs/CMakeLists.txt: rdma_library(ibverbs ... 1 1.14.${PACKAGE_VERSION})
    if (!f.starts_with("libibverbs.so.1.")) return std::nullopt;  // cheap test first: ~300 names in the lib dir
    static const std::regex re("^libibverbs\\.so\\.1\\.[0-9]+\\.([0-9]+(\\.[0-9]+)?)$");
    std::smatch m;
    if (std::regex_match(f, m, re)) return m[1].str();
    return std::nullopt;
}

std::optional<std::pair<std::string, int>> parse_provider_lib(const std::string& f) {
    // rdma-core buildlib/rdma_functions.cmake rdma_provider(): lib<name>-rdmav<ABI>.so
    static const std::regex re("^lib([A-Za-z0-9_]+)-rdmav([0-9]+)\\.so$");
    std::smatch m;
    if (std::regex_match(f, m, re) && m[2].length() < 6) return std::make_pair(m[1].str(), std::stoi(m[2].str()));
    return std::nullopt;
}

StackInfo read_stack_info(const FileSystem& fs) {
    StackInfo s;
    if (auto r = fs.read("/proc/sys/kernel/osrelease")) {
        auto t = sysfs::trim(*r);
        if (!t.empty() && t.find('/') == std::string::npos && t != "." && t != "..") s.kernel_release = t;
    }
    std::optional<std::string> dep;
    if (s.kernel_release) {
        dep = fs.read("/lib/modules/" + *s.kernel_release + "/modules.dep");
        s.modules_dep_found = dep.has_value();
    }
    auto read_modules = [&](const std::vector<std::string>& mods, std::vector<ModuleInfo>& out) {
        const auto paths = dep ? sysfs::module_paths_in_dep(*dep, mods) : std::vector<std::optional<std::string>>(mods.size());
        for (std::size_t k = 0; k < mods.size(); ++k) {
            const std::string& m = mods[k];
            ModuleInfo mi;
            mi.name = m;
            mi.loaded = sysfs::module_loaded(fs, m);
            mi.path = paths[k];
            if (mi.path) mi.origin = sysfs::module_origin(*mi.path);
            if (auto v = fs.read("/sys/module/" + std::string(m) + "/version")) mi.version = sysfs::trim(*v);
            if (auto v = fs.read("/sys/module/" + std::string(m) + "/taint")) mi.taint = sysfs::trim(*v);
            out.push_back(std::move(mi));
        }
    };
    read_modules(std::vector<std::string>(std::begin(kRdmaModules), std::end(kRdmaModules)), s.modules);
    read_modules(std::vector<std::string>(std::begin(kDriverModules), std::end(kDriverModules)), s.drivers);
    for (const char* p : {"/usr/bin/ofed_info", "/usr/local/bin/ofed_info"}) {
        if (auto t = fs.read(p)) {
            s.ofed_info_path = p;
            s.ofed_version = parse_ofed_version(*t);
            break;
        }
    }
    // libibverbs and its providers: Debian multiarch dir first, then the RPM layout.
    for (const char* d : {"/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib"}) {
        const auto names = fs.list(d);
        for (const auto& n : names) {
            if (auto v = rdma_core_version_from_soname(n)) {
                s.rdma_core_version = v;
                s.libibverbs_path = std::string(d) + "/" + n;
            }
        }
        const std::string pd = std::string(d) + "/libibverbs";
        auto libs = fs.list(pd);
        if (!libs.empty() && s.provider_dir.empty()) {
            s.provider_dir = pd;
            s.provider_libs = libs;
        }
        if (s.libibverbs_path && !s.provider_dir.empty()) break;
    }
    for (const auto& n : fs.list("/etc/libibverbs.d"))
        if (n.ends_with(".driver")) s.driver_files.push_back(n);

    bool out_of_tree = false;
    for (const auto& m : s.modules)
        if (m.loaded && !m.origin.empty() && m.origin != "kernel") out_of_tree = true;
    s.detected = (s.ofed_info_path || out_of_tree) ? "mofed" : "inbox";
    return s;
}

}  // namespace rdma_agent::checks
