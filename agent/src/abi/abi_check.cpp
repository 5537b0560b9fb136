// The abi_scan check: one entity per binary matched by abi_scan.paths; pass = compatible,
// warn = unknown, fail = incompatible (docs/agent-json-schema.md).
#include "rdma_agent/abi_check.hpp"

#include <glob.h>

#include "rdma_agent/abi.hpp"

namespace rdma_agent {

namespace {

// File names are bytes; reports are JSON (UTF-8): invalid sequences become U+FFFD.
nlohmann::json valid_utf8(const nlohmann::json& j) {
    return nlohmann::json::parse(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

std::string valid_utf8(const std::string& s) { return valid_utf8(nlohmann::json(s)).get<std::string>(); }

class AbiScanCheck final : public Check {
public:
    std::string_view name() const override { return kAbiScanCheckName; }

    CheckResult run(const Context& ctx) override {
        CheckResult r;
        r.name = std::string(kAbiScanCheckName);
        const auto& cfg = ctx.config.abi_scan;
        if (cfg.paths.empty()) {
            r.status = Status::skip;
            r.message = "no abi_scan.paths configured";
            return r;
        }
        abi::Manifest m;
        try {
            m = cfg.manifest == "installed" ? abi::installed_manifest("/") : abi::load_manifest(cfg.manifest);
        } catch (const abi::ManifestError& e) {
            r.status = Status::fail;
            r.message = std::string("manifest: ") + e.what();
            return r;
        }
        std::size_t n[3] = {0, 0, 0};
        for (const auto& pattern : cfg.paths) {
            glob_t g{};
            const int rc = ::glob(pattern.c_str(), GLOB_NOSORT | GLOB_BRACE, nullptr, &g);
            std::vector<std::string> files;
            if (rc == 0)
                for (std::size_t i = 0; i < g.gl_pathc; ++i) files.emplace_back(g.gl_pathv[i]);
            globfree(&g);
            std::sort(files.begin(), files.end());
            if (files.empty()) {
                r.entities.push_back(Entity{valid_utf8(pattern), Status::warn, valid_utf8("no file matches " + pattern),
                                            nlohmann::json::object()});
                continue;
            }
            for (const auto& f : files) {
                const auto ev = abi::read_elf_file(f);
                const auto s = abi::scan(ev, m);
                Entity e;
                e.name = f;
                e.status = s.verdict == abi::Verdict::compatible   ? Status::pass
                           : s.verdict == abi::Verdict::unknown    ? Status::warn
                                                                    : Status::fail;
                ++n[static_cast<int>(s.verdict)];
                std::string first = s.verdict == abi::Verdict::incompatible ? s.findings.front().message : "";
                if (first.rfind(f + ": ", 0) == 0) first = first.substr(f.size() + 2);  // the entity names the file
                e.message = s.verdict == abi::Verdict::incompatible ? first
                            : s.verdict == abi::Verdict::unknown     ? "unknown: missing " + s.missing.front()
                                                                     : s.summary;
                auto j = abi::to_json(s, false, nullptr);
                e.details = {{"verdict", j["verdict"]},
                             {"findings", j["findings"]},
                             {"missing_evidence", j["missing_evidence"]},
                             {"rdma_imports", s.rdma_imports},
                             {"structs_compared", s.structs_compared},
                             {"incompatible", s.verdict == abi::Verdict::incompatible ? 1 : 0}};
                e.name = valid_utf8(e.name);
                e.message = valid_utf8(e.message);
                e.details = valid_utf8(e.details);
                r.entities.push_back(std::move(e));
            }
        }
        r.status = worst_of(r.entities);
        r.message = std::to_string(n[0]) + " compatible, " + std::to_string(n[2]) + " incompatible, " + std::to_string(n[1]) +
                    " unknown against " + m.name + (m.description.empty() ? "" : " (" + m.description + ")");
        return r;
    }
};

}  // namespace

std::unique_ptr<Check> make_abi_scan_check() { return std::make_unique<AbiScanCheck>(); }

}  // namespace rdma_agent
