// modprobe.d, read the way kmod's libkmod-config.c reads it (docs/agent-config.md):
//  - directories /etc/modprobe.d, /run/modprobe.d, /usr/local/lib/modprobe.d,
//    /usr/lib/modprobe.d, /lib/modprobe.d in that precedence: a file name found in an earlier
//    directory hides the same name in later ones;
//  - only files ending in ".conf", not starting with '.'; parsed in strcmp order of basename;
//  - '#' starts a comment line, a trailing backslash continues the line;
//  - module names compare with '-' == '_'; parameter names too (kernel/params.c parameq);
//  - the options of every "options <module>" line accumulate in order; the kernel applies
//    them left to right, so for one parameter the last value wins.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rdma_agent/filesystem.hpp"

namespace rdma_agent::modprobe {

struct OptionValue {
    std::string value;
    std::string file;   // node path of the file that set it
    int line = 0;
};

struct ParsedFile {
    std::string path;
    std::string text;
};

// Splits "a=1 b=\"x y\" c" the way the kernel's next_arg does (quotes, bare flags).
std::vector<std::pair<std::string, std::string>> split_params(std::string_view s);

// Parses files (already ordered) and returns, for `module`, each parameter's final value.
std::map<std::string, OptionValue> options_for(const std::vector<ParsedFile>& files,
                                               std::string_view module);

// Collects the files as kmod would, through the FileSystem.
std::vector<ParsedFile> collect_files(const FileSystem& fs);

// The configured value of module.param, or nullopt.
std::optional<OptionValue> configured_value(const FileSystem& fs, std::string_view module,
                                            std::string_view param);

// From /proc/cmdline: "mlx4_core.log_num_mgm_entry_size=-1".
std::optional<std::string> cmdline_value(std::string_view cmdline, std::string_view module,
                                         std::string_view param);

}  // namespace rdma_agent::modprobe
