// Unit tests of the verdict logic (scan) and the manifest format, on evidence built by hand.
// The reader itself is tested on real binaries (abi_test.py) and fuzzed (fuzz_elf).
#include <catch2/catch.hpp>

#include "rdma_agent/abi.hpp"

using namespace rdma_agent::abi;

namespace {

Manifest rdma_core_manifest() {
    nlohmann::json j = {
        {"format", "rdma-agent-abi-manifest/1"},
        {"name", "stack-a"},
        {"libraries",
         {{"libibverbs.so.1",
           {{"IBVERBS_1.0", {"ibv_open_device"}},
            {"IBVERBS_1.1", {"ibv_open_device", "ibv_get_device_list"}},
            {"IBVERBS_1.8", {"ibv_reg_mr_iova2"}},
            {"IBVERBS_PRIVATE_33", {"ibv_query_gid_type"}}}},
          {"libmlx5.so.1", {{"MLX5_1.0", {"mlx5dv_query_device"}}}}}},
        {"structs", {{"ibv_context", 328}, {"verbs_context", 648}, {"ibv_qp_init_attr_ex", 136}}}};
    return parse_manifest(j, "test");
}

ElfEvidence verbs_binary() {
    ElfEvidence e;
    e.path = "/opt/app";
    e.elf_kind = "executable";
    e.needed = {"libc.so.6", "libibverbs.so.1"};
    e.imports = {{"ibv_get_device_list", "IBVERBS_1.1", "libibverbs.so.1", false},
                 {"ibv_open_device", "IBVERBS_1.1", "libibverbs.so.1", false},
                 {"printf", "GLIBC_2.2.5", "libc.so.6", false}};
    e.has_symtab = true;
    return e;
}

bool has_finding(const ScanResult& r, const std::string& kind, const std::string& item) {
    for (const auto& f : r.findings)
        if (f.kind == kind && f.item == item) return true;
    return false;
}

}  // namespace

TEST_CASE("the manifest's family is read from its libraries") {
    CHECK(rdma_core_manifest().family == "rdma-core");
    nlohmann::json legacy = {{"format", "rdma-agent-abi-manifest/1"}, {"name", "legacy"},
                             {"libraries", {{"libibverbs.so.1", {{"IBVERBS_1.1", {"ibv_open_device"}}}}}}};
    CHECK(parse_manifest(legacy, "t").family == "other");
    legacy["family"] = "rdma-core";
    CHECK_THROWS_WITH(parse_manifest(legacy, "t"), Catch::Contains("\"family\" says rdma-core but the libraries say other"));
}

TEST_CASE("manifest errors name the file and the field") {
    CHECK_THROWS_WITH(parse_manifest(nlohmann::json::array(), "m.json"), Catch::StartsWith("m.json: "));
    nlohmann::json j = {{"format", "rdma-agent-abi-manifest/1"}, {"name", "x"}, {"libraries", {{"libibverbs.so.1", {{"IBVERBS_1.1", "ibv_open_device"}}}}}};
    CHECK_THROWS_WITH(parse_manifest(j, "m.json"), Catch::Contains("libraries.libibverbs.so.1.IBVERBS_1.1 must be a list"));
    j = {{"format", "rdma-agent-abi-manifest/1"}, {"name", "x"}, {"libraries", nlohmann::json::object()}, {"structs", {{"ibv_context", -1}}}};
    CHECK_THROWS_WITH(parse_manifest(j, "m.json"), Catch::Contains("structs.ibv_context must be a non-negative integer"));
    CHECK_THROWS_WITH(load_manifest("/nonexistent/m.json"), Catch::Contains("cannot open manifest"));
}

TEST_CASE("a manifest survives to_json and back") {
    const auto m = rdma_core_manifest();
    const auto back = parse_manifest(to_json(m), "again");
    CHECK(back.libraries == m.libraries);
    CHECK(back.structs == m.structs);
}

TEST_CASE("old IBVERBS_1.1 imports without DWARF or fingerprint: unknown, never compatible") {
    const auto r = scan(verbs_binary(), rdma_core_manifest());
    CHECK(r.verdict == Verdict::unknown);
    REQUIRE(r.missing.size() == 1);
    CHECK_THAT(r.missing[0], Catch::Contains("DWARF type information"));
}

TEST_CASE("an rdma-core-only node is a header fingerprint, a missing one a finding") {
    auto e = verbs_binary();
    e.imports.push_back({"ibv_reg_mr_iova2", "IBVERBS_1.8", "libibverbs.so.1", false});
    CHECK(scan(e, rdma_core_manifest()).verdict == Verdict::compatible);
    e.imports.push_back({"ibv_reg_dmabuf_mr", "IBVERBS_1.12", "libibverbs.so.1", false});
    const auto r = scan(e, rdma_core_manifest());
    CHECK(r.verdict == Verdict::incompatible);
    CHECK(has_finding(r, "symbol", "ibv_reg_dmabuf_mr@IBVERBS_1.12"));
    CHECK_THAT(r.findings[0].message, Catch::Contains("/opt/app") && Catch::Contains("stack-a") &&
                                          Catch::Contains("lacks the symbol and the version node IBVERBS_1.12"));
}

TEST_CASE("private nodes, versions, weak imports and sonames") {
    auto e = verbs_binary();
    e.imports.push_back({"ibv_query_gid_type", "IBVERBS_PRIVATE_34", "libibverbs.so.1", false});
    auto r = scan(e, rdma_core_manifest());
    CHECK(has_finding(r, "private_abi", "ibv_query_gid_type@IBVERBS_PRIVATE_34"));
    CHECK_THAT(r.findings[0].message, Catch::Contains("only as IBVERBS_PRIVATE_33"));

    e = verbs_binary();
    e.imports.push_back({"ibv_reg_mr_iova2", "IBVERBS_1.8", "libibverbs.so.1", false});
    e.imports.push_back({"ibv_open_device_ex", "IBVERBS_1.1", "libibverbs.so.1", true});  // weak, node exists
    r = scan(e, rdma_core_manifest());
    CHECK(r.verdict == Verdict::compatible);

    e.needed.push_back("libmlx4.so.1");
    e.imports.push_back({"mlx4dv_query_device", "MLX4_1.0", "libmlx4.so.1", false});
    r = scan(e, rdma_core_manifest());
    CHECK(has_finding(r, "soname", "libmlx4.so.1"));
    CHECK(r.findings.size() == 1);  // the import from the missing library is not reported twice
}

TEST_CASE("DWARF: frozen structs compared, extensible ones noted, experimental types found") {
    auto e = verbs_binary();
    e.has_debug_info = true;
    e.debug_source = "embedded";
    e.structs = {{"ibv_context", {328}}, {"verbs_context", {648}}, {"ibv_qp_init_attr_ex", {144}}};
    auto r = scan(e, rdma_core_manifest());
    CHECK(r.verdict == Verdict::compatible);
    CHECK(r.structs_compared == 3);
    CHECK(r.notes.size() == 1);  // ibv_qp_init_attr_ex larger: extensible, a note

    e.structs["ibv_context"] = {336};
    e.structs["ibv_exp_device_attr"] = {88};
    r = scan(e, rdma_core_manifest());
    CHECK(r.verdict == Verdict::incompatible);
    CHECK(has_finding(r, "type_size", "ibv_context"));
    CHECK(has_finding(r, "type", "ibv_exp_device_attr"));
}

TEST_CASE("files that are not verbs programs") {
    ElfEvidence e;
    e.path = "/bin/true";
    e.elf_kind = "executable";
    e.needed = {"libc.so.6"};
    e.imports = {{"exit", "GLIBC_2.2.5", "libc.so.6", false}};
    CHECK(scan(e, rdma_core_manifest()).verdict == Verdict::compatible);
    e.dlopen_strings = {"libibverbs.so.1"};
    CHECK(scan(e, rdma_core_manifest()).verdict == Verdict::unknown);
    ElfEvidence bad;
    bad.path = "/x";
    bad.error = "truncated";
    CHECK(scan(bad, rdma_core_manifest()).verdict == Verdict::unknown);
    ElfEvidence stat;
    stat.path = "/static";
    stat.elf_kind = "executable";
    CHECK(scan(stat, rdma_core_manifest()).verdict == Verdict::unknown);  // stripped static: could hide verbs
}

TEST_CASE("the exit code is the worst verdict") {
    std::vector<ScanResult> v(2);
    v[0].verdict = Verdict::compatible;
    v[1].verdict = Verdict::unknown;
    CHECK(exit_code_for(v) == 1);
    v[0].verdict = Verdict::incompatible;
    CHECK(exit_code_for(v) == 2);
    CHECK(exit_code_for({}) == 0);
}
