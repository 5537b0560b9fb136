// The real FileSystem: node paths mapped onto injected roots (--sysfs-root, --root, ...).
#pragma once

#include <string>

#include "rdma_agent/filesystem.hpp"

namespace rdma_agent {

// Roots for a node image at DIR: DIR/sys, DIR/proc, DIR/etc, DIR/lib, DIR/usr, DIR/dev, DIR/run.
Roots roots_under(const std::string& dir);

class RootedFileSystem final : public FileSystem {
public:
    explicit RootedFileSystem(Roots roots);
    std::optional<std::string> read(const std::string& path) const override;
    std::vector<std::string> list(const std::string& dir) const override;
    std::optional<std::string> readlink(const std::string& path) const override;
    bool exists(const std::string& path) const override;

    // The host path a node path maps to; nullopt for paths outside every root.
    std::optional<std::string> map(const std::string& node_path) const;
    const Roots& roots() const { return roots_; }

private:
    Roots roots_;
};

}  // namespace rdma_agent
