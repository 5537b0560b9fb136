// Evidence vs manifest -> verdict (docs/abi-manifests.md, "How a verdict is reached").
#include <algorithm>
#include <regex>
#include <sstream>

#include "abi_internal.hpp"
#include "rdma_agent/abi.hpp"

namespace rdma_agent::abi {

namespace {

// Structs whose layout inline verbs code reads directly (ctx->ops.post_send, qp->context, wc
// fields...): rdma-core keeps them frozen, so any size difference means other headers.
const std::set<std::string> kFixedLayout = {
    "ibv_context", "_ibv_context_ops", "ibv_context_ops", "ibv_device", "ibv_qp", "ibv_cq", "ibv_srq",
    "ibv_send_wr", "ibv_recv_wr", "ibv_sge", "ibv_wc", "ibv_qp_init_attr", "ibv_ah_attr", "ibv_global_route",
    "ibv_pd", "ibv_mr", "ibv_comp_channel", "ibv_device_attr", "rdma_cm_id", "rdma_cm_event"};

bool experimental(const std::string& n) {
    return n.find("_exp_") != std::string::npos || n.rfind("ibv_exp", 0) == 0 || n.rfind("mlx5_exp", 0) == 0;
}

std::string join(const std::set<std::string>& s, const char* sep = ", ") {
    std::string out;
    for (const auto& x : s) out += (out.empty() ? "" : sep) + (x.empty() ? std::string("(unversioned)") : x);
    return out;
}

std::string stack_name(const Manifest& m) {
    return m.description.empty() ? m.name : m.name + " (" + m.description + ")";
}

}  // namespace

const char* to_string(Verdict v) {
    switch (v) {
        case Verdict::compatible: return "compatible";
        case Verdict::unknown: return "unknown";
        case Verdict::incompatible: return "incompatible";
    }
    return "unknown";
}

ScanResult scan(const ElfEvidence& e, const Manifest& m) {
    ScanResult r;
    r.path = e.path;
    r.debug_info = e.has_debug_info;
    const std::string stack = stack_name(m);
    if (!e.error.empty()) {
        r.verdict = Verdict::unknown;
        r.missing.push_back("ELF evidence: " + e.error);
        r.summary = e.path + ": cannot be read as ELF: " + e.error;
        return r;
    }

    for (const auto& n : e.needed)
        if (rdma_soname(n)) r.rdma_needed.push_back(n);
    const bool self_rdma = rdma_soname(e.soname);
    std::vector<const ImportedSymbol*> imports;
    for (const auto& im : e.imports) {
        const bool verbs_name = im.name.rfind("ibv_", 0) == 0 || im.name.rfind("rdma_", 0) == 0 ||
                                im.name.rfind("mlx5dv_", 0) == 0 || im.name.rfind("mlx4dv_", 0) == 0 ||
                                im.name.rfind("_ibv_", 0) == 0 || im.name.rfind("efadv_", 0) == 0;
        if (rdma_version_node(im.version) || rdma_soname(im.library) ||
            (im.version.empty() && verbs_name && !r.rdma_needed.empty()))
            imports.push_back(&im);
    }
    r.rdma_imports = imports.size();
    const bool linked = !r.rdma_needed.empty() || !imports.empty() || !e.structs.empty() || !e.defined_verbs.empty();

    if (!linked) {
        if (!e.dlopen_strings.empty()) {
            std::set<std::string> s(e.dlopen_strings.begin(), e.dlopen_strings.end());
            r.missing.push_back("names " + join(s) + " in its data but links no RDMA library: it loads it at run time "
                                "(dlopen), so its verbs symbols and types are not in the file");
        } else if (e.needed.empty() && e.imports.empty() && !e.has_symtab && e.elf_kind == "executable") {
            r.missing.push_back("statically linked and stripped: a verbs library linked into it would leave no trace");
        } else {
            r.verdict = Verdict::compatible;
            r.summary = e.path + ": compatible with " + stack + ": links no RDMA library and carries no verbs types";
            r.notes.push_back("no RDMA DT_NEEDED, no verbs imports, no verbs types, no verbs library name in its data");
            return r;
        }
    }

    if (!e.defined_verbs.empty() && !self_rdma) {
        std::set<std::string> s(e.defined_verbs.begin(), e.defined_verbs.end());
        r.missing.push_back("defines " + join(s) + " itself (statically linked verbs library): its built-in "
                            "provider interface cannot be checked against a stack");
    }

    // 1. Sonames.
    std::set<std::string> missing_libs;
    for (const auto& n : r.rdma_needed) {
        if (!m.libraries.count(n)) {
            missing_libs.insert(n);
            r.findings.push_back({"soname", n, e.path + ": needs " + n + ", which " + stack + " does not ship"});
        }
    }

    // 2. Imported symbols and their version nodes.
    std::set<std::string> fingerprints;
    for (const auto* im : imports) {
        if (rdma_core_only_node(im->version)) fingerprints.insert(im->name + "@" + im->version);
        std::string lib = im->library;
        if (lib.empty()) {
            for (const auto& n : r.rdma_needed) {
                auto it = m.libraries.find(n);
                if (it != m.libraries.end() && it->second.count(im->name)) lib = n;
            }
        }
        if (!lib.empty() && missing_libs.count(lib)) continue;  // already reported as a soname
        const std::string what = im->name + (im->version.empty() ? "" : "@" + im->version);
        auto li = m.libraries.find(lib);
        if (lib.empty() || li == m.libraries.end()) {
            if (im->weak) {
                r.notes.push_back("weak import " + what + " is not in " + stack + " (allowed: weak)");
                continue;
            }
            r.findings.push_back({"symbol", what, e.path + ": imports " + what + ", which no library of " + stack + " exports"});
            continue;
        }
        auto si = li->second.find(im->name);
        bool node_exists = im->version.empty();
        if (!node_exists)
            for (const auto& [sym, vers] : li->second)
                if (vers.count(im->version)) {
                    node_exists = true;
                    break;
                }
        const bool priv = im->version.find("_PRIVATE_") != std::string::npos;
        const char* why = priv ? " (a private node ties the binary to one rdma-core build: its providers and tools)" : "";
        if (si == li->second.end()) {
            if (im->weak && node_exists) {
                r.notes.push_back("weak import " + what + " is not in " + lib + " of " + stack + " (allowed: weak)");
                continue;
            }
            r.findings.push_back({priv ? "private_abi" : "symbol", what,
                                  e.path + ": imports " + what + " from " + lib + "; " + stack + " lacks " +
                                      (node_exists ? "the symbol" : "the symbol and the version node " + im->version) + why});
        } else if (!im->version.empty() && !si->second.count(im->version)) {
            r.findings.push_back({priv ? "private_abi" : "version", what,
                                  e.path + ": imports " + what + " from " + lib + "; " + stack + " has " + im->name +
                                      " only as " + join(si->second) + why});
        }
    }

    // 3. Types (DWARF) and the headers the binary was built with.
    for (const auto& n : e.inline_verbs)
        if (experimental(n))
            r.findings.push_back({"type", n, e.path + ": inlines " + n + " (MLNX_OFED experimental verbs, called through "
                                  "tables of that stack's context); " + stack + " has no such verb"});
    bool types_checked = false;
    if (e.has_debug_info && !e.structs.empty()) {
        const bool stack_layouts = !m.structs.empty();
        for (const auto& [name, sizes] : e.structs) {
            std::string sz;
            for (auto x : sizes) {  // appended in two steps: GCC 12 -O3 flags `"/" + to_string()` (-Wrestrict, PR 105329)
                if (!sz.empty()) sz += '/';
                sz += std::to_string(x);
            }
            auto it = m.structs.find(name);
            if (it == m.structs.end()) {
                if (experimental(name) || (m.family == "rdma-core" && name.rfind("verbs_context_exp", 0) == 0)) {
                    r.findings.push_back({"type", name, e.path + ": built with headers defining struct " + name + " (" +
                                          sz + " bytes, MLNX_OFED experimental verbs); " + stack + "'s headers have no such type"});
                } else if (stack_layouts) {
                    r.notes.push_back("struct " + name + " (" + sz + " bytes) is not in " + stack +
                                      "'s headers (newer or other headers; only reached through functions checked above)");
                }
                continue;
            }
            ++r.structs_compared;
            for (auto s : sizes) {
                if (s == it->second) continue;
                if (kFixedLayout.count(name)) {
                    r.findings.push_back({"type_size", name, e.path + ": struct " + name + " is " + std::to_string(s) +
                                          " bytes in the headers it was built with, " + std::to_string(it->second) + " in " +
                                          stack + ": inline verbs would read the wrong memory"});
                } else {
                    r.notes.push_back("struct " + name + " is " + std::to_string(s) + " bytes in the binary's headers, " +
                                      std::to_string(it->second) + " in " + stack +
                                      ": extensible (verbs_get_ctx_op checks verbs_context.sz; *_ex structs carry comp_mask), "
                                      "the stack refuses what it does not know instead of misreading it");
                }
            }
        }
        types_checked = stack_layouts && r.structs_compared > 0;
        if (!stack_layouts)
            r.notes.push_back(stack + " carries no struct layouts (symbols-only manifest): the binary's " +
                              std::to_string(e.structs.size()) + " verbs types were not compared");
    } else if (e.has_debug_info) {
        types_checked = true;  // DWARF read, no verbs type in it: no inline verbs in the -g code
        r.notes.push_back("DWARF (" + e.debug_source + ") names no verbs type: no inline verbs code in the units compiled with -g");
    }

    if (!types_checked) {
        if (m.family == "rdma-core" && !fingerprints.empty()) {
            r.notes.push_back("no usable DWARF, but " + *fingerprints.begin() + (fingerprints.size() > 1 ? " and " +
                              std::to_string(fingerprints.size() - 1) + " more" : std::string()) +
                              " (rdma-core-only version nodes) show rdma-core headers: their inline verbs reach extended ops only through "
                              "verbs_get_ctx_op (checks verbs_context.sz at run time) and struct ibv_context is frozen");
        } else if (!self_rdma) {
            std::string why = e.has_debug_info ? "the stack's struct layouts (its manifest has none)"
                                               : std::string("DWARF type information (") +
                                                     (e.has_symtab ? "no .debug_info" : "stripped: no .debug_info, no .symtab") +
                                                     ", no /usr/lib/debug/.build-id file)";
            r.missing.push_back(why + ", and no import from an rdma-core-only version node (IBVERBS_1.5+, "
                                "IBVERBS_PRIVATE_*, RDMACM_1.1+) proves which headers it was built with: inline verbs "
                                "calling through struct ibv_context cannot be checked");
        }
    }

    if (!r.findings.empty()) r.verdict = Verdict::incompatible;
    else if (!r.missing.empty()) r.verdict = Verdict::unknown;
    else r.verdict = Verdict::compatible;

    std::ostringstream os;
    os << e.path << ": " << to_string(r.verdict) << " with " << stack;
    if (r.verdict == Verdict::incompatible) os << ": " << r.findings.size() << " finding(s), first: " << r.findings.front().item;
    else if (r.verdict == Verdict::unknown) os << ": missing " << r.missing.front();
    else os << ": " << r.rdma_imports << " verbs imports resolved, " << r.structs_compared << " struct layouts compared";
    r.summary = os.str();
    return r;
}

nlohmann::json to_json(const ScanResult& r, bool with_evidence, const ElfEvidence* e) {
    nlohmann::json j;
    j["path"] = r.path;
    j["verdict"] = to_string(r.verdict);
    j["summary"] = r.summary;
    auto& f = j["findings"] = nlohmann::json::array();
    for (const auto& x : r.findings) f.push_back({{"kind", x.kind}, {"item", x.item}, {"message", x.message}});
    j["missing_evidence"] = r.missing;
    j["notes"] = r.notes;
    j["rdma_needed"] = r.rdma_needed;
    j["rdma_imports"] = r.rdma_imports;
    j["structs_compared"] = r.structs_compared;
    j["debug_info"] = r.debug_info;
    if (with_evidence && e) j["evidence"] = to_json(*e);
    return j;
}

int exit_code_for(const std::vector<ScanResult>& results) {
    int rc = 0;
    for (const auto& r : results)
        rc = std::max(rc, r.verdict == Verdict::incompatible ? 2 : r.verdict == Verdict::unknown ? 1 : 0);
    return rc;
}

}  // namespace rdma_agent::abi
