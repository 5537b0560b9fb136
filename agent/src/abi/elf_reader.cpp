// ELF and DWARF evidence with elfutils (libelf for sections, dynamic entries, symbol versions;
// libdw for type units and DIEs). No ELF structure is parsed by hand here: every offset goes
// through libelf/libdw, which bound-check against the image. Hostile input is expected (the
// fuzz_elf target): every loop is bounded and every libelf/libdw NULL is handled.
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include <gelf.h>
#include <libelf.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <cstdio>
#include <optional>
#include <map>
#include <mutex>

#include "rdma_agent/abi.hpp"

namespace rdma_agent::abi {

namespace {

constexpr std::size_t kMaxDies = 4'000'000;    // per file: a bound for corrupt DWARF
constexpr std::size_t kMaxVerEntries = 65536;  // verneed/verdef entries walked
constexpr int kMaxDepth = 16;

void init_libelf() {
    static std::once_flag once;
    std::call_once(once, [] { (void)elf_version(EV_CURRENT); });
}

std::string elf_err() {
    const char* m = elf_errmsg(-1);
    return m ? m : "unknown libelf error";
}

bool starts_with(const std::string& s, const char* p) { return s.rfind(p, 0) == 0; }

const char* kVerbsPrefixes[] = {"ibv_", "_ibv_", "verbs_", "rdma_", "mlx5dv_", "mlx4dv_", "efadv_", "hnsdv_", "manadv_"};

bool verbs_function(const std::string& n) {
    for (auto p : kVerbsPrefixes)
        if (starts_with(n, p)) return true;
    return starts_with(n, "__ibv_") || starts_with(n, "___ibv_");
}

// Functions only the verbs libraries themselves define: a file defining one carries (a copy of)
// libibverbs or librdmacm. Prefixes would catch unrelated code (QEMU's rdma_backend_*).
bool library_entry_point(const std::string& n) {
    return n == "ibv_get_device_list" || n == "ibv_open_device" || n == "ibv_create_qp" || n == "rdma_create_id" ||
           n == "rdma_get_cm_event";
}

// Names end up in JSON and reports: anything but printable ASCII (corrupt or hostile files)
// becomes '?'. libelf/libdw guarantee termination inside their section.
std::string printable(const char* s, std::size_t max) {
    std::string out(s, strnlen(s, max));
    for (auto& c : out)
        if (c < 0x20 || c > 0x7e) c = '?';
    return out;
}

std::string safe_str(Elf* elf, std::size_t section, std::size_t offset) {
    const char* s = elf_strptr(elf, section, offset);
    return s ? printable(s, 4096) : std::string();
}

struct Sections {
    Elf_Scn* dynamic = nullptr;
    Elf_Scn* dynsym = nullptr;
    Elf_Scn* versym = nullptr;
    Elf_Scn* verneed = nullptr;
    Elf_Scn* verdef = nullptr;
    Elf_Scn* symtab = nullptr;
    bool debug_info = false;
};

struct DwarfWalk {
    ElfEvidence& ev;
    std::size_t dies = 0;

    void die(Dwarf_Die* d, int depth) {
        if (++dies > kMaxDies || depth > kMaxDepth) return;
        const int tag = dwarf_tag(d);
        if (tag == DW_TAG_structure_type || tag == DW_TAG_union_type || tag == DW_TAG_class_type) {
            const char* n = dwarf_diename(d);
            if (n && !dwarf_hasattr(d, DW_AT_declaration)) {
                const std::string name = printable(n, 512);
                if (watched_type(name)) {
                    const int sz = dwarf_bytesize(d);
                    if (sz >= 0) ev.structs[name].insert(static_cast<std::uint64_t>(sz));
                }
            }
        } else if (tag == DW_TAG_subprogram) {
            const char* n = dwarf_diename(d);
            if (n && dwarf_func_inline(d) == 1) {
                const std::string name = printable(n, 512);
                if (verbs_function(name) || name.find("_exp_") != std::string::npos) ev.inline_verbs.insert(name);
            }
            return;  // types local to functions do not matter here
        }
        // Types are found at unit level and inside namespaces (C++); do not descend elsewhere.
        if (tag == DW_TAG_namespace || tag == DW_TAG_compile_unit || tag == DW_TAG_type_unit ||
            tag == DW_TAG_partial_unit) {
            Dwarf_Die child;
            if (dwarf_child(d, &child) != 0) return;
            do {
                die(&child, depth + 1);
                if (dies > kMaxDies) return;
            } while (dwarf_siblingof(&child, &child) == 0);
        }
    }
};

// Reads the watched structs and inlined verbs from the DWARF of `elf`. True if a unit was read.
bool collect_dwarf(Elf* elf, ElfEvidence& ev) {
    Dwarf* dw = dwarf_begin_elf(elf, DWARF_C_READ, nullptr);
    if (!dw) return false;
    DwarfWalk walk{ev};
    bool any = false;
    Dwarf_CU* cu = nullptr;
    Dwarf_Half version = 0;
    std::uint8_t unit_type = 0;
    Dwarf_Die cudie, subdie;
    std::size_t units = 0;
    int rc = 0;
    while ((rc = dwarf_get_units(dw, cu, &cu, &version, &unit_type, &cudie, &subdie)) == 0) {
        any = true;
        if (++units > 1'000'000) break;
        // Type units (DWARF 4 .debug_types, DWARF 5 DW_UT_type): the type is the sub-DIE's tree.
        walk.die(&cudie, 0);
        if ((unit_type == DW_UT_type || unit_type == DW_UT_split_type) && dwarf_tag(&subdie) >= 0) walk.die(&subdie, 1);
        if (walk.dies > kMaxDies) {
            ev.warnings.push_back("DWARF: stopped after " + std::to_string(kMaxDies) + " entries");
            break;
        }
    }
    if (rc < 0) ev.warnings.push_back(std::string("DWARF: ") + (dwarf_errmsg(-1) ? dwarf_errmsg(-1) : "read error"));
    dwarf_end(dw);
    return any;
}

void collect_versions(Elf* elf, const Sections& s, std::map<unsigned, std::pair<std::string, std::string>>& need,
                      std::map<unsigned, std::string>& def, ElfEvidence& ev) {
    GElf_Shdr sh;
    if (s.verneed && gelf_getshdr(s.verneed, &sh)) {
        Elf_Data* d = elf_getdata(s.verneed, nullptr);
        std::size_t off = 0, walked = 0;
        GElf_Verneed vn;
        while (d && walked++ < kMaxVerEntries && gelf_getverneed(d, static_cast<int>(off), &vn)) {
            const std::string file = safe_str(elf, sh.sh_link, vn.vn_file);
            std::size_t aoff = off + vn.vn_aux;
            GElf_Vernaux va;
            for (unsigned i = 0; i < vn.vn_cnt && walked++ < kMaxVerEntries; ++i) {
                if (aoff > static_cast<std::size_t>(INT32_MAX) || !gelf_getvernaux(d, static_cast<int>(aoff), &va)) break;
                need[va.vna_other & 0x7fff] = {safe_str(elf, sh.sh_link, va.vna_name), file};
                if (va.vna_next == 0) break;
                aoff += va.vna_next;
            }
            if (vn.vn_next == 0) break;
            off += vn.vn_next;
            if (off > static_cast<std::size_t>(INT32_MAX)) break;
        }
        if (walked >= kMaxVerEntries) ev.warnings.push_back(".gnu.version_r: too many entries, stopped");
    }
    if (s.verdef && gelf_getshdr(s.verdef, &sh)) {
        Elf_Data* d = elf_getdata(s.verdef, nullptr);
        std::size_t off = 0, walked = 0;
        GElf_Verdef vd;
        while (d && walked++ < kMaxVerEntries && gelf_getverdef(d, static_cast<int>(off), &vd)) {
            GElf_Verdaux va;
            const std::size_t aoff = off + vd.vd_aux;
            if (aoff <= static_cast<std::size_t>(INT32_MAX) && gelf_getverdaux(d, static_cast<int>(aoff), &va)) {
                // The base definition (VER_FLG_BASE) is the file's own name, not a version node.
                def[vd.vd_ndx & 0x7fff] = (vd.vd_flags & VER_FLG_BASE) ? std::string() : safe_str(elf, sh.sh_link, va.vda_name);
            }
            if (vd.vd_next == 0) break;
            off += vd.vd_next;
            if (off > static_cast<std::size_t>(INT32_MAX)) break;
        }
    }
}

void collect_symbols(Elf* elf, const Sections& s, ElfEvidence& ev) {
    std::map<unsigned, std::pair<std::string, std::string>> need;
    std::map<unsigned, std::string> def;
    collect_versions(elf, s, need, def, ev);

    GElf_Shdr sh;
    if (s.dynsym && gelf_getshdr(s.dynsym, &sh)) {
        Elf_Data* d = elf_getdata(s.dynsym, nullptr);
        Elf_Data* vd = s.versym ? elf_getdata(s.versym, nullptr) : nullptr;
        const std::size_t ent = gelf_fsize(elf, ELF_T_SYM, 1, EV_CURRENT);
        const std::size_t n = (d && ent) ? d->d_size / ent : 0;
        std::set<std::string> seen_verbs;
        for (std::size_t i = 1; i < n && i < 10'000'000; ++i) {
            GElf_Sym sym;
            if (!gelf_getsym(d, static_cast<int>(i), &sym)) break;
            const std::string name = safe_str(elf, sh.sh_link, sym.st_name);
            if (name.empty()) continue;
            GElf_Versym ver = 1;
            if (vd && !gelf_getversym(vd, static_cast<int>(i), &ver)) ver = 1;
            const unsigned idx = ver & 0x7fff;
            const int bind = GELF_ST_BIND(sym.st_info);
            const int type = GELF_ST_TYPE(sym.st_info);
            if (sym.st_shndx == SHN_UNDEF) {
                ImportedSymbol im{name, {}, {}, bind == STB_WEAK};
                if (auto it = need.find(idx); idx >= 2 && it != need.end()) {
                    im.version = it->second.first;
                    im.library = it->second.second;
                }
                ev.imports.push_back(std::move(im));
            } else if ((bind == STB_GLOBAL || bind == STB_WEAK || bind == STB_GNU_UNIQUE) && type != STT_SECTION &&
                       type != STT_FILE) {
                ExportedSymbol ex{name, {}, (ver & 0x8000) == 0};
                if (auto it = def.find(idx); idx >= 2 && it != def.end()) ex.version = it->second;
                if (library_entry_point(name) && seen_verbs.insert(name).second) ev.defined_verbs.push_back(name);
                ev.exports.push_back(std::move(ex));
            }
        }
    }
    if (s.symtab && gelf_getshdr(s.symtab, &sh)) {
        ev.has_symtab = true;
        // Static linking leaves the verbs library's own functions defined in .symtab.
        Elf_Data* d = elf_getdata(s.symtab, nullptr);
        const std::size_t ent = gelf_fsize(elf, ELF_T_SYM, 1, EV_CURRENT);
        const std::size_t n = (d && ent) ? d->d_size / ent : 0;
        for (std::size_t i = 1; i < n && i < 10'000'000; ++i) {
            GElf_Sym sym;
            if (!gelf_getsym(d, static_cast<int>(i), &sym)) break;
            if (sym.st_shndx == SHN_UNDEF || GELF_ST_TYPE(sym.st_info) != STT_FUNC) continue;
            const std::string name = safe_str(elf, sh.sh_link, sym.st_name);
            if (library_entry_point(name) &&
                std::find(ev.defined_verbs.begin(), ev.defined_verbs.end(), name) == ev.defined_verbs.end())
                ev.defined_verbs.push_back(name);
        }
    }
}

void collect_dynamic(Elf* elf, const Sections& s, ElfEvidence& ev) {
    GElf_Shdr sh;
    if (!s.dynamic || !gelf_getshdr(s.dynamic, &sh)) return;
    Elf_Data* d = elf_getdata(s.dynamic, nullptr);
    const std::size_t ent = gelf_fsize(elf, ELF_T_DYN, 1, EV_CURRENT);
    const std::size_t n = (d && ent) ? d->d_size / ent : 0;
    for (std::size_t i = 0; i < n && i < 100000; ++i) {
        GElf_Dyn dyn;
        if (!gelf_getdyn(d, static_cast<int>(i), &dyn) || dyn.d_tag == DT_NULL) break;
        if (dyn.d_tag == DT_NEEDED) {
            auto v = safe_str(elf, sh.sh_link, dyn.d_un.d_val);
            if (!v.empty()) ev.needed.push_back(v);
        } else if (dyn.d_tag == DT_SONAME) {
            ev.soname = safe_str(elf, sh.sh_link, dyn.d_un.d_val);
        }
    }
}

void collect_dlopen_strings(const char* buf, std::size_t size, ElfEvidence& ev) {
    static const char* kLibs[] = {"libibverbs.so", "librdmacm.so", "libmlx5.so", "libmlx4.so"};
    std::set<std::string> found;
    for (auto lib : kLibs) {
        const std::size_t len = std::strlen(lib);
        const char* p = buf;
        const char* end = buf + size;
        while (p < end && found.size() < 16) {
            const void* hit = memmem(p, static_cast<std::size_t>(end - p), lib, len);
            if (!hit) break;
            const char* h = static_cast<const char*>(hit);
            std::size_t k = 0;
            while (h + k < end && k < 64 && h[k] != '\0' && h[k] >= 0x20 && h[k] < 0x7f) ++k;
            found.insert(std::string(h, k));
            p = h + len;
        }
    }
    ev.dlopen_strings.assign(found.begin(), found.end());
}

std::optional<std::string> slurp(const std::string& path, std::uint64_t max_bytes, std::string& err) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        err = std::string("cannot open: ") + std::strerror(errno);
        return std::nullopt;
    }
    if (!S_ISREG(st.st_mode)) {
        err = S_ISDIR(st.st_mode) ? "is a directory, not an ELF file" : "not a regular file";
        return std::nullopt;
    }
    if (static_cast<std::uint64_t>(st.st_size) > max_bytes) {
        err = "file of " + std::to_string(st.st_size) + " bytes is larger than the " + std::to_string(max_bytes) +
              "-byte limit";
        return std::nullopt;
    }
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) {
        err = std::string("cannot open: ") + std::strerror(errno);
        return std::nullopt;
    }
    std::string buf;
    char chunk[65536];
    std::size_t got = 0;
    while ((got = std::fread(chunk, 1, sizeof chunk, f)) > 0) {
        buf.append(chunk, got);
        if (buf.size() > max_bytes) break;
    }
    const bool failed = std::ferror(f) != 0;
    std::fclose(f);
    if (failed) {
        err = "read error";
        return std::nullopt;
    }
    return buf;
}

// The whole reading of one image; `debug_roots` empty: no separate debug file lookup.
ElfEvidence read_image(std::string& buf, const std::string& path, const std::vector<std::string>& debug_roots) {
    init_libelf();
    ElfEvidence ev;
    ev.path = path;
    if (buf.size() < 4 || std::memcmp(buf.data(), ELFMAG, SELFMAG) != 0) {
        if (buf.empty()) ev.error = "empty file, not an ELF file";
        else if (buf.size() >= 2 && buf[0] == '#' && buf[1] == '!') ev.error = "a script (#!), not an ELF file";
        else if (buf.size() < 4 && std::memcmp(buf.data(), ELFMAG, buf.size()) == 0) ev.error = "truncated ELF file (" + std::to_string(buf.size()) + " bytes)";
        else ev.error = "not an ELF file (no \\x7fELF magic)";
        return ev;
    }
    Elf* elf = elf_memory(buf.data(), buf.size());
    if (!elf) {
        ev.error = "libelf cannot open the image: " + elf_err();
        return ev;
    }
    struct Closer {
        Elf* e;
        ~Closer() { elf_end(e); }
    } closer{elf};
    GElf_Ehdr eh;
    if (elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh)) {
        const int e = elf_errno();
        ev.error = e ? "truncated or corrupt ELF header: " + std::string(elf_errmsg(e))
                     : "truncated ELF file: " + std::to_string(buf.size()) + " bytes, shorter than an ELF header";
        return ev;
    }
    std::size_t phnum = 0;
    bool interp = false;
    if (elf_getphdrnum(elf, &phnum) == 0) {
        for (std::size_t i = 0; i < phnum && i < 4096; ++i) {
            GElf_Phdr ph;
            if (gelf_getphdr(elf, static_cast<int>(i), &ph) && ph.p_type == PT_INTERP) interp = true;
        }
    }
    switch (eh.e_type) {
        case ET_EXEC: ev.elf_kind = "executable"; break;
        case ET_DYN: ev.elf_kind = interp ? "executable" : "shared library"; break;
        case ET_REL: ev.elf_kind = "relocatable"; break;
        case ET_CORE: ev.elf_kind = "core"; break;
        default: ev.elf_kind = "other"; break;
    }
    std::size_t shstrndx = 0;
    if (elf_getshdrstrndx(elf, &shstrndx) != 0) {
        ev.error = "corrupt section header table: " + elf_err();
        return ev;
    }
    // A file cut short or with tables pointing outside it: refuse it whole rather than read a part
    // and call the rest absent (never "compatible" on evidence that was not there).
    const auto end_of = [](std::uint64_t off, std::uint64_t n, std::uint64_t ent) -> std::uint64_t {
        if (n != 0 && ent > (UINT64_MAX - off) / n) return UINT64_MAX;
        return off + n * ent;
    };
    std::size_t shnum = 0;
    if (elf_getshdrnum(elf, &shnum) != 0) {
        ev.error = "corrupt section header table: " + elf_err();
        return ev;
    }
    const std::uint64_t sh_end = end_of(eh.e_shoff, shnum, eh.e_shentsize);
    const std::uint64_t ph_end = end_of(eh.e_phoff, phnum, eh.e_phentsize);
    if (sh_end > buf.size() || ph_end > buf.size()) {
        ev.error = "truncated or corrupt ELF file: its " + std::string(sh_end > buf.size() ? "section" : "program") +
                   " header table ends at byte " + std::to_string(std::max(sh_end, ph_end) == UINT64_MAX ? 0 : std::max(sh_end, ph_end)) +
                   ", the file has " + std::to_string(buf.size()) + " bytes";
        if (std::max(sh_end, ph_end) == UINT64_MAX) ev.error = "corrupt ELF header: header table size overflows";
        return ev;
    }
    if (shnum == 0 && eh.e_shoff != 0) {
        ev.error = "truncated or corrupt ELF file: the section header table at byte " + std::to_string(eh.e_shoff) +
                   " cannot be read (" + std::to_string(buf.size()) + "-byte file)";
        return ev;
    }
    if (shnum == 0) {
        ev.error = "no section header table (stripped with sstrip, or corrupt): symbols and versions cannot be read";
        return ev;
    }
    Sections s;
    std::size_t nscn = 0;
    for (Elf_Scn* scn = elf_nextscn(elf, nullptr); scn && nscn < 65536; scn = elf_nextscn(elf, scn), ++nscn) {
        GElf_Shdr sh;
        if (!gelf_getshdr(scn, &sh)) {
            ev.error = "corrupt section header: " + elf_err();
            return ev;
        }
        if (sh.sh_type != SHT_NOBITS && end_of(sh.sh_offset, 1, sh.sh_size) > buf.size()) {
            ev.error = "truncated or corrupt ELF file: section " + std::to_string(elf_ndxscn(scn)) + " ends at byte " +
                       std::to_string(end_of(sh.sh_offset, 1, sh.sh_size)) + ", the file has " + std::to_string(buf.size()) + " bytes";
            return ev;
        }
        switch (sh.sh_type) {
            case SHT_DYNAMIC: s.dynamic = scn; break;
            case SHT_DYNSYM: s.dynsym = scn; break;
            case SHT_GNU_versym: s.versym = scn; break;
            case SHT_GNU_verneed: s.verneed = scn; break;
            case SHT_GNU_verdef: s.verdef = scn; break;
            case SHT_SYMTAB: s.symtab = scn; break;
            default: break;
        }
        const char* nm = elf_strptr(elf, shstrndx, sh.sh_name);
        if (nm && (std::strcmp(nm, ".debug_info") == 0 || std::strcmp(nm, ".zdebug_info") == 0) && sh.sh_type != SHT_NOBITS)
            s.debug_info = true;
    }
    if (nscn + 1 < shnum) {
        ev.error = "corrupt section header table: read " + std::to_string(nscn + 1) + " of " + std::to_string(shnum) + " sections";
        return ev;
    }
    collect_dynamic(elf, s, ev);
    collect_symbols(elf, s, ev);
    if (s.debug_info && collect_dwarf(elf, ev)) {
        ev.has_debug_info = true;
        ev.debug_source = "embedded";
    }
    if (!ev.has_debug_info && !debug_roots.empty()) {
        const void* id = nullptr;
        const ssize_t len = dwelf_elf_gnu_build_id(elf, &id);
        if (len > 1 && len <= 64 && id) {
            static const char* hex = "0123456789abcdef";
            std::string h;
            for (ssize_t i = 0; i < len; ++i) {
                const auto b = static_cast<const unsigned char*>(id)[i];
                h += hex[b >> 4];
                h += hex[b & 15];
            }
            for (const auto& root : debug_roots) {
                const std::string dbg = root + "/.build-id/" + h.substr(0, 2) + "/" + h.substr(2) + ".debug";
                std::string err;
                auto dbuf = slurp(dbg, 1ull << 31, err);
                if (!dbuf || dbuf->size() < 4 || std::memcmp(dbuf->data(), ELFMAG, SELFMAG) != 0) continue;
                Elf* de = elf_memory(dbuf->data(), dbuf->size());
                if (!de) continue;
                if (collect_dwarf(de, ev)) {
                    ev.has_debug_info = true;
                    ev.debug_source = dbg;
                }
                elf_end(de);
                if (ev.has_debug_info) break;
            }
        }
    }
    collect_dlopen_strings(buf.data(), buf.size(), ev);
    return ev;
}

}  // namespace

bool watched_type(const std::string& n) {
    if (n.find("_exp_") != std::string::npos || starts_with(n, "ibv_exp") || starts_with(n, "mlx5_exp")) return true;
    for (auto p : kVerbsPrefixes)
        if (starts_with(n, p)) return true;
    return false;
}

ElfEvidence read_elf_memory(const void* data, std::size_t size, const std::string& path) {
    std::string buf(static_cast<const char*>(data), size);
    return read_image(buf, path, {});
}

ElfEvidence read_elf_file(const std::string& path, const std::vector<std::string>& debug_roots, std::uint64_t max_bytes) {
    std::string err;
    auto buf = slurp(path, max_bytes, err);
    if (!buf) {
        ElfEvidence ev;
        ev.path = path;
        ev.error = err;
        return ev;
    }
    return read_image(*buf, path, debug_roots);
}

nlohmann::json to_json(const ElfEvidence& e) {
    nlohmann::json j;
    j["path"] = e.path;
    if (!e.error.empty()) j["error"] = e.error;
    j["elf_kind"] = e.elf_kind;
    j["soname"] = e.soname;
    j["needed"] = e.needed;
    auto& im = j["imports"] = nlohmann::json::array();
    for (const auto& i : e.imports)
        im.push_back({{"name", i.name}, {"version", i.version}, {"library", i.library}, {"weak", i.weak}});
    auto& ex = j["exports"] = nlohmann::json::array();
    for (const auto& x : e.exports) ex.push_back({{"name", x.name}, {"version", x.version}, {"default", x.default_version}});
    j["defined_verbs"] = e.defined_verbs;
    j["has_symtab"] = e.has_symtab;
    j["debug_info"] = e.has_debug_info;
    j["debug_source"] = e.debug_source;
    auto& st = j["structs"] = nlohmann::json::object();
    for (const auto& [n, sizes] : e.structs) st[n] = std::vector<std::uint64_t>(sizes.begin(), sizes.end());
    j["inline_verbs"] = std::vector<std::string>(e.inline_verbs.begin(), e.inline_verbs.end());
    j["dlopen_strings"] = e.dlopen_strings;
    j["warnings"] = e.warnings;
    return j;
}

}  // namespace rdma_agent::abi
