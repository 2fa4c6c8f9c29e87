// The engine's security-relevant configuration: one secret loader shared with tailorc, and
// lifecycle sources that are signed unless configured `unsigned:`.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "core/secret.h"
#include "engine/engine.h"
#include "engine/request_evaluation.h"

namespace tailor {
namespace {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/tailor-lifecycle-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { std::system(("rm -rf " + path_).c_str()); }
  std::string Write(const std::string& name, const std::string& bytes) {
    std::string p = path_ + "/" + name;
    std::ofstream(p, std::ios::binary) << bytes;
    return p;
  }

 private:
  std::string path_;
};

std::string FirstMessage(const Diagnostics& diags) {
  return diags.items().empty() ? "" : FormatDiagnostic(diags.items()[0]);
}

const char kRules[] = R"(
segment loyal = lifecycle == "repeat_customer"
page "/" { variant "loyal" when loyal  default "home" }
)";

// One request: its lifecycle, variant and error bits.
struct Outcome {
  std::string lifecycle, variant;
  uint32_t errors;
};

Outcome Evaluate(const Engine& engine, std::vector<HeaderField> headers, bool consent = true) {
  headers.push_back({"User-Agent",
                     "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"});
  RequestView view;
  view.method = "GET";
  view.path = "/";
  view.headers = headers;
  view.now_ms = 1'800'000'000'000;
  RequestOptions options;
  options.visitor_id = "visitor-1";
  options.consent = consent;
  std::vector<std::max_align_t> state(RequestEvaluation::StateSize(engine) /
                                          sizeof(std::max_align_t) + 1);
  RequestEvaluation ev(engine, view, options, state.data());
  Outcome out;
  out.variant = std::string(ev.Decide().variant);
  std::string_view life;
  static const SignalDef* lifecycle = SignalRegistry::Builtin().Find("lifecycle");
  out.lifecycle = ev.SignalText(*lifecycle, &life) ? std::string(life) : "(missing)";
  out.errors = ev.errors();
  return out;
}

TEST(EngineSecret, SameFileSameKeyAsTailorc) {
  TempDir dir;
  // Trailing whitespace is key material; one line end (here CRLF, as some editors save) is not.
  const std::string key = "tailor-engine-secret-0123456789abcdef \t";
  EngineConfig config;
  config.secret_path = dir.Write("tailor.secret", key + "\r\n");
  Diagnostics diags;
  auto engine = Engine::Create(config, diags);
  ASSERT_TRUE(engine) << FirstMessage(diags);
  auto loaded = LoadSecret(config.secret_path);  // what every tailorc command reads
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  EXPECT_EQ(engine->secret(), loaded.value());
  EXPECT_EQ(engine->secret(), key);
}

TEST(EngineSecret, ShortSecretRefusedLikeTailorc) {
  TempDir dir;
  EngineConfig config;
  config.secret_path = dir.Write("short.secret", "0123456789abcdef\n");  // 16 bytes
  Diagnostics diags;
  EXPECT_FALSE(Engine::Create(config, diags));
  EXPECT_NE(FirstMessage(diags).find("16 bytes; at least 32"), std::string::npos)
      << FirstMessage(diags);
  EXPECT_FALSE(LoadSecret(config.secret_path).ok());
}

TEST(EngineLifecycle, SignedSourceNeedsTheSecret) {
  TempDir dir;
  EngineConfig config;
  config.rules_path = dir.Write("site.rules", kRules);
  config.profile.orders.push_back({LifecycleSource::Kind::kCookie, "orders"});
  Diagnostics diags;
  EXPECT_FALSE(Engine::Create(config, diags));
  EXPECT_NE(FirstMessage(diags).find("tailor_lifecycle: error: orders source \"cookie:orders\" "
                                     "takes values signed with tailor_secret"),
            std::string::npos)
      << FirstMessage(diags);
  EXPECT_NE(FirstMessage(diags).find("\"unsigned:cookie:orders\""), std::string::npos);

  // Trusting the client is allowed, when written out.
  config.profile.orders[0].trust_client = true;
  Diagnostics ok;
  EXPECT_TRUE(Engine::Create(config, ok)) << FirstMessage(ok);
}

TEST(EngineLifecycle, ForgedOrderCountIsIgnoredAndCounted) {
  TempDir dir;
  const std::string secret = "tailor-engine-secret-0123456789abcdef";
  EngineConfig config;
  config.rules_path = dir.Write("site.rules", kRules);
  config.secret_path = dir.Write("tailor.secret", secret + "\n");
  config.profile.orders.push_back({LifecycleSource::Kind::kCookie, "orders"});
  Diagnostics diags;
  auto engine = Engine::Create(config, diags);
  ASSERT_TRUE(engine) << FirstMessage(diags);
  Status started = engine->StartWorker();
  ASSERT_TRUE(started.ok()) << started.message();

  Outcome forged = Evaluate(*engine, {{"Cookie", "orders=2"}});
  EXPECT_EQ(forged.lifecycle, "anonymous");
  EXPECT_EQ(forged.variant, "home");
  EXPECT_TRUE(forged.errors & kErrLifecycle);

  Outcome other_key = Evaluate(
      *engine, {{"Cookie", "orders=" + SignLifecycleValue(secret + "!", "orders", "2")}});
  EXPECT_EQ(other_key.lifecycle, "anonymous");
  EXPECT_TRUE(other_key.errors & kErrLifecycle);

  Outcome signed_two =
      Evaluate(*engine, {{"Cookie", "orders=" + SignLifecycleValue(secret, "orders", "2")}});
  EXPECT_EQ(signed_two.lifecycle, "repeat_customer");
  EXPECT_EQ(signed_two.variant, "loyal");
  EXPECT_FALSE(signed_two.errors & kErrLifecycle);

  Outcome none = Evaluate(*engine, {});
  EXPECT_EQ(none.lifecycle, "anonymous");
  EXPECT_FALSE(none.errors & kErrLifecycle);

  // Without consent Tailor reads none of it, so there is nothing to count.
  Outcome no_consent = Evaluate(*engine, {{"Cookie", "orders=2"}}, false);
  EXPECT_FALSE(no_consent.errors & kErrLifecycle);
}

TEST(EngineLifecycle, UnsignedSourceTakesTheClientsWord) {
  TempDir dir;
  EngineConfig config;
  config.rules_path = dir.Write("site.rules", kRules);
  config.secret_path = dir.Write("tailor.secret", "tailor-engine-secret-0123456789abcdef\n");
  config.profile.orders.push_back({LifecycleSource::Kind::kHeader, "X-Orders", true});
  Diagnostics diags;
  auto engine = Engine::Create(config, diags);
  ASSERT_TRUE(engine) << FirstMessage(diags);
  Status started = engine->StartWorker();
  ASSERT_TRUE(started.ok()) << started.message();
  Outcome o = Evaluate(*engine, {{"X-Orders", "2"}});
  EXPECT_EQ(o.lifecycle, "repeat_customer");
  EXPECT_FALSE(o.errors & kErrLifecycle);
}

}  // namespace
}  // namespace tailor
