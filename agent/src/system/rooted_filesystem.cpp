#include "rdma_agent/rooted_filesystem.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

namespace rdma_agent {

namespace fs = std::filesystem;

Roots roots_under(const std::string& dir) {
    std::string d = dir;
    while (d.size() > 1 && d.back() == '/') d.pop_back();
    Roots r;
    r.sysfs = d + "/sys";
    r.procfs = d + "/proc";
    r.etc = d + "/etc";
    r.lib = d + "/lib";
    r.usr = d + "/usr";
    r.dev = d + "/dev";
    r.run = d + "/run";
    return r;
}

RootedFileSystem::RootedFileSystem(Roots roots) : roots_(std::move(roots)) {}

std::optional<std::string> RootedFileSystem::map(const std::string& node_path) const {
    const std::pair<const char*, const std::string*> table[] = {
        {"/sys", &roots_.sysfs}, {"/proc", &roots_.procfs}, {"/etc", &roots_.etc}, {"/lib", &roots_.lib},
        {"/usr", &roots_.usr},   {"/dev", &roots_.dev},     {"/run", &roots_.run}};
    if (node_path.find("/../") != std::string::npos || node_path.ends_with("/..")) return std::nullopt;
    for (const auto& [prefix, root] : table) {
        const std::string p(prefix);
        if (node_path == p) return *root;
        if (node_path.starts_with(p + "/")) return *root + node_path.substr(p.size());
    }
    return std::nullopt;
}

std::optional<std::string> RootedFileSystem::read(const std::string& path) const {
    const auto host = map(path);
    if (!host) return std::nullopt;
    std::error_code ec;
    if (!fs::is_regular_file(*host, ec)) {
        // sysfs attributes are regular files; anything else (a FIFO, /dev/kmsg) is never read.
        return std::nullopt;
    }
    std::ifstream in(*host, std::ios::binary);
    if (!in) return std::nullopt;
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) return std::nullopt;
    return ss.str();
}

std::vector<std::string> RootedFileSystem::list(const std::string& dir) const {
    std::vector<std::string> out;
    const auto host = map(dir);
    if (!host) return out;
    std::error_code ec;
    for (fs::directory_iterator it(*host, ec), end; !ec && it != end; it.increment(ec))
        out.push_back(it->path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
}

std::optional<std::string> RootedFileSystem::readlink(const std::string& path) const {
    const auto host = map(path);
    if (!host) return std::nullopt;
    std::error_code ec;
    if (!fs::is_symlink(*host, ec)) return std::nullopt;
    auto target = fs::read_symlink(*host, ec);
    if (ec) return std::nullopt;
    return target.string();
}

bool RootedFileSystem::exists(const std::string& path) const {
    const auto host = map(path);
    if (!host) return false;
    std::error_code ec;
    return fs::exists(*host, ec);
}

}  // namespace rdma_agent
