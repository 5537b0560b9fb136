// Stack manifests (docs/abi-manifests.md): read, write, build from evidence or the installed stack.
#include <dirent.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>

#include "rdma_agent/abi.hpp"
#include "abi_internal.hpp"

namespace rdma_agent::abi {

namespace {

constexpr const char* kFormat = "rdma-agent-abi-manifest/1";
constexpr const char* kUnversioned = "unversioned";

[[noreturn]] void bad(const std::string& source, const std::string& what) {
    throw ManifestError(source + ": " + what);
}

}  // namespace

bool rdma_soname(const std::string& soname) {
    static const std::regex re("^lib(ibverbs|rdmacm|mlx4|mlx5|efa|hns|mana|ionic|bnxt_re|erdma)\\.so(\\..*)?$");
    return std::regex_match(soname, re);
}

bool rdma_version_node(const std::string& v) {
    static const char* p[] = {"IBVERBS_", "RDMACM_", "MLX4_", "MLX5_", "EFA_", "HNS_", "MANA_", "IONIC_", "BNXT_RE_"};
    for (auto x : p)
        if (v.rfind(x, 0) == 0) return true;
    return false;
}

std::string family_of(const Manifest& m) {
    auto it = m.libraries.find("libibverbs.so.1");
    if (it == m.libraries.end()) return "unknown";
    for (const auto& [sym, vers] : it->second)
        for (const auto& v : vers)
            if (rdma_core_only_node(v)) return "rdma-core";
    return "other";
}

bool rdma_core_only_node(const std::string& v) {
    // rdma-core's libibverbs continued the legacy IBVERBS_1.0/1.1 nodes with IBVERBS_1.5 and up,
    // and its private provider interface IBVERBS_PRIVATE_<n>; RDMACM_1.1+ likewise.
    static const std::regex re("^(IBVERBS_1\\.([5-9]|[1-9][0-9]+)|IBVERBS_PRIVATE_[0-9]+|RDMACM_1\\.([1-9][0-9]*))$");
    return std::regex_match(v, re);
}

Manifest parse_manifest(const nlohmann::json& j, const std::string& source) {
    if (!j.is_object()) bad(source, "a manifest is a JSON object");
    if (!j.contains("format") || j["format"] != kFormat)
        bad(source, std::string("not a manifest: \"format\" must be \"") + kFormat + "\"");
    Manifest m;
    m.source = source;
    auto str = [&](const char* k, bool required) -> std::string {
        if (!j.contains(k)) {
            if (required) bad(source, std::string("missing \"") + k + "\"");
            return {};
        }
        if (!j[k].is_string()) bad(source, std::string("\"") + k + "\" must be a string");
        return j[k].get<std::string>();
    };
    m.name = str("name", true);
    m.description = str("description", false);
    if (!j.contains("libraries") || !j["libraries"].is_object()) bad(source, "\"libraries\" must be an object");
    for (const auto& [soname, nodes] : j["libraries"].items()) {
        if (!nodes.is_object()) bad(source, "libraries." + soname + " must be an object of version node -> symbols");
        auto& lib = m.libraries[soname];
        for (const auto& [node, syms] : nodes.items()) {
            if (!syms.is_array()) bad(source, "libraries." + soname + "." + node + " must be a list of symbol names");
            for (const auto& s : syms) {
                if (!s.is_string()) bad(source, "libraries." + soname + "." + node + ": symbol names are strings");
                lib[s.get<std::string>()].insert(node == kUnversioned ? std::string() : node);
            }
        }
    }
    if (j.contains("structs")) {
        if (!j["structs"].is_object()) bad(source, "\"structs\" must be an object of name -> size");
        for (const auto& [name, size] : j["structs"].items()) {
            if (!size.is_number_integer() || (!size.is_number_unsigned() && size.get<std::int64_t>() < 0))
                bad(source, "structs." + name + " must be a non-negative integer");
            m.structs[name] = size.get<std::uint64_t>();
        }
    }
    m.family = family_of(m);
    if (j.contains("family") && j["family"].is_string() && j["family"] != m.family)
        bad(source, "\"family\" says " + j["family"].get<std::string>() + " but the libraries say " + m.family);
    return m;
}

Manifest load_manifest(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw ManifestError(path + ": cannot open manifest");
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& e) {
        throw ManifestError(path + ": not valid JSON: " + e.what());
    }
    return parse_manifest(j, path);
}

nlohmann::json to_json(const Manifest& m) {
    nlohmann::json j;
    j["format"] = kFormat;
    j["name"] = m.name;
    j["description"] = m.description;
    j["family"] = m.family;
    auto& libs = j["libraries"] = nlohmann::json::object();
    for (const auto& [soname, syms] : m.libraries) {
        std::map<std::string, std::vector<std::string>> by_node;
        for (const auto& [sym, vers] : syms)
            for (const auto& v : vers) by_node[v.empty() ? kUnversioned : v].push_back(sym);
        auto& l = libs[soname] = nlohmann::json::object();
        for (auto& [node, list] : by_node) {
            std::sort(list.begin(), list.end());
            l[node] = list;
        }
    }
    j["structs"] = m.structs;
    return j;
}

Manifest manifest_from(const std::string& name, const std::string& description, const std::vector<ElfEvidence>& libs,
                       const std::vector<ElfEvidence>& type_objects) {
    Manifest m;
    m.name = name;
    m.description = description;
    for (const auto& e : libs) {
        if (!e.error.empty()) throw ManifestError(e.path + ": " + e.error);
        if (e.soname.empty()) throw ManifestError(e.path + ": shared library without DT_SONAME");
        auto& lib = m.libraries[e.soname];
        const bool versioned = std::any_of(e.exports.begin(), e.exports.end(), [](const auto& x) { return !x.version.empty(); });
        for (const auto& x : e.exports) {
            // Linker-generated unversioned symbols (_end, __bss_start...) of a versioned library.
            if (versioned && x.version.empty()) continue;
            lib[x.name].insert(x.version);
        }
    }
    for (const auto& t : type_objects) {
        if (!t.error.empty()) throw ManifestError(t.path + ": " + t.error);
        if (t.elf_kind == "relocatable")
            throw ManifestError(t.path + ": a relocatable object (.o): its DWARF is not relocated; link it (-shared)");
        if (!t.has_debug_info) throw ManifestError(t.path + ": no DWARF in the type object (compile it with -g)");
        for (const auto& [n, sizes] : t.structs) {
            if (sizes.size() != 1) throw ManifestError(t.path + ": struct " + n + " has several sizes");
            m.structs[n] = *sizes.begin();
        }
    }
    m.family = family_of(m);
    return m;
}

Manifest installed_manifest(const std::string& root) {
    namespace fs = std::filesystem;
    Manifest m;
    m.name = "installed";
    const std::vector<std::string> dirs = {"/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64",
                                           "/usr/lib", "/lib/x86_64-linux-gnu", "/lib64"};
    std::vector<ElfEvidence> libs;
    std::set<std::string> sonames;
    std::string where, version, libdir;
    for (const auto& d : dirs) {
        std::error_code ec;
        const fs::path dir = fs::path(root) / d.substr(1);
        if (!fs::is_directory(dir, ec)) continue;
        std::vector<fs::path> found;
        for (const auto& ent : fs::directory_iterator(dir, ec)) {
            const std::string fn = ent.path().filename().string();
            if (rdma_soname(fn) && fn.find(".so.") != std::string::npos) found.push_back(ent.path());
        }
        std::sort(found.begin(), found.end());
        if (!found.empty() && libdir.empty()) libdir = d;
        for (const auto& p : found) {
            // The soname links (libibverbs.so.1 -> libibverbs.so.1.14.44.0): read each real file once.
            auto ev = read_elf_file(p.string(), {});
            if (!ev.error.empty() || ev.soname.empty() || !sonames.insert(ev.soname).second) continue;
            where += (where.empty() ? "" : ", ") + p.filename().string();
            if (ev.soname == "libibverbs.so.1") {
                // libibverbs.so.1 -> libibverbs.so.1.14.44.0: rdma-core names its files <abi>.<release>.
                std::error_code ec2;
                const std::string real = fs::canonical(p, ec2).filename().string();
                static const std::regex rel("^libibverbs\\.so\\.1\\.[0-9]+\\.(.+)$");
                std::smatch mm;
                if (!ec2 && std::regex_match(real, mm, rel)) version = "rdma-core " + mm[1].str() + ": ";
            }
            libs.push_back(std::move(ev));
        }
    }
    if (libs.empty()) throw ManifestError("no RDMA library (libibverbs.so.*, librdmacm.so.*, ...) found under " + root);
    m = manifest_from("installed", "", libs, {});
    m.name = "installed";
    m.description = version + where + " in " + root + (root == "/" ? "" : "/") + libdir.substr(1);
    m.source = "installed stack under " + root + " (symbols only: struct layouts need the headers and a compiler, "
               "tools/abi-manifest --installed)";
    return m;
}

}  // namespace rdma_agent::abi
