#include "rdma_agent/rooted_filesystem.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
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
    // POSIX calls, not an ifstream: open, fstat, read until EOF, close, nothing else (sysfs
    // attributes are many and small; modules.dep is ~500 KB and read in one call).
    // O_NONBLOCK: opening a FIFO must not wait for a writer; it is then refused below.
    const int fd = ::open(host->c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return std::nullopt;
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
    } closer{fd};
    struct stat st {};
    // sysfs attributes are regular files; anything else (a FIFO, /dev/kmsg) is never read.
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
    // sysfs reports 4096 for every attribute whatever its content; real files their size. The
    // buffer is sized once from st_size and the end-of-file probe reads into a small stack
    // buffer: no reallocation copying a large file (modules.dep) and no extra pages touched.
    std::string out(std::max<std::size_t>(4096, static_cast<std::size_t>(st.st_size)), '\0');
    std::size_t have = 0;
    for (;;) {
        char probe[512];
        const bool room = have < out.size();
        const ssize_t n = room ? ::read(fd, out.data() + have, out.size() - have) : ::read(fd, probe, sizeof probe);
        if (n < 0) {
            if (errno == EINTR) continue;
            return std::nullopt;  // e.g. EINVAL from an empty GID slot's attribute
        }
        if (n == 0) break;
        if (!room) {  // larger than announced (procfs, a growing file): keep going
            out.append(probe, static_cast<std::size_t>(n));
            out.resize(out.size() + 65536);
        }
        have += static_cast<std::size_t>(n);
    }
    out.resize(have);
    return out;
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
