// rdma-agent: the per-node RDMA verifier. Exit codes follow Nagios/NHC: 0 ok, 1 warning,
// 2 critical, 3 unknown (usage, config or internal error).
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <thread>

#include <glob.h>

// GCC 12 -Wnull-dereference false positive in CLI::detail::split (CLI11 2.3), used by list options.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <CLI/CLI.hpp>
#pragma GCC diagnostic pop

#include "rdma_agent/abi.hpp"
#include "rdma_agent/abi_check.hpp"
#include "rdma_agent/config_parser.hpp"
#include "rdma_agent/report.hpp"
#include "rdma_agent/rooted_filesystem.hpp"
#include "rdma_agent/system_checks.hpp"
#include "peer.hpp"
#include "registry.hpp"
#include "verbs_checks.hpp"

#ifndef RDMA_AGENT_MANIFEST_DIR
#define RDMA_AGENT_MANIFEST_DIR "/usr/share/rdma-agent/manifests"
#endif
#ifndef RDMA_AGENT_VERSION
#define RDMA_AGENT_VERSION "0.0.0"
#endif

namespace {

using namespace rdma_agent;
constexpr int kUnknown = 3;

struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct RootOptions {
    std::string root, sysfs, procfs, etc, lib, usr, dev, run;

    void add_to(CLI::App* cmd) {
        cmd->add_option("--root", root, "Node image root: sets every root below to DIR/sys, DIR/proc, ...");
        cmd->add_option("--sysfs-root", sysfs, "Where /sys is (default /sys)");
        cmd->add_option("--procfs-root", procfs, "Where /proc is (default /proc)");
        cmd->add_option("--etc-root", etc, "Where /etc is (default /etc; also holds rdma-agent/agent.yaml)");
        cmd->add_option("--lib-root", lib, "Where /lib is (default /lib: modules.dep, modprobe.d)");
        cmd->add_option("--usr-root", usr, "Where /usr is (default /usr: libibverbs, providers, ofed_info)");
        cmd->add_option("--dev-root", dev, "Where /dev is (default /dev: /dev/infiniband/uverbsN)");
        cmd->add_option("--run-root", run, "Where /run is (default /run: /run/modprobe.d)");
    }

    Roots resolve() const {
        Roots r = root.empty() ? Roots{} : roots_under(root);
        auto set = [](std::string& field, const std::string& value, const char* opt) {
            if (value.empty()) return;
            field = value;
            (void)opt;
        };
        set(r.sysfs, sysfs, "--sysfs-root");
        set(r.procfs, procfs, "--procfs-root");
        set(r.etc, etc, "--etc-root");
        set(r.lib, lib, "--lib-root");
        set(r.usr, usr, "--usr-root");
        set(r.dev, dev, "--dev-root");
        set(r.run, run, "--run-root");
        // Bad input is refused before anything runs: an explicit root must be a directory.
        std::error_code ec;
        if (!root.empty() && !std::filesystem::is_directory(root, ec))
            throw UsageError("--root " + root + ": not a directory");
        const std::pair<const std::string*, const char*> given[] = {
            {&sysfs, "--sysfs-root"}, {&procfs, "--procfs-root"}, {&etc, "--etc-root"}, {&lib, "--lib-root"},
            {&usr, "--usr-root"},     {&dev, "--dev-root"},       {&run, "--run-root"}};
        for (const auto& [v, opt] : given)
            if (!v->empty() && !std::filesystem::is_directory(*v, ec))
                throw UsageError(std::string(opt) + " " + *v + ": not a directory");
        return r;
    }
};

std::vector<std::string> split_commas(const std::string& s) {
    std::vector<std::string> out;
    std::stringstream ss(s);
    std::string item;
    while (std::getline(ss, item, ','))
        if (!item.empty()) out.push_back(item);
    return out;
}

// An output file's directory must exist: checked before anything runs, so bad input is refused
// with the option named. Returns that directory.
std::filesystem::path require_parent_dir(const std::string& opt, const std::string& path) {
    const std::filesystem::path target(path);
    auto dir = target.has_parent_path() ? target.parent_path() : std::filesystem::path(".");
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec))
        throw UsageError(opt + " " + path + ": directory " + dir.string() + " does not exist");
    return dir;
}

// tmp + rename in the target's directory, so node_exporter never reads half a file.
void write_atomically(const std::string& path, const std::string& content) {
    namespace fs = std::filesystem;
    const fs::path target(path);
    const fs::path dir = require_parent_dir("--output", path);
    std::error_code ec;
    const fs::path tmp = dir / ("." + target.filename().string() + ".tmp." + std::to_string(::getpid()));
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out) throw std::runtime_error("cannot write " + tmp.string() + ": " + std::strerror(errno));
        out << content;
        out.flush();
        if (!out) {
            fs::remove(tmp, ec);
            throw std::runtime_error("write error on " + tmp.string());
        }
    }
    fs::rename(tmp, target, ec);
    if (ec) {
        fs::remove(tmp, ec);
        throw std::runtime_error("cannot rename into " + path + ": " + ec.message());
    }
}

Config load_config(const std::string& explicit_path, const Roots& roots) {
    if (!explicit_path.empty()) return load_config_file(explicit_path);
    const std::string def = roots.etc + "/rdma-agent/agent.yaml";
    std::error_code ec;
    if (!std::filesystem::exists(def, ec)) {
        Config c;
        c.source = "(built-in defaults: " + def + " absent)";
        return c;
    }
    return load_config_file(def);
}

// --peer HOST[:PORT] (repeatable) and its settings; parsed before anything runs.
struct PeerArgs {
    std::vector<std::string> peers;
    PeerCheckOptions opt;
    std::string device;
    int port = 0;
    int gid_index = -1;

    PeerCheckOptions resolve() const {
        PeerCheckOptions o = opt;
        o.local.device = device;
        o.local.port = port;
        if (gid_index >= 0) o.local.gid_index = gid_index;
        for (const auto& p : peers) {
            auto ep = peer::parse_endpoint(p);
            if (!ep.value) throw UsageError("--peer " + p + ": " + ep.error);
            o.peers.push_back(*ep.value);
        }
        return o;
    }
};

// --interval: SIGTERM/SIGINT end the loop after the running cycle (a service's stop).
volatile std::sig_atomic_t g_stop_interval = 0;
extern "C" void on_stop_signal(int) { g_stop_interval = 1; }

int cmd_check(const std::string& config_path, const std::string& format, const std::string& only,
              const RootOptions& ro, const std::string& output, const PeerArgs& peer_args, double interval_s,
              long count) {
    if (count > 0 && interval_s <= 0) throw UsageError("--count needs --interval SECONDS");
    const Roots roots = ro.resolve();
    const Config config = load_config(config_path, roots);

    std::set<std::string> selected;
    for (const auto& n : split_commas(only)) {
        bool known = false;
        for (auto k : kCheckNames) known |= (k == n);
        known |= (n == kAbiScanCheckName);
        if (n == "peer" && peer_args.peers.empty()) throw UsageError("--only peer: needs --peer HOST[:PORT]");
        known |= (n == "peer");
        if (!known) {
            std::string list;
            for (auto k : kCheckNames) list += (list.empty() ? "" : ",") + std::string(k);
            list += "," + std::string(kAbiScanCheckName) + ",peer";
            throw UsageError("--only: unknown check '" + n + "' (known: " + list + ")");
        }
        selected.insert(n);
    }
    if (format != "text" && format != "json" && format != "nagios" && format != "prometheus")
        throw UsageError("--format " + format + ": expected text, json, nagios or prometheus");
    const PeerCheckOptions peer_opt = peer_args.resolve();

    if (!output.empty()) require_parent_dir("--output", output);

    RootedFileSystem fs(roots);
    // DMFS can only be asked of a live device: on injected sysfs roots (fixtures) it is unknown.
    // (the verbs layer's managed_flow_steering(), ibv_query_device_ex on the live device).
    FlowSteeringProbe probe = [](const std::string&) { return std::optional<bool>(); };
    if (roots.sysfs == "/sys") {
        probe = [api = std::shared_ptr<VerbsApi>()](const std::string& ibdev) mutable -> std::optional<bool> {
            if (!api) api = make_real_verbs_api();
            return managed_flow_steering(*api, ibdev);
        };
    }

    // Live node: the ports' GID tables through verbs, one call per device instead of one sysfs
    // file per table slot (docs/BENCHMARKS.md); fixture roots read sysfs only.
    std::shared_ptr<sysfs::GidSource> gids;
    if (roots.sysfs == "/sys") gids = make_verbs_gid_source();
    Context ctx{config, fs, gids.get()};
    // One cycle: every selected check, the report written; its exit code.
    const auto run_once = [&]() -> int {
        Report report;
        report.agent_version = RDMA_AGENT_VERSION;
        report.config_source = config.source;
        for (auto& entry : check_registry(probe)) {
            if (!selected.empty() && !selected.count(entry.name)) continue;
            if (!entry.enabled(config)) {
                report.checks.push_back(CheckResult{entry.name, Status::skip, "disabled in config " + config.source, {}, 0.0});
                continue;
            }
            auto check = entry.make();
            report.checks.push_back(run_check(*check, ctx));
        }
        // Optional checks (abi_scan): absent from the report unless configured or named in --only.
        for (auto& entry : optional_check_registry()) {
            const bool asked = selected.count(entry.name) > 0;
            if (!entry.enabled(config)) {
                if (asked)
                    report.checks.push_back(CheckResult{entry.name, Status::skip, "not configured in " + config.source, {}, 0.0});
                continue;
            }
            if (!selected.empty() && !asked) continue;
            auto check = entry.make();
            report.checks.push_back(run_check(*check, ctx));
        }
        // Cross-node RC traffic (rdma-agent serve on the other side): only with --peer.
        if (!peer_opt.peers.empty() && (selected.empty() || selected.count("peer"))) {
            auto check = make_peer_check(make_real_verbs_api(), peer_opt);
            report.checks.push_back(run_check(*check, ctx));
        }
        const std::string text = render(report, format);
        if (output.empty()) std::cout << text << std::flush;
        else write_atomically(output, text);
        return static_cast<int>(exit_code_for(overall_status(report.checks)));
    };
    if (interval_s <= 0) return run_once();

    // --interval: one long-running process (the soak benchmark watches its RSS and descriptors);
    // a cycle starts every interval_s (at once if the last one took longer), --count cycles or until
    // SIGTERM/SIGINT; the exit code is the last cycle's.
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
    const auto period = std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(interval_s));
    int rc = kUnknown;
    auto next = std::chrono::steady_clock::now();
    for (long n = 0; !g_stop_interval;) {
        rc = run_once();
        if (count > 0 && ++n >= count) break;
        next += period;
        if (const auto now = std::chrono::steady_clock::now(); next < now) next = now;
        while (!g_stop_interval && std::chrono::steady_clock::now() < next)
            std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(next - std::chrono::steady_clock::now(),
                                                                                       std::chrono::milliseconds(100)));
    }
    return rc;
}

int cmd_serve(const ServeOptions& opt, const std::string& config_path, const RootOptions& ro) {
    const Roots roots = ro.resolve();
    const Config config = load_config(config_path, roots);
    RootedFileSystem fs(roots);
    std::shared_ptr<sysfs::GidSource> gids;
    if (roots.sysfs == "/sys") gids = make_verbs_gid_source();
    Context ctx{config, fs, gids.get()};
    return serve(make_real_verbs_api(), opt, ctx);
}

// rdma-agent mcast recv|send: one side of a multicast fan-out (playbooks/multicast-fanout.yml).
int cmd_mcast(bool receiver, const FanoutRequest& req, const std::string& config_path, const RootOptions& ro) {
    const Roots roots = ro.resolve();
    const Config config = load_config(config_path, roots);
    RootedFileSystem fs(roots);
    Context ctx{config, fs, nullptr};
    auto api = make_real_verbs_api();
    nlohmann::json out;
    try {
        out = receiver ? mcast_receive(*api, ctx, req) : mcast_send(*api, ctx, req);
    } catch (const std::invalid_argument& e) {
        throw UsageError(e.what());
    } catch (const std::exception& e) {
        out = {{"role", receiver ? "receiver" : "sender"}, {"group", req.group}, {"error", e.what()}};
        std::cout << out.dump() << "\n";
        return 2;
    }
    std::cout << out.dump() << "\n";
    if (receiver) return out["lost"].get<uint32_t>() == 0 && out["corrupted"].get<uint32_t>() == 0 ? 0 : 2;
    return 0;
}

int cmd_facts(const RootOptions& ro, const std::string& output) {
    RootedFileSystem fs(ro.resolve());
    const std::string text = collect_facts(fs).dump(2) + "\n";
    if (output.empty()) std::cout << text << std::flush;
    else write_atomically(output, text);
    return 0;
}

int cmd_latency(LatencyRequest req, const std::string& format, const std::string& samples_path) {
    if (format != "text" && format != "json") throw UsageError("--format " + format + ": expected text or json");
    if (!samples_path.empty()) {
        require_parent_dir("--samples", samples_path);
        req.keep_samples = true;
    }
    auto api = make_real_verbs_api();
    std::cerr << "rdma-agent: latency: RC loopback ping-pong on " << (req.device.empty() ? "the first device" : req.device)
              << ", " << req.iters << " iterations of " << req.size << " bytes..." << std::endl;
    LatencyStats s;
    try {
        s = measure_latency(*api, req);
    } catch (const std::exception& e) {
        std::cerr << "rdma-agent: latency: " << e.what() << "\n";
        return 2;
    }
    if (!samples_path.empty()) {
        // One sample per line (usec, half round trip, in measuring order): what a plot reads.
        std::string text;
        text.reserve(s.samples_us.size() * 10);
        char buf[32];
        for (const double v : s.samples_us) {
            std::snprintf(buf, sizeof buf, "%.3f\n", v);
            text += buf;
        }
        write_atomically(samples_path, text);
    }
    if (format == "json") {
        nlohmann::json j = {{"schema_version", kSchemaVersion}, {"device", s.device}, {"port", s.port},
                            {"gid_index", s.gid_index}, {"size", s.size},     {"iters", s.iters},
                            {"min_us", s.min_us},         {"median_us", s.median_us}, {"average_us", s.average_us},
                            {"p99_us", s.p99_us},         {"p999_us", s.p999_us},     {"max_us", s.max_us}};
        std::cout << j.dump(2) << "\n";
    } else {
        std::printf("device %s port %d gid %d size %d iters %d\n", s.device.c_str(), s.port, s.gid_index, s.size, s.iters);
        std::printf("%-10s %-10s %-10s %-10s %-10s %-10s (usec, half round trip)\n", "t_min", "t_typical", "t_avg", "t_99%",
                    "t_99.9%", "t_max");
        std::printf("%-10.2f %-10.2f %-10.2f %-10.2f %-10.2f %-10.2f\n", s.min_us, s.median_us, s.average_us, s.p99_us,
                    s.p999_us, s.max_us);
    }
    return 0;
}

// abi-scan: verdicts of binaries against a stack manifest (issue 8, docs/abi-manifests.md).
struct AbiScanOptions {
    std::string manifest, stack, format = "text";
    bool evidence = false;
    bool missing_ok = false;
    std::vector<std::string> debug_roots;
    std::vector<std::string> paths;
};

// Paths and globs -> files. What matches nothing is a usage error, or with `unmatched` given
// (abi-scan --missing-ok) is listed there instead.
std::vector<std::string> expand_paths(const std::vector<std::string>& args, std::vector<std::string>* unmatched = nullptr) {
    std::vector<std::string> out;
    for (const auto& a : args) {
        if (a.find_first_of("*?[") == std::string::npos) {
            std::error_code ec;
            if (std::filesystem::exists(a, ec)) out.push_back(a);
            else if (unmatched) unmatched->push_back(a);
            else throw UsageError(a + ": no such file");
            continue;
        }
        glob_t g{};
        const int rc = ::glob(a.c_str(), 0, nullptr, &g);
        if (rc == 0)
            for (std::size_t i = 0; i < g.gl_pathc; ++i) out.emplace_back(g.gl_pathv[i]);
        globfree(&g);
        if (rc != 0) {
            if (unmatched) unmatched->push_back(a);
            else throw UsageError(a + ": no file matches this glob");
        }
    }
    return out;
}

abi::Manifest pick_manifest(const AbiScanOptions& o) {
    if (!o.manifest.empty() && !o.stack.empty()) throw UsageError("--manifest and --stack are exclusive");
    if (!o.manifest.empty()) return abi::load_manifest(o.manifest);
    const std::string stack = o.stack.empty() ? "installed" : o.stack;
    if (stack == "installed") return abi::installed_manifest("/");
    if (stack.find('/') != std::string::npos || stack.empty()) throw UsageError("--stack " + stack + ": expected 'installed' or a manifest name");
    // $RDMA_AGENT_MANIFEST_DIR, else beside the binary (<prefix>/bin -> <prefix>/share/rdma-agent/manifests:
    // the .deb installs under /usr), else the configured install prefix.
    std::vector<std::string> dirs;
    const char* env = std::getenv("RDMA_AGENT_MANIFEST_DIR");
    if (env && *env) dirs.emplace_back(env);
    else {
        std::error_code ec;
        const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
        if (!ec) {
            dirs.push_back((exe.parent_path().parent_path() / "share/rdma-agent/manifests").string());
            dirs.push_back((exe.parent_path().parent_path() / "manifests").string());  // build/rdma-agent in the tree
        }
        dirs.emplace_back(RDMA_AGENT_MANIFEST_DIR);
    }
    std::string looked;
    for (const auto& d : dirs) {
        const std::string path = d + "/" + stack + ".json";
        std::error_code ec;
        if (std::filesystem::exists(path, ec)) return abi::load_manifest(path);
        looked += (looked.empty() ? "" : ", ") + path;
    }
    throw UsageError("--stack " + stack + ": no manifest (looked for " + looked + "); use 'installed', a name there without .json, or --manifest FILE");
}

int cmd_abi_scan(const AbiScanOptions& o) {
    if (o.format != "text" && o.format != "json") throw UsageError("--format " + o.format + ": expected text or json");
    std::vector<std::string> unmatched;
    const auto paths = expand_paths(o.paths, o.missing_ok ? &unmatched : nullptr);
    std::vector<std::string> roots = o.debug_roots.empty() ? std::vector<std::string>{"/usr/lib/debug"} : o.debug_roots;
    if (o.evidence) {  // raw evidence, no verdict (tools/abi-manifest, debugging)
        nlohmann::json arr = nlohmann::json::array();
        for (const auto& p : paths) arr.push_back(abi::to_json(abi::read_elf_file(p, roots)));
        std::cout << arr.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
        return 0;
    }
    const abi::Manifest m = pick_manifest(o);
    if (paths.size() > 20) std::cerr << "rdma-agent: abi-scan: reading " << paths.size() << " files..." << std::endl;
    std::vector<abi::ScanResult> results;
    std::vector<abi::ElfEvidence> evs;
    for (const auto& p : paths) {
        evs.push_back(abi::read_elf_file(p, roots));
        results.push_back(abi::scan(evs.back(), m));
    }
    const int rc = abi::exit_code_for(results);
    if (o.format == "json") {
        nlohmann::json j;
        j["schema_version"] = kSchemaVersion;
        j["manifest"] = {{"name", m.name}, {"description", m.description}, {"source", m.source}, {"family", m.family},
                         {"struct_layouts", m.structs.size()}};
        j["results"] = nlohmann::json::array();
        for (std::size_t i = 0; i < results.size(); ++i) j["results"].push_back(abi::to_json(results[i], false, &evs[i]));
        j["unmatched"] = unmatched;
        j["verdict"] = rc == 2 ? "incompatible" : rc == 1 ? "unknown" : "compatible";
        j["exit_code"] = rc;
        std::cout << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    } else {
        std::cout << "stack: " << m.name << (m.description.empty() ? "" : " (" + m.description + ")") << " from " << m.source << "\n";
        for (const auto& r : results) {
            std::cout << abi::to_string(r.verdict) << "  " << r.path << "\n";
            for (const auto& f : r.findings) std::cout << "    finding: " << f.message << "\n";
            for (const auto& x : r.missing) std::cout << "    missing: " << x << "\n";
            for (const auto& x : r.notes) std::cout << "    note: " << x << "\n";
        }
        for (const auto& u : unmatched) std::cout << "no file: " << u << " (--missing-ok)\n";
    }
    return rc;
}

// abi-manifest: a manifest from shared libraries and -g type objects (tools/abi-manifest).
int cmd_abi_manifest(const std::string& name, const std::string& description, const std::vector<std::string>& types,
                     const std::vector<std::string>& libs) {
    std::vector<abi::ElfEvidence> lev, tev;
    for (const auto& l : expand_paths(libs)) lev.push_back(abi::read_elf_file(l, {}));
    for (const auto& t : expand_paths(types)) tev.push_back(abi::read_elf_file(t, {}));
    const auto m = abi::manifest_from(name, description, lev, tev);
    std::cout << abi::to_json(m).dump(1) << "\n";
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"rdma-agent: verifies a node's RDMA stack by driving real verbs (exit 0 ok, 1 warning, 2 critical, 3 unknown)",
                 "rdma-agent"};
    app.set_version_flag("--version", std::string("rdma-agent ") + RDMA_AGENT_VERSION);
    app.require_subcommand(1);

    std::string config_path, format = "text", only, output;
    double interval_s = 0;
    long count = 0;
    RootOptions check_roots, facts_roots;
    auto* check = app.add_subcommand("check", "Run the checks and report (text, json, nagios, prometheus)");
    check->add_option("--config", config_path, "Config file (default <etc-root>/rdma-agent/agent.yaml; absent: built-in defaults)");
    check->add_option("--format", format, "Output format: text, json, nagios, prometheus")->capture_default_str();
    check->add_option("--only", only, "Comma-separated checks to run: stack,devices,verbs,multicast,flow_steering,mlx4_steering,latency");
    check->add_option("--output", output, "Write the report to FILE atomically (tmp + rename) instead of stdout");
    check->add_option("--interval", interval_s, "Run the checks every SECONDS in this process (until SIGTERM, or --count cycles)")
        ->check(CLI::Range(0.05, 86400.0));
    check->add_option("--count", count, "With --interval: stop after N cycles (0: until SIGTERM)")->check(CLI::Range(0L, 100000000L));
    check_roots.add_to(check);
    PeerArgs peer_args;
    check->add_option("--peer", peer_args.peers,
                      "HOST[:PORT] running `rdma-agent serve`: adds the `peer` check (RC traffic and latency node to node); repeatable")
        ->allow_extra_args(false);
    check->add_option("--peer-iters", peer_args.opt.iters, "Ping-pongs per peer")->capture_default_str()->check(CLI::Range(5, 1000000));
    check->add_option("--peer-size", peer_args.opt.size, "Ping-pong message size in bytes")->capture_default_str()->check(CLI::Range(1, 1 << 20));
    check->add_option("--peer-verify", peer_args.opt.verify, "Pattern bytes sent, echoed and checked")->capture_default_str()->check(CLI::Range(0, 1 << 20));
    check->add_option("--peer-timeout-ms", peer_args.opt.local.timeout_ms, "TCP and completion timeout")->capture_default_str()->check(CLI::Range(100, 600000));
    check->add_option("--peer-device", peer_args.device, "Local RDMA device for --peer (default: the config's, else the first ACTIVE port)");
    check->add_option("--peer-port", peer_args.port, "Local port number for --peer")->check(CLI::Range(1, 255));
    check->add_option("--peer-gid-index", peer_args.gid_index, "Local GID index for --peer (RoCE)")->check(CLI::Range(0, 65535));

    FanoutRequest fan;
    std::string fan_bind, fan_config;
    RootOptions fan_roots;
    auto* mcast = app.add_subcommand("mcast", "One side of a multicast fan-out between nodes (JSON on stdout; exit 0 all received, 2 lost/corrupted/error)");
    mcast->require_subcommand(1);
    auto* mrecv = mcast->add_subcommand("recv", "Join the group, receive --count datagrams or time out");
    auto* msend = mcast->add_subcommand("send", "Join the group, send --count datagrams");
    for (auto* c : {mrecv, msend}) {
        c->add_option("--group", fan.group, "Multicast group (IPv4 on RoCE)")->capture_default_str();
        c->add_option("--bind", fan_bind, "Local address (default: the IPv4 address of the first ACTIVE port's netdev)");
        c->add_option("--count", fan.count, "Datagrams")->capture_default_str()->check(CLI::Range(1, 100000));
        c->add_option("--timeout-ms", fan.timeout_ms, "Join timeout; receiver: whole receive")->capture_default_str()->check(CLI::Range(100, 3600000));
        c->add_option("--config", fan_config, "Config file (devices.expected chooses the port)");
        fan_roots.add_to(c);
    }
    mrecv->add_option("--ready-file", fan.ready_file, "Written once the group is joined");
    msend->add_option("--interval-us", fan.interval_us, "Pause between datagrams")->capture_default_str()->check(CLI::Range(0, 1000000));

    ServeOptions serve_opt;
    std::string serve_config;
    RootOptions serve_roots;
    int serve_gid = -1;
    auto* serve_cmd = app.add_subcommand("serve", "Answer `rdma-agent check --peer` from another node (RC traffic and latency), then exit");
    serve_cmd->add_option("--listen", serve_opt.listen, "Address to listen on (TCP, for the QP exchange)")->capture_default_str();
    serve_cmd->add_option("--tcp-port", serve_opt.tcp_port, "TCP port")->capture_default_str()->check(CLI::Range(1, 65535));
    serve_cmd->add_option("--connections", serve_opt.connections, "Serve this many checks, then exit (0: until the idle timeout)")
        ->capture_default_str()->check(CLI::Range(0, 100000));
    serve_cmd->add_option("--idle-timeout", serve_opt.idle_timeout_s, "Exit after this many seconds without a connection")
        ->capture_default_str()->check(CLI::Range(1, 86400));
    serve_cmd->add_option("--device", serve_opt.local.device, "RDMA device (default: the config's, else the first ACTIVE port)");
    serve_cmd->add_option("--port", serve_opt.local.port, "Port number")->check(CLI::Range(1, 255));
    serve_cmd->add_option("--gid-index", serve_gid, "GID index (RoCE)")->check(CLI::Range(0, 65535));
    serve_cmd->add_option("--timeout-ms", serve_opt.local.timeout_ms, "TCP and completion timeout per step")->capture_default_str()
        ->check(CLI::Range(100, 600000));
    serve_cmd->add_option("--config", serve_config, "Config file (devices.expected chooses the port)");
    serve_roots.add_to(serve_cmd);

    std::string facts_output;
    auto* facts = app.add_subcommand("facts", "Print one JSON document of the node's RDMA state");
    facts->add_option("--output", facts_output, "Write to FILE atomically instead of stdout");
    facts_roots.add_to(facts);

    LatencyRequest req;
    int gid_index = -1;
    std::string lat_format = "text", lat_samples;
    auto* latency = app.add_subcommand("latency", "RC loopback ping-pong latency, measured like perftest's ib_send_lat");
    latency->add_option("--device", req.device, "RDMA device, e.g. rxe0")->required();
    latency->add_option("--port", req.port, "Port number")->capture_default_str()->check(CLI::Range(1, 255));
    latency->add_option("--gid-index", gid_index, "GID index (RoCE; default: first RoCE v2 IPv4 GID)")->check(CLI::Range(0, 65535));
    latency->add_option("--size", req.size, "Message size in bytes")->capture_default_str()->check(CLI::Range(1, 1 << 30));
    latency->add_option("--iters", req.iters, "Iterations")->capture_default_str()->check(CLI::Range(5, 100000000));
    latency->add_option("--format", lat_format, "Output format: text or json")->capture_default_str();
    latency->add_option("--samples", lat_samples, "Also write every sample (usec, half round trip, one per line) to FILE");

    AbiScanOptions abi_opts;
    auto* abi_scan = app.add_subcommand("abi-scan",
        "Would these binaries work on a stack? Verdict per binary against a manifest (exit 0 compatible, 1 unknown, 2 incompatible, 3 error)");
    abi_scan->add_option("--manifest", abi_opts.manifest, "Stack manifest file (docs/abi-manifests.md)");
    abi_scan->add_option("--stack", abi_opts.stack,
                         "'installed' (default: the node's libraries, symbols only) or a manifest name (debian-11, debian-12, debian-13) under <prefix>/share/rdma-agent/manifests or $RDMA_AGENT_MANIFEST_DIR");
    abi_scan->add_option("--format", abi_opts.format, "Output format: text or json")->capture_default_str();
    abi_scan->add_flag("--evidence", abi_opts.evidence, "Print what was read from each file as JSON, no verdict");
    abi_scan->add_flag("--missing-ok", abi_opts.missing_ok,
                       "Paths and globs matching nothing are listed (JSON \"unmatched\") instead of exit 3");
    abi_scan->add_option("--debug-root", abi_opts.debug_roots, "Where separate debug files are (.build-id/; default /usr/lib/debug); repeatable")
        ->allow_extra_args(false);
    abi_scan->add_option("paths", abi_opts.paths, "Binaries or shared libraries (globs accepted)")->required();

    std::string man_name, man_desc;
    std::vector<std::string> man_types, man_libs;
    auto* abi_manifest = app.add_subcommand("abi-manifest", "Print a stack manifest built from shared libraries and -g type objects (tools/abi-manifest)");
    abi_manifest->add_option("--name", man_name, "Manifest name, e.g. debian-12")->required();
    abi_manifest->add_option("--description", man_desc, "What stack it is, e.g. rdma-core 44.0-2 (Debian 12)");
    abi_manifest->add_option("--types", man_types, "Object compiled with -g against the stack's headers (struct layouts); repeatable")
        ->allow_extra_args(false);
    abi_manifest->add_option("libs", man_libs, "The stack's shared libraries")->required();

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int rc = app.exit(e);
        return rc == 0 ? 0 : kUnknown;
    }

    try {
        if (*check) return cmd_check(config_path, format, only, check_roots, output, peer_args, interval_s, count);
        if (*mcast) {
            if (!fan_bind.empty()) fan.bind = fan_bind;
            return cmd_mcast(static_cast<bool>(*mrecv), fan, fan_config, fan_roots);
        }
        if (*serve_cmd) {
            if (serve_gid >= 0) serve_opt.local.gid_index = serve_gid;
            return cmd_serve(serve_opt, serve_config, serve_roots);
        }
        if (*facts) return cmd_facts(facts_roots, facts_output);
        if (*abi_scan) return cmd_abi_scan(abi_opts);
        if (*abi_manifest) return cmd_abi_manifest(man_name, man_desc, man_types, man_libs);
        if (*latency) {
            if (gid_index >= 0) req.gid_index = gid_index;
            return cmd_latency(req, lat_format, lat_samples);
        }
    } catch (const ConfigError& e) {
        std::cerr << "rdma-agent: config error: " << e.what() << "\n";
        return kUnknown;
    } catch (const abi::ManifestError& e) {
        std::cerr << "rdma-agent: manifest error: " << e.what() << "\n";
        return kUnknown;
    } catch (const UsageError& e) {
        std::cerr << "rdma-agent: " << e.what() << "\n";
        return kUnknown;
    } catch (const std::exception& e) {
        std::cerr << "rdma-agent: internal error: " << e.what() << "\n";
        return kUnknown;
    }
    return kUnknown;
}
