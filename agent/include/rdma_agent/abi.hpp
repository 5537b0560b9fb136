// ABI guard (issue 8): what a binary was built for (ELF + DWARF evidence, read with elfutils'
// libelf/libdw) and whether a stack (a manifest, docs/abi-manifests.md) provides it.
// Library rdma_agent_abi; no RDMA dependency.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace rdma_agent::abi {

struct ImportedSymbol {
    std::string name;
    std::string version;  // version node ("IBVERBS_1.1"); empty: unversioned import
    std::string library;  // soname the version is required from (.gnu.version_r); may be empty
    bool weak = false;
};

struct ExportedSymbol {
    std::string name;
    std::string version;  // version node; empty: unversioned
    bool default_version = true;  // name@@VER (false: name@VER, still bindable by old binaries)
};

// Everything read from one file. `error` non-empty: the file could not be read as ELF (the
// other fields are then whatever was read before the problem).
struct ElfEvidence {
    std::string path;
    std::string error;
    std::string elf_kind;  // "executable", "shared library", "relocatable", "core", "other"
    std::string soname;
    std::vector<std::string> needed;  // DT_NEEDED in order
    std::vector<ImportedSymbol> imports;
    std::vector<ExportedSymbol> exports;
    std::vector<std::string> defined_verbs;  // verbs functions the file defines itself (static link)
    bool has_symtab = false;                 // .symtab present (not stripped)
    bool has_debug_info = false;             // .debug_info with at least one unit read
    std::string debug_source;                // "embedded" or the separate file used (build-id)
    std::map<std::string, std::set<std::uint64_t>> structs;  // verbs struct name -> sizes seen
    std::set<std::string> inline_verbs;      // inlined verbs functions named in DWARF
    std::vector<std::string> dlopen_strings; // "libibverbs.so.1"-like strings in the file's data
    std::vector<std::string> warnings;       // non-fatal reading problems (a bad DWARF unit...)
};

// Reads a file (at most max_bytes; larger files are refused, not truncated). Never throws for
// file content problems: they land in `error`. `debug_roots`: where to look for a separate debug
// file by build-id (<root>/.build-id/xx/yyyy.debug) when the file has no .debug_info.
ElfEvidence read_elf_file(const std::string& path, const std::vector<std::string>& debug_roots = {"/usr/lib/debug"},
                          std::uint64_t max_bytes = 1ull << 30);
// Same on a memory image (fuzzing, tests). `path` only names it.
ElfEvidence read_elf_memory(const void* data, std::size_t size, const std::string& path);

// Is this a struct/union name the guard watches (verbs, rdmacm, provider dv, MLNX_OFED exp)?
bool watched_type(const std::string& name);

nlohmann::json to_json(const ElfEvidence& e);

// A stack: exported symbols per soname and struct layouts (docs/abi-manifests.md).
struct Manifest {
    std::string name;         // "debian-11"
    std::string description;  // "rdma-core 33.2-1 (Debian 11 bullseye)"
    std::string source;       // file it was read from, or "installed stack (...)"
    std::string family;       // "rdma-core" when libibverbs exports IBVERBS_1.5 or later
    // soname -> symbol -> version nodes ("" for unversioned)
    std::map<std::string, std::map<std::string, std::set<std::string>>> libraries;
    std::map<std::string, std::uint64_t> structs;  // empty: layouts unknown
};

struct ManifestError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

Manifest parse_manifest(const nlohmann::json& j, const std::string& source);  // throws ManifestError
Manifest load_manifest(const std::string& path);                               // throws ManifestError
// The stack installed under `root` ("/" normally): the RDMA libraries found in the usual libdirs.
// Struct layouts are not known this way (no compiler on a node): documented in the result.
Manifest installed_manifest(const std::string& root = "/");
nlohmann::json to_json(const Manifest& m);
// A manifest from evidence: libraries' exports and a -g object's structs (tools/abi-manifest).
Manifest manifest_from(const std::string& name, const std::string& description, const std::vector<ElfEvidence>& libs,
                       const std::vector<ElfEvidence>& type_objects);

enum class Verdict { compatible, unknown, incompatible };
const char* to_string(Verdict v);

struct Finding {
    std::string kind;     // "soname", "symbol", "version", "type", "type_size", "private_abi"
    std::string item;     // the soname, symbol@version or struct name
    std::string message;  // names the binary, the item and the stack lacking it
};

struct ScanResult {
    std::string path;
    Verdict verdict = Verdict::unknown;
    std::string summary;                 // one line
    std::vector<Finding> findings;       // incompatible reasons
    std::vector<std::string> missing;    // evidence that is missing (verdict unknown)
    std::vector<std::string> notes;      // what was established, for the reader
    std::vector<std::string> rdma_needed;
    std::size_t rdma_imports = 0;
    std::size_t structs_compared = 0;
    bool debug_info = false;
};

ScanResult scan(const ElfEvidence& e, const Manifest& m);
nlohmann::json to_json(const ScanResult& r, bool with_evidence, const ElfEvidence* e);

// 0 all compatible, 1 some unknown, 2 some incompatible (worst wins).
int exit_code_for(const std::vector<ScanResult>& results);

}  // namespace rdma_agent::abi
