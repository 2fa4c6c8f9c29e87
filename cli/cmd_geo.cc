// tailorc geo DB... --ip IP [--ip IP]... [--time EPOCH_SECONDS]: opens MaxMind databases as
// `tailor_geoip2` does (full validation; errors name the file) and prints every geo.* and
// local.* signal for each address, through the same signal functions the rules use.
#include <arpa/inet.h>
#include <netinet/in.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <vector>

#include "cli/args.h"
#include "cli/command.h"
#include "geo/geo_service.h"
#include "geo/geo_source.h"
#include "core/signal_registry.h"

namespace tailor::cli {
namespace {

extern const Command kGeo;

int Run(const std::vector<std::string>& args) {
  std::vector<std::string> dbs, ips;
  int64_t now_s = static_cast<int64_t>(std::time(nullptr));
  // A flag without its value is an unexpected argument.
  int status = Args(kGeo)
                   .Repeated("--ip", "", &ips)
                   .Flag("--time", "",
                         [&](const std::string& v) {
                           now_s = std::stoll(v);
                           return 0;
                         })
                   .Other([&](const std::string& a) {
                     if (a.rfind("--", 0) == 0)
                       return UsageError(kGeo, "unexpected argument \"" + a + "\"");
                     dbs.push_back(a);
                     return 0;
                   })
                   .Parse(args);
  if (status != 0) return status;
  if (dbs.empty() || ips.empty()) return UsageError(kGeo, "at least one DB and one --ip are required");
  auto svc = GeoService::Open(dbs);
  if (!svc.ok()) {
    std::fprintf(stderr, "%s\n", svc.status().message().c_str());
    return 1;
  }
  for (const auto& db : svc.value()->databases())
    std::printf("%s: %s (%s), %zu records, %zu time zones\n", db->path().c_str(),
                db->database_type().c_str(), GeoDbKindName(db->kind()), db->record_count(),
                db->zone_count());
  const SignalRegistry& reg = SignalRegistry::Builtin();
  for (const std::string& ip : ips) {
    sockaddr_storage ss{};
    auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
    auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
    if (inet_pton(AF_INET, ip.c_str(), &s4->sin_addr) == 1) {
      s4->sin_family = AF_INET;
    } else if (inet_pton(AF_INET6, ip.c_str(), &s6->sin6_addr) == 1) {
      s6->sin6_family = AF_INET6;
    } else {
      return UsageError(kGeo, "not an IP address: \"" + ip + "\"");
    }
    RequestView rv;
    rv.client_ip = ip;
    rv.client_addr = reinterpret_cast<const sockaddr*>(&ss);
    rv.client_addr_len = sizeof ss;
    rv.now_ms = now_s * 1000;
    Services services;
    BindGeo(services, svc.value().get());
    std::vector<std::max_align_t> memo_buf(reg.memo_size() / sizeof(std::max_align_t) + 1);
    RequestMemo memo(memo_buf.data(), memo_buf.size() * sizeof(std::max_align_t));
    alignas(16) char arena_buf[1024];
    Arena arena(arena_buf, sizeof arena_buf);
    EvalEnv env{rv, services, arena, memo};
    std::printf("%s\n", ip.c_str());
    for (const SignalDef& def : reg.all()) {
      if (def.name.rfind("geo.", 0) != 0 && def.name.rfind("local.", 0) != 0) continue;
      if (def.arg != SignalArg::kNone) continue;
      Value v = def.fn(SignalArgs{}, env);
      std::printf("  %-16s ", def.name.c_str());
      switch (v.type) {
        case ValueType::kMissing: std::printf("(missing)\n"); break;
        case ValueType::kBool: std::printf("%s\n", v.boolean ? "true" : "false"); break;
        case ValueType::kNumber: std::printf("%g\n", v.number); break;
        default: std::printf("\"%.*s\"\n", static_cast<int>(v.str.size()), v.str.data());
      }
    }
  }
  return 0;
}

const Command kGeo = {"geo", "geo DB... --ip IP [--ip IP]... [--time EPOCH]",
                      "validate MaxMind databases and show the geo.*/local.* signals of addresses",
                      Run};

}  // namespace
static CommandRegistrar tailorc_command_geo(kGeo);
}  // namespace tailor::cli
