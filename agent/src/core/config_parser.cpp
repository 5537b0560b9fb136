// agent.yaml -> Config. Strict: unknown keys, duplicate keys, wrong types, out-of-range values
// and invalid addresses are errors naming file:line:column (yaml-cpp marks are 0-based; we
// print 1-based like compilers do).
#include "rdma_agent/config_parser.hpp"

#include <arpa/inet.h>

#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <sstream>

#include <yaml-cpp/yaml.h>

namespace rdma_agent {

namespace {

class Parser {
public:
    explicit Parser(std::string source) : source_(std::move(source)) {}

    [[noreturn]] void fail(const YAML::Mark& m, const std::string& what) const {
        std::ostringstream os;
        os << source_ << ':';
        if (m.line >= 0) os << (m.line + 1) << ':' << (m.column + 1);
        else os << "?:?";
        os << ": " << what;
        throw ConfigError(os.str());
    }

    static std::string kind(const YAML::Node& n) {
        switch (n.Type()) {
            case YAML::NodeType::Null: return "null";
            case YAML::NodeType::Scalar: return "scalar '" + n.Scalar() + "'";
            case YAML::NodeType::Sequence: return "a list";
            case YAML::NodeType::Map: return "a mapping";
            case YAML::NodeType::Undefined: return "nothing";
        }
        return "?";
    }

    // Iterates a mapping with a fixed key set; unknown and duplicate keys are errors.
    void mapping(const YAML::Node& n, const std::string& where,
                 const std::map<std::string, std::function<void(const YAML::Node&, const std::string&)>>& handlers) const {
        if (!n.IsMap()) fail(n.Mark(), "expected a mapping for " + where + ", got " + kind(n));
        std::set<std::string> seen;
        for (const auto& kv : n) {
            if (!kv.first.IsScalar()) fail(kv.first.Mark(), "expected a scalar key in " + where);
            const std::string key = kv.first.Scalar();
            if (!seen.insert(key).second) fail(kv.first.Mark(), "duplicate key '" + key + "' in " + where);
            auto it = handlers.find(key);
            if (it == handlers.end()) {
                std::string known;
                for (const auto& h : handlers) known += (known.empty() ? "" : ", ") + h.first;
                fail(kv.first.Mark(), "unknown key '" + key + "' in " + where + " (expected one of: " + known + ")");
            }
            const std::string path = where == "top level" ? key : where + "." + key;
            it->second(kv.second, path);
        }
    }

    std::string scalar(const YAML::Node& n, const std::string& what) const {
        if (!n.IsScalar()) fail(n.Mark(), "expected " + what + ", got " + kind(n));
        return n.Scalar();
    }

    bool boolean(const YAML::Node& n, const std::string& path) const {
        const std::string s = scalar(n, "true or false for " + path);
        if (s == "true" || s == "True" || s == "TRUE" || s == "yes" || s == "on") return true;
        if (s == "false" || s == "False" || s == "FALSE" || s == "no" || s == "off") return false;
        fail(n.Mark(), "expected true or false for " + path + ", got '" + s + "'");
    }

    long long integer(const YAML::Node& n, const std::string& path, long long lo, long long hi) const {
        const std::string s = scalar(n, "an integer for " + path);
        long long v = 0;
        std::size_t pos = 0;
        try {
            v = std::stoll(s, &pos, 10);
        } catch (const std::exception&) {
            fail(n.Mark(), "expected an integer for " + path + ", got '" + s + "'");
        }
        if (pos != s.size()) fail(n.Mark(), "expected an integer for " + path + ", got '" + s + "'");
        if (v < lo || v > hi)
            fail(n.Mark(), "expected an integer in " + std::to_string(lo) + ".." + std::to_string(hi) +
                               " for " + path + ", got " + s);
        return v;
    }

    double number(const YAML::Node& n, const std::string& path) const {
        const std::string s = scalar(n, "a number for " + path);
        double v = 0;
        std::size_t pos = 0;
        try {
            v = std::stod(s, &pos);
        } catch (const std::exception&) {
            fail(n.Mark(), "expected a number for " + path + ", got '" + s + "'");
        }
        if (pos != s.size() || !(v >= 0) || v > 1e12)
            fail(n.Mark(), "expected a non-negative number for " + path + ", got '" + s + "'");
        return v;
    }

    std::string one_of(const YAML::Node& n, const std::string& path, const std::vector<std::string>& allowed) const {
        std::string list;
        for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + ("'" + a + "'");
        const std::string s = scalar(n, "one of " + list + " for " + path);
        for (const auto& a : allowed)
            if (s == a) return s;
        fail(n.Mark(), "expected one of " + list + " for " + path + ", got '" + s + "'");
    }

    std::string nonempty(const YAML::Node& n, const std::string& path) const {
        const std::string s = scalar(n, "a string for " + path);
        if (s.empty()) fail(n.Mark(), "expected a non-empty string for " + path);
        return s;
    }

    Config parse(const std::string& text) {
        YAML::Node root;
        try {
            root = YAML::Load(text);
        } catch (const YAML::Exception& e) {
            fail(e.mark, "invalid YAML: " + e.msg);
        }
        Config c;
        c.source = source_;
        c.from_file = true;
        if (root.IsNull()) return c;  // empty file: built-in defaults, stated in `source`
        using H = std::map<std::string, std::function<void(const YAML::Node&, const std::string&)>>;
        mapping(root, "top level", H{
            {"schema_version", [&](const YAML::Node& n, const std::string& p) {
                 if (integer(n, p, 1, 1) != 1) fail(n.Mark(), "expected schema_version 1");
             }},
            {"stack", [&](const YAML::Node& n, const std::string& p) {
                 mapping(n, p, H{
                     {"enabled", [&](const YAML::Node& v, const std::string& q) { c.stack.enabled = boolean(v, q); }},
                     {"expected", [&](const YAML::Node& v, const std::string& q) {
                          c.stack.expected = one_of(v, q, {"inbox", "kernel", "mofed", "any"});
                      }},
                     {"version", [&](const YAML::Node& v, const std::string& q) { c.stack.version = nonempty(v, q); }},
                 });
             }},
            {"devices", [&](const YAML::Node& n, const std::string& p) {
                 mapping(n, p, H{
                     {"enabled", [&](const YAML::Node& v, const std::string& q) { c.devices.enabled = boolean(v, q); }},
                     {"roce_mode", [&](const YAML::Node& v, const std::string& q) {
                          // drivers/infiniband/core/cache.c gid_type_str: the values configfs shows
                          c.devices.roce_mode = one_of(v, q, {"IB/RoCE v1", "RoCE v2"});
                      }},
                     {"expected", [&](const YAML::Node& v, const std::string& q) {
                          if (!v.IsSequence()) fail(v.Mark(), "expected a list of devices for " + q + ", got " + kind(v));
                          std::set<std::string> names;
                          for (std::size_t i = 0; i < v.size(); ++i) {
                              const YAML::Node d = v[i];
                              const std::string dp = q + "[" + std::to_string(i) + "]";
                              ExpectedDevice ed;
                              bool have_name = false;
                              mapping(d, dp, H{
                                  {"name", [&](const YAML::Node& x, const std::string& r) { ed.name = nonempty(x, r); have_name = true; }},
                                  {"ports", [&](const YAML::Node& x, const std::string& r) {
                                       if (!x.IsSequence()) fail(x.Mark(), "expected a list of port numbers for " + r + ", got " + kind(x));
                                       for (std::size_t j = 0; j < x.size(); ++j)
                                           ed.ports.push_back(static_cast<int>(integer(x[j], r + "[" + std::to_string(j) + "]", 1, 255)));
                                   }},
                                  {"link_layer", [&](const YAML::Node& x, const std::string& r) {
                                       ed.link_layer = one_of(x, r, {"InfiniBand", "Ethernet"});
                                   }},
                                  {"rate_gbps", [&](const YAML::Node& x, const std::string& r) {
                                       mapping(x, r, H{
                                           {"min", [&](const YAML::Node& y, const std::string& s) { ed.rate.min_gbps = number(y, s); }},
                                           {"max", [&](const YAML::Node& y, const std::string& s) { ed.rate.max_gbps = number(y, s); }},
                                       });
                                       if (ed.rate.min_gbps && ed.rate.max_gbps && *ed.rate.min_gbps > *ed.rate.max_gbps)
                                           fail(x.Mark(), "expected min <= max in " + r);
                                   }},
                              });
                              if (!have_name) fail(d.Mark(), "expected a 'name' in " + dp);
                              if (!names.insert(ed.name).second) fail(d.Mark(), "device '" + ed.name + "' listed twice in " + q);
                              c.devices.expected.push_back(std::move(ed));
                          }
                      }},
                 });
             }},
            {"verbs", [&](const YAML::Node& n, const std::string& p) {
                 mapping(n, p, H{
                     {"enabled", [&](const YAML::Node& v, const std::string& q) { c.verbs.enabled = boolean(v, q); }},
                     {"timeout_ms", [&](const YAML::Node& v, const std::string& q) { c.verbs.timeout_ms = static_cast<int>(integer(v, q, 1, 600000)); }},
                     {"bytes", [&](const YAML::Node& v, const std::string& q) { c.verbs.bytes = static_cast<int>(integer(v, q, 1, 1 << 30)); }},
                 });
             }},
            {"multicast", [&](const YAML::Node& n, const std::string& p) {
                 mapping(n, p, H{
                     {"enabled", [&](const YAML::Node& v, const std::string& q) { c.multicast.enabled = boolean(v, q); }},
                     {"group", [&](const YAML::Node& v, const std::string& q) {
                          const std::string s = scalar(v, "a multicast group address for " + q);
                          if (!is_multicast_group(s))
                              fail(v.Mark(), "expected an IPv4 multicast address (224.0.0.0/4) or an IPv6 multicast address/MGID (ff00::/8) for " + q + ", got '" + s + "'");
                          c.multicast.group = s;
                      }},
                     {"datagrams", [&](const YAML::Node& v, const std::string& q) { c.multicast.datagrams = static_cast<int>(integer(v, q, 1, 1000000)); }},
                     {"timeout_ms", [&](const YAML::Node& v, const std::string& q) { c.multicast.timeout_ms = static_cast<int>(integer(v, q, 1, 600000)); }},
                     {"bind_address", [&](const YAML::Node& v, const std::string& q) {
                          const std::string s = scalar(v, "an IP address for " + q);
                          if (!is_ip_address(s)) fail(v.Mark(), "expected an IPv4 or IPv6 address for " + q + ", got '" + s + "'");
                          c.multicast.bind_address = s;
                      }},
                 });
             }},
            {"flow_steering", [&](const YAML::Node& n, const std::string& p) {
                 mapping(n, p, H{
                     {"enabled", [&](const YAML::Node& v, const std::string& q) { c.flow_steering.enabled = boolean(v, q); }},
                     {"required", [&](const YAML::Node& v, const std::string& q) { c.flow_steering.required = boolean(v, q); }},
                 });
             }},
            {"mlx4_steering", [&](const YAML::Node& n, const std::string& p) {
                 mapping(n, p, H{
                     {"enabled", [&](const YAML::Node& v, const std::string& q) { c.mlx4_steering.enabled = boolean(v, q); }},
                     {"expected", [&](const YAML::Node& v, const std::string& q) {
                          // mlx4/main.c: 7..12, or <= 0 for device-managed steering (MLNX_OFED: a
                          // negated bit field, default -10).
                          const long long x = integer(v, q, -255, 12);
                          if (x >= 1 && x <= 6)
                              fail(v.Mark(), "expected -255..0 (device-managed steering) or 7..12 for " + q + ", got " + std::to_string(x));
                          c.mlx4_steering.expected = static_cast<int>(x);
                      }},
                 });
             }},
            {"latency", [&](const YAML::Node& n, const std::string& p) {
                 mapping(n, p, H{
                     {"enabled", [&](const YAML::Node& v, const std::string& q) { c.latency.enabled = boolean(v, q); }},
                     {"size", [&](const YAML::Node& v, const std::string& q) { c.latency.size = static_cast<int>(integer(v, q, 1, 1 << 20)); }},
                     {"iters", [&](const YAML::Node& v, const std::string& q) { c.latency.iters = static_cast<int>(integer(v, q, 5, 10000000)); }},
                     {"budget_us", [&](const YAML::Node& v, const std::string& q) {
                          mapping(v, q, H{
                              {"median", [&](const YAML::Node& y, const std::string& s) { c.latency.median_budget_us = number(y, s); }},
                              {"p99", [&](const YAML::Node& y, const std::string& s) { c.latency.p99_budget_us = number(y, s); }},
                          });
                      }},
                 });
             }},
            {"abi_scan", [&](const YAML::Node& n, const std::string& p) {
                 std::optional<bool> enabled;
                 mapping(n, p, H{
                     {"enabled", [&](const YAML::Node& v, const std::string& q) { enabled = boolean(v, q); }},
                     {"manifest", [&](const YAML::Node& v, const std::string& q) { c.abi_scan.manifest = nonempty(v, q); }},
                     {"paths", [&](const YAML::Node& v, const std::string& q) {
                          if (!v.IsSequence()) fail(v.Mark(), "expected a list of paths or globs for " + q + ", got " + kind(v));
                          for (std::size_t i = 0; i < v.size(); ++i) {
                              const std::string g = nonempty(v[i], q + "[" + std::to_string(i) + "]");
                              if (g[0] != '/') fail(v[i].Mark(), "expected an absolute path or glob for " + q + "[" + std::to_string(i) + "], got '" + g + "'");
                              c.abi_scan.paths.push_back(g);
                          }
                      }},
                 });
                 if (enabled.value_or(true) && c.abi_scan.paths.empty())
                     fail(n.Mark(), "abi_scan needs 'paths' (the binaries to protect) unless 'enabled: false'");
                 c.abi_scan.enabled = enabled.value_or(true);
             }},
        });
        return c;
    }

private:
    std::string source_;
};

}  // namespace

bool is_ip_address(const std::string& s) {
    unsigned char buf[16];
    return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

bool is_multicast_group(const std::string& s) {
    unsigned char buf[16];
    if (inet_pton(AF_INET, s.c_str(), buf) == 1) return (buf[0] & 0xF0) == 0xE0;  // 224.0.0.0/4
    if (inet_pton(AF_INET6, s.c_str(), buf) == 1) return buf[0] == 0xFF;          // ff00::/8 (MGID)
    return false;
}

Config parse_config(const std::string& text, const std::string& source) {
    return Parser(source).parse(text);
}

Config load_config_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw ConfigError(path + ": cannot read the config file");
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) throw ConfigError(path + ": read error");
    return parse_config(ss.str(), path);
}

}  // namespace rdma_agent
