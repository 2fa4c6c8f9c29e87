// tailorc explain RULES [--url URL] [--header 'N: V']... [--cookie N=V]... [--ip IP]
//                      [--host HOST] [--method M] [--visitor ID] [--languages fr,en]
//                      [--secret FILE] [--SOURCE FILE]...
// (--SOURCE: each data source's flag, e.g. --geoip DB for tailor_geoip2; see `tailorc signals`)
// Evaluates one request built from the flags and prints JSON: the page and variant, the
// segments the request is in, the goals it reaches, the scores, the signals that were read (and their values), and a
// trace of every rule evaluated, in order, so a content team can see why a request got its
// variant.
#include <arpa/inet.h>
#include <netinet/in.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include <nlohmann/json.hpp>

#include "cli/args.h"
#include "cli/command.h"
#include "core/text.h"
#include "engine/engine.h"
#include "engine/request_evaluation.h"
#include "rules/compiled.h"
#include "rules/rule_set.h"
#include "core/signal_registry.h"

namespace tailor::cli {
namespace {

constexpr std::string_view kDefaultUserAgent =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36";

int Run(const std::vector<std::string>& args);
const Command kExplain = {
    "explain",
    "explain RULES [--url URL] [--header 'N: V']... [--cookie N=V]... [--ip IP] [--host H] "
    "[--method M] [--visitor ID] [--languages fr,en] [--secret FILE] [--geoip DB]... (and each "
    "data source's --SOURCE FILE)",
    "show how the rules decide one request (JSON: page, variant, segments, goals, scores, "
    "signals, trace)",
    Run};

using Json = nlohmann::ordered_json;  // keeps the keys in the order they are written

// A number as the rules' text shows it: 15 significant digits ("null" when not finite).
std::string FormatNumber(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.15g", v);
  return buf;
}

// A number in the JSON: rounded to 15 significant digits, a whole number below 1e15 as an
// integer, null when not finite (JSON has no NaN or infinity).
Json JsonNumber(double v) {
  if (!std::isfinite(v)) return nullptr;
  const double rounded = std::strtod(FormatNumber(v).c_str(), nullptr);
  if (rounded == std::floor(rounded) && std::fabs(rounded) < 1e15)
    return static_cast<int64_t>(rounded);
  return rounded;
}

Json JsonValue(const Value& v) {
  switch (v.type) {
    case ValueType::kMissing: return nullptr;
    case ValueType::kBool: return v.boolean;
    case ValueType::kNumber: return JsonNumber(v.number);
    case ValueType::kString: return std::string(v.str);
    case ValueType::kStringList: {
      Json list = Json::array();
      for (std::string_view s : v.list) list.push_back(std::string(s));
      return list;
    }
  }
  return nullptr;
}

// A string, or null when empty.
Json JsonStringOrNull(std::string_view s) {
  return s.empty() ? Json(nullptr) : Json(std::string(s));
}

struct RequestSpec {
  std::string url = "/";
  std::string host, method = "GET", ip = "127.0.0.1", visitor;
  std::vector<std::pair<std::string, std::string>> headers;
  std::vector<std::string> cookies;
  EngineConfig config;
};

int Run(const std::vector<std::string>& args) {
  RequestSpec spec;
  std::string rules_path;
  Args parser(kExplain);
  parser.Flag("--url", "--url needs a URL", &spec.url)
      .Flag("--header", "--header needs 'Name: value'",
            [&](const std::string& v) {
              size_t colon = v.find(':');
              if (colon == std::string::npos || colon == 0)
                return UsageError(kExplain, "--header needs 'Name: value', got '" + v + "'");
              spec.headers.push_back(
                  {v.substr(0, colon),
                   std::string(TrimSpaces(std::string_view(v).substr(colon + 1)))});
              return 0;
            })
      .Flag("--cookie", "--cookie needs NAME=VALUE",
            [&](const std::string& v) {
              if (v.find('=') == std::string::npos)
                return UsageError(kExplain, "--cookie needs NAME=VALUE");
              spec.cookies.push_back(v);
              return 0;
            })
      .Flag("--ip", "--ip needs an address", &spec.ip)
      .Flag("--host", "--host needs a host name", &spec.host)
      .Flag("--method", "--method needs a method", &spec.method)
      .Flag("--visitor", "--visitor needs an ID", &spec.visitor)
      .Flag("--languages", "--languages needs a list: fr,en",
            [&](const std::string& v) {
              size_t start = 0;
              while (start <= v.size()) {
                size_t comma = v.find(',', start);
                std::string lang =
                    v.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
                if (!lang.empty()) spec.config.languages.push_back(lang);
                if (comma == std::string::npos) break;
                start = comma + 1;
              }
              return 0;
            })
      .Flag("--secret", "--secret needs a file", &spec.config.secret_path)
      .Other([&](const std::string& a) {
        if (rules_path.empty() && !a.empty() && a[0] != '-') {
          rules_path = a;
          return 0;
        }
        return UsageError(kExplain, "unexpected argument " + a);
      });
  // Each data source's flag (--geoip FILE): one line of its directive, without options.
  for (const DataSourceDef& source : SignalRegistry::Builtin().sources()) {
    std::string flag(source.explain_flag), directive(source.directive);
    parser.Flag(flag, flag + " needs a file", [&spec, directive](const std::string& v) {
      spec.config.sources.push_back({directive, v, {}});
      return 0;
    });
  }
  if (int status = parser.Parse(args); status != 0) return status;
  if (rules_path.empty()) return UsageError(kExplain, "expected a rules file");

  // The same Engine the server builds: classifiers, geo, tables, Lua, experiments.
  Diagnostics diags;
  spec.config.rules_path = rules_path;
  auto engine = Engine::Create(spec.config, diags);
  for (const Diagnostic& d : diags.items())
    if (d.severity == Severity::kError) std::fprintf(stderr, "%s\n", FormatDiagnostic(d).c_str());
  if (!engine || !engine->rules()) return 1;
  if (Status started = engine->StartWorker(); !started.ok()) {
    std::fprintf(stderr, "tailorc explain: %s\n", started.message().c_str());
    return 1;
  }
  const RuleSet* rules = engine->rules();

  // The request: "http://host/path?query" or "/path?query".
  std::string url = spec.url, scheme = "http";
  if (size_t p = url.find("://"); p != std::string::npos) {
    scheme = url.substr(0, p);
    url = url.substr(p + 3);
    size_t slash = url.find_first_of("/?");
    std::string host = url.substr(0, slash);
    if (size_t colon = host.find(':'); colon != std::string::npos) host = host.substr(0, colon);
    if (spec.host.empty()) spec.host = host;
    url = slash == std::string::npos ? "/" : url.substr(slash);
    if (!url.empty() && url[0] == '?') url = "/" + url;
  }
  if (spec.host.empty()) spec.host = "localhost";
  if (size_t hash = url.find('#'); hash != std::string::npos) url.resize(hash);
  size_t q = url.find('?');
  std::string raw_path = url.substr(0, q), query = q == std::string::npos ? "" : url.substr(q + 1);
  std::vector<char> path_buf(raw_path.size() + 1);
  Arena path_arena(path_buf.data(), path_buf.size());
  std::string path(PercentDecode(raw_path, path_arena, false).value_or(raw_path));
  if (path.empty() || path[0] != '/') path = "/" + path;

  if (!spec.cookies.empty()) {
    std::string cookie;
    for (const std::string& c : spec.cookies) cookie += (cookie.empty() ? "" : "; ") + c;
    spec.headers.push_back({"Cookie", cookie});
  }
  bool has_host_header = false, has_user_agent = false;
  for (auto& h : spec.headers) {
    has_host_header = has_host_header || EqualsIgnoreCase(h.first, "Host");
    has_user_agent = has_user_agent || EqualsIgnoreCase(h.first, "User-Agent");
  }
  if (!has_host_header) spec.headers.push_back({"Host", spec.host});
  // The request a content team has in mind is a browser's: without --header 'User-Agent: ...'
  // explain sends a desktop browser's (a request with no User-Agent at all is a bot and gets
  // the default variant, as nginx would serve it).
  if (!has_user_agent)
    spec.headers.push_back({"User-Agent", std::string(kDefaultUserAgent)});
  std::vector<HeaderField> fields;
  for (auto& [n, v] : spec.headers) fields.push_back({n, v});

  sockaddr_storage addr{};
  socklen_t addr_len = 0;
  if (inet_pton(AF_INET, spec.ip.c_str(), &reinterpret_cast<sockaddr_in*>(&addr)->sin_addr) == 1) {
    addr.ss_family = AF_INET;
    addr_len = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, spec.ip.c_str(), &reinterpret_cast<sockaddr_in6*>(&addr)->sin6_addr) == 1) {
    addr.ss_family = AF_INET6;
    addr_len = sizeof(sockaddr_in6);
  } else {
    return UsageError(kExplain, "--ip: not an IPv4 or IPv6 address: " + spec.ip);
  }

  RequestView view;
  view.method = spec.method;
  view.scheme = scheme;
  view.host = spec.host;
  view.path = path;
  view.query = query;
  view.headers = fields;
  view.client_ip = spec.ip;
  view.client_addr = reinterpret_cast<const sockaddr*>(&addr);
  view.client_addr_len = addr_len;
  view.now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();

  size_t state_size = RequestEvaluation::StateSize(*engine);
  std::unique_ptr<char[]> state_buf(new char[state_size + RequestEvaluation::kAlign]);
  void* state = reinterpret_cast<void*>(
      (reinterpret_cast<uintptr_t>(state_buf.get()) + RequestEvaluation::kAlign - 1) &
      ~static_cast<uintptr_t>(RequestEvaluation::kAlign - 1));
  RequestOptions options;
  options.visitor_id = spec.visitor;
  RequestEvaluation request(*engine, view, options, state);
  if (request.evaluator() == nullptr) {
    std::fprintf(stderr, "tailorc explain: the request could not be evaluated\n");
    return 1;
  }
  Evaluator& ev = *request.evaluator();
  std::vector<TraceEntry> trace;
  ev.set_trace(&trace);

  Decision d = request.Decide();
  const CompiledRules& c = rules->compiled();
  Json segments = Json::array();
  for (size_t i = 0; i < rules->num_segments(); ++i)
    if (ev.InSegment(i)) segments.push_back(std::string(rules->segment_name(i)));
  Json goals = Json::array();
  for (size_t i = 0; i < rules->num_goals(); ++i) {
    double value = -1;
    if (!ev.GoalReached(i, &value)) continue;
    goals.push_back({{"name", std::string(rules->goal_name(i))},
                     {"value", value >= 0 ? JsonNumber(value) : Json(nullptr)}});
  }
  Json scores = Json::object();
  for (size_t i = 0; i < rules->num_scores(); ++i) {
    scores[std::string(rules->score_name(i))] = {
        {"points", JsonNumber(ev.ScorePoints(i))},
        {"band", rules->score_has_bands(i) ? Json(std::string(ev.ScoreBand(i))) : Json(nullptr)}};
  }
  Json experiments = Json::object();
  for (size_t i = 0; i < rules->experiments().size(); ++i)
    experiments[rules->experiments()[i].name] = JsonStringOrNull(ev.ExperimentVariant(i));
  Json signals = Json::object();
  for (size_t i = 0; i < ev.num_slots(); ++i) {
    if (!ev.slot_is_signal(i) || !ev.slot_computed(i)) continue;
    signals[std::string(ev.slot_name(i))] = JsonValue(ev.slot_value(i));
  }
  Json trace_json = Json::array();
  for (const TraceEntry& t : trace) {
    std::string rule, at;
    switch (t.kind) {
      case TraceEntry::Kind::kPage: {
        const CompiledPage& p = c.pages[t.index];
        rule = std::string("page ") + (p.kind == CompiledPage::Kind::kRegex ? "matches " : "") +
               "\"" + std::string(p.pattern) + "\"" +
               (p.host.empty() ? "" : " host \"" + std::string(p.host) + "\"");
        at = std::string(p.file) + ":" + std::to_string(p.line);
        break;
      }
      case TraceEntry::Kind::kVariant: {
        const CompiledVariant& v = c.variants[t.index];
        rule = "variant \"" + std::string(v.name) + "\" when " + std::string(v.text);
        at = std::string(c.pages[d.page].file) + ":" + std::to_string(v.line);
        break;
      }
      case TraceEntry::Kind::kSegment:
        rule = "segment " + std::string(c.segment_names[t.index]) + " = " +
               std::string(c.segment_texts[t.index]);
        at = std::string(c.segment_files[t.index]) + ":" + std::to_string(c.segment_lines[t.index]);
        break;
      case TraceEntry::Kind::kScoreItem: {
        const CompiledScore& s = c.scores[t.index];
        double pts = s.items[t.item].first;
        rule = "score " + std::string(s.name) + ": " + (pts < 0 ? "" : "+") + FormatNumber(pts) +
               " when " + std::string(s.item_texts[t.item]);
        at = "line " + std::to_string(s.item_lines[t.item]);
        break;
      }
      case TraceEntry::Kind::kExperiment:
        rule = "experiment " + rules->experiments()[t.index].name;
        break;
    }
    Json entry = {{"rule", rule}};
    if (!at.empty()) entry["at"] = at;
    entry["result"] = t.result;
    trace_json.push_back(std::move(entry));
  }

  Json out = {
      {"page", d.page >= 0 ? Json(std::string(d.page_pattern)) : Json(nullptr)},
      {"variant", d.page >= 0 ? JsonStringOrNull(d.variant) : Json(nullptr)},
      {"default", d.is_default},
      {"segments", std::move(segments)},
      {"goals", std::move(goals)},
      {"scores", std::move(scores)},
      {"experiments", std::move(experiments)},
      {"signals", std::move(signals)},
      {"trace", std::move(trace_json)}};
  // Header values, cookies, paths and Lua strings are copied as given; bytes that are not
  // UTF-8 become U+FFFD so that the output stays JSON.
  std::string text = out.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
  std::fwrite(text.data(), 1, text.size(), stdout);
  return 0;
}

}  // namespace
TAILORC_COMMAND(explain, kExplain.name, kExplain.usage, kExplain.summary, kExplain.run);
}  // namespace tailor::cli
