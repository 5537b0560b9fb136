// modprobe.d parsing modelled on kmod's libkmod/libkmod-config.c (kmod 30, Debian 12):
// conf_files_list() collects "*.conf" files per directory, skipping names starting with '.';
// a basename already seen in a higher-precedence directory is skipped; the union is parsed in
// strcmp order. kmod_config_parse() reads lines with freadline_wrapped() (a trailing '\' joins
// the next line), ignores lines starting with '#' or empty, and for "options <mod> <rest>"
// appends <rest> under underscores(<mod>). Options from the kernel command line
// ("mod.param=value", kmod_config_parse_kcmdline) come before those of the files. The kernel
// applies the options string left to right (kernel/params.c parse_args), so the last wins; it
// matches parameter names with '-' == '_' (parameq).
#include "rdma_agent/modprobe.hpp"

#include <algorithm>
#include <set>

#include "rdma_agent/sysfs.hpp"

namespace rdma_agent::modprobe {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

std::string next_token(std::string_view s, std::size_t& pos) {
    while (pos < s.size() && (s[pos] == ' ' || s[pos] == '\t')) ++pos;
    const std::size_t b = pos;
    while (pos < s.size() && s[pos] != ' ' && s[pos] != '\t') ++pos;
    return std::string(s.substr(b, pos - b));
}

}  // namespace

// kernel/params.c next_arg(): params separated by spaces; a value may be in double quotes
// (also `"param=value"` quoted as a whole); a bare name is a flag with no value.
std::vector<std::pair<std::string, std::string>> split_params(std::string_view s) {
    std::vector<std::pair<std::string, std::string>> out;
    std::size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && is_space(s[i])) ++i;
        if (i >= s.size()) break;
        bool in_quote = false;
        std::string token;
        std::size_t equals = std::string::npos;
        for (; i < s.size(); ++i) {
            const char c = s[i];
            if (c == '"') {
                in_quote = !in_quote;
                continue;
            }
            if (!in_quote && is_space(c)) break;
            if (c == '=' && equals == std::string::npos) equals = token.size();
            token += c;
        }
        if (token.empty() || equals == 0) continue;  // "=value" names no parameter
        if (equals == std::string::npos) out.emplace_back(token, "");
        else out.emplace_back(token.substr(0, equals), token.substr(equals + 1));
    }
    return out;
}

std::map<std::string, OptionValue> options_for(const std::vector<ParsedFile>& files, std::string_view module) {
    std::map<std::string, OptionValue> out;
    const std::string want = sysfs::normalize_module_name(module);
    for (const auto& f : files) {
        std::size_t pos = 0;
        int lineno = 0;
        while (pos < f.text.size()) {
            // freadline_wrapped: join lines ending in a backslash.
            std::string line;
            const int first_line = lineno + 1;
            while (pos < f.text.size()) {
                auto nl = f.text.find('\n', pos);
                if (nl == std::string::npos) nl = f.text.size();
                std::string part = f.text.substr(pos, nl - pos);
                pos = nl + 1;
                ++lineno;
                if (!part.empty() && part.back() == '\\') {
                    part.pop_back();
                    line += part;
                    continue;
                }
                line += part;
                break;
            }
            if (line.empty() || line[0] == '#') continue;
            std::size_t lp = 0;
            const std::string cmd = next_token(line, lp);
            if (cmd != "options") continue;
            const std::string mod = next_token(line, lp);
            if (mod.empty() || sysfs::normalize_module_name(mod) != want) continue;
            for (auto& [name, value] : split_params(std::string_view(line).substr(lp)))
                out[sysfs::normalize_module_name(name)] = OptionValue{value, f.path, first_line};
        }
    }
    return out;
}

std::vector<ParsedFile> collect_files(const FileSystem& fs) {
    static const char* const dirs[] = {"/etc/modprobe.d", "/run/modprobe.d", "/usr/local/lib/modprobe.d",
                                       "/usr/lib/modprobe.d", "/lib/modprobe.d"};
    std::vector<std::pair<std::string, std::string>> chosen;  // basename, node path
    std::set<std::string> seen;
    for (const char* d : dirs) {
        for (const auto& name : fs.list(d)) {
            if (name.empty() || name[0] == '.' || !name.ends_with(".conf")) continue;
            if (!seen.insert(name).second) continue;  // hidden by a higher-precedence directory
            chosen.emplace_back(name, std::string(d) + "/" + name);
        }
    }
    std::sort(chosen.begin(), chosen.end());
    std::vector<ParsedFile> out;
    for (const auto& [name, path] : chosen) {
        auto text = fs.read(path);
        if (text) out.push_back(ParsedFile{path, *text});
    }
    return out;
}

std::optional<std::string> cmdline_value(std::string_view cmdline, std::string_view module, std::string_view param) {
    const std::string want_mod = sysfs::normalize_module_name(module);
    const std::string want_param = sysfs::normalize_module_name(param);
    std::optional<std::string> v;
    for (auto& [name, value] : split_params(cmdline)) {
        const auto dot = name.find('.');
        if (dot == std::string::npos) continue;
        if (sysfs::normalize_module_name(name.substr(0, dot)) == want_mod &&
            sysfs::normalize_module_name(name.substr(dot + 1)) == want_param)
            v = value;
    }
    return v;
}

std::optional<OptionValue> configured_value(const FileSystem& fs, std::string_view module, std::string_view param) {
    std::optional<OptionValue> result;
    if (auto cmdline = fs.read("/proc/cmdline")) {
        if (auto v = cmdline_value(*cmdline, module, param)) result = OptionValue{*v, "/proc/cmdline", 1};
    }
    const auto opts = options_for(collect_files(fs), module);
    auto it = opts.find(sysfs::normalize_module_name(param));
    if (it != opts.end()) result = it->second;
    return result;
}

}  // namespace rdma_agent::modprobe
