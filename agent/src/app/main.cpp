// rdma-agent: the per-node RDMA verifier. Exit codes follow Nagios/NHC: 0 ok, 1 warning,
// 2 critical, 3 unknown (usage, config or internal error).
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

#include <CLI/CLI.hpp>

#include "rdma_agent/config_parser.hpp"
#include "rdma_agent/report.hpp"
#include "rdma_agent/rooted_filesystem.hpp"
#include "rdma_agent/system_checks.hpp"
#include "registry.hpp"
#include "verbs_checks.hpp"

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

// tmp + rename in the target's directory, so node_exporter never reads half a file.
void write_atomically(const std::string& path, const std::string& content) {
    namespace fs = std::filesystem;
    const fs::path target(path);
    const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) throw UsageError("--output " + path + ": directory " + dir.string() + " does not exist");
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

int cmd_check(const std::string& config_path, const std::string& format, const std::string& only,
              const RootOptions& ro, const std::string& output) {
    const Roots roots = ro.resolve();
    const Config config = load_config(config_path, roots);

    std::set<std::string> selected;
    for (const auto& n : split_commas(only)) {
        bool known = false;
        for (auto k : kCheckNames) known |= (k == n);
        if (!known) {
            std::string list;
            for (auto k : kCheckNames) list += (list.empty() ? "" : ",") + std::string(k);
            throw UsageError("--only: unknown check '" + n + "' (known: " + list + ")");
        }
        selected.insert(n);
    }
    if (format != "text" && format != "json" && format != "nagios" && format != "prometheus")
        throw UsageError("--format " + format + ": expected text, json, nagios or prometheus");

    if (!output.empty()) {
        const std::filesystem::path t(output);
        const auto dir = t.has_parent_path() ? t.parent_path() : std::filesystem::path(".");
        std::error_code ec;
        if (!std::filesystem::is_directory(dir, ec))
            throw UsageError("--output " + output + ": directory " + dir.string() + " does not exist");
    }

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

    Context ctx{config, fs};
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
    const std::string text = render(report, format);
    if (output.empty()) std::cout << text << std::flush;
    else write_atomically(output, text);
    return static_cast<int>(exit_code_for(overall_status(report.checks)));
}

int cmd_facts(const RootOptions& ro, const std::string& output) {
    RootedFileSystem fs(ro.resolve());
    const std::string text = collect_facts(fs).dump(2) + "\n";
    if (output.empty()) std::cout << text << std::flush;
    else write_atomically(output, text);
    return 0;
}

int cmd_latency(const LatencyRequest& req, const std::string& format) {
    if (format != "text" && format != "json") throw UsageError("--format " + format + ": expected text or json");
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

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"rdma-agent: verifies a node's RDMA stack by driving real verbs (exit 0 ok, 1 warning, 2 critical, 3 unknown)",
                 "rdma-agent"};
    app.set_version_flag("--version", std::string("rdma-agent ") + RDMA_AGENT_VERSION);
    app.require_subcommand(1);

    std::string config_path, format = "text", only, output;
    RootOptions check_roots, facts_roots;
    auto* check = app.add_subcommand("check", "Run the checks and report (text, json, nagios, prometheus)");
    check->add_option("--config", config_path, "Config file (default <etc-root>/rdma-agent/agent.yaml; absent: built-in defaults)");
    check->add_option("--format", format, "Output format: text, json, nagios, prometheus")->capture_default_str();
    check->add_option("--only", only, "Comma-separated checks to run: stack,devices,verbs,multicast,flow_steering,mlx4_steering,latency");
    check->add_option("--output", output, "Write the report to FILE atomically (tmp + rename) instead of stdout");
    check_roots.add_to(check);

    std::string facts_output;
    auto* facts = app.add_subcommand("facts", "Print one JSON document of the node's RDMA state");
    facts->add_option("--output", facts_output, "Write to FILE atomically instead of stdout");
    facts_roots.add_to(facts);

    LatencyRequest req;
    int gid_index = -1;
    std::string lat_format = "text";
    auto* latency = app.add_subcommand("latency", "RC loopback ping-pong latency, measured like perftest's ib_send_lat");
    latency->add_option("--device", req.device, "RDMA device, e.g. rxe0")->required();
    latency->add_option("--port", req.port, "Port number")->capture_default_str()->check(CLI::Range(1, 255));
    latency->add_option("--gid-index", gid_index, "GID index (RoCE; default: first RoCE v2 IPv4 GID)")->check(CLI::Range(0, 65535));
    latency->add_option("--size", req.size, "Message size in bytes")->capture_default_str()->check(CLI::Range(1, 1 << 30));
    latency->add_option("--iters", req.iters, "Iterations")->capture_default_str()->check(CLI::Range(5, 100000000));
    latency->add_option("--format", lat_format, "Output format: text or json")->capture_default_str();

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int rc = app.exit(e);
        return rc == 0 ? 0 : kUnknown;
    }

    try {
        if (*check) return cmd_check(config_path, format, only, check_roots, output);
        if (*facts) return cmd_facts(facts_roots, facts_output);
        if (*latency) {
            if (gid_index >= 0) req.gid_index = gid_index;
            return cmd_latency(req, lat_format);
        }
    } catch (const ConfigError& e) {
        std::cerr << "rdma-agent: config error: " << e.what() << "\n";
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
