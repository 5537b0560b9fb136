// A FileSystem for unit tests: answers only from what the test set up. Paths under a declared
// root ("/sys", "/proc", ...) that were not set up are absent; any access outside the declared
// roots throws, so a check never silently reads the real disk or a path nobody thought of.
#pragma once

#include <algorithm>
#include <map>
#include <set>
#include <stdexcept>
#include <string>

#include "rdma_agent/filesystem.hpp"

namespace rdma_agent::test {

class FakeFileSystem final : public FileSystem {
public:
    FakeFileSystem() = default;
    explicit FakeFileSystem(std::set<std::string> roots) : roots_(std::move(roots)) {}

    FakeFileSystem& file(const std::string& path, std::string content) {
        guard(path);
        files_[path] = std::move(content);
        add_parents(path);
        return *this;
    }
    FakeFileSystem& link(const std::string& path, std::string target) {
        guard(path);
        links_[path] = std::move(target);
        add_parents(path);
        return *this;
    }
    FakeFileSystem& dir(const std::string& path) {
        guard(path);
        dirs_.insert(path);
        add_parents(path);
        return *this;
    }

    std::optional<std::string> read(const std::string& path) const override {
        guard(path);
        auto it = files_.find(path);
        if (it == files_.end()) return std::nullopt;
        return it->second;
    }
    std::vector<std::string> list(const std::string& d) const override {
        guard(d);
        std::set<std::string> names;
        const std::string prefix = d + "/";
        auto collect = [&](const std::string& p) {
            if (p.size() > prefix.size() && p.compare(0, prefix.size(), prefix) == 0) {
                const auto rest = p.substr(prefix.size());
                names.insert(rest.substr(0, rest.find('/')));
            }
        };
        for (const auto& [p, _] : files_) collect(p);
        for (const auto& [p, _] : links_) collect(p);
        for (const auto& p : dirs_) collect(p);
        return {names.begin(), names.end()};
    }
    std::optional<std::string> readlink(const std::string& path) const override {
        guard(path);
        auto it = links_.find(path);
        if (it == links_.end()) return std::nullopt;
        return it->second;
    }
    bool exists(const std::string& path) const override {
        guard(path);
        return files_.count(path) || links_.count(path) || dirs_.count(path);
    }

private:
    void guard(const std::string& path) const {
        for (const auto& r : roots_)
            if (path == r || path.compare(0, r.size() + 1, r + "/") == 0) return;
        throw std::logic_error("FakeFileSystem: access to " + path + " outside the roots the test set up");
    }
    void add_parents(const std::string& path) {
        auto p = path;
        while (true) {
            const auto s = p.rfind('/');
            if (s == 0 || s == std::string::npos) break;
            p = p.substr(0, s);
            dirs_.insert(p);
        }
    }

    std::set<std::string> roots_ = {"/sys", "/proc", "/etc", "/lib", "/usr", "/dev", "/run"};
    std::map<std::string, std::string> files_, links_;
    std::set<std::string> dirs_;
};

}  // namespace rdma_agent::test
