#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "engine/engine.h"
#include "engine/request_evaluation.h"

namespace tailor {
namespace {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/tailor-engine-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { std::system(("rm -rf " + path_).c_str()); }
  std::string Write(const std::string& name, const std::string& text) {
    std::string p = path_ + "/" + name;
    std::ofstream(p) << text;
    return p;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// One request evaluated against an engine, with its own state buffer.
struct Request {
  std::vector<HeaderField> headers;
  RequestView view;
  RequestOptions options;
  std::vector<std::max_align_t> state;
  std::unique_ptr<RequestEvaluation> ev;

  Request(const Engine& engine, std::string_view path, std::vector<HeaderField> h = {},
          std::string_view query = {}, std::string_view visitor = "visitor-1")
      : headers(std::move(h)) {
    // Browsers always send a User-Agent; a request without one is a bot (default variant).
    bool has_ua = false;
    for (const HeaderField& f : headers) has_ua = has_ua || f.name == "User-Agent";
    if (!has_ua)
      headers.push_back({"User-Agent",
                         "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"});
    view.method = "GET";
    view.scheme = "http";
    view.host = "shop.example";
    view.path = path;
    view.query = query;
    view.headers = headers;
    view.client_ip = "127.0.0.1";
    view.now_ms = 1'800'000'000'000;
    options.visitor_id = visitor;
    state.resize(RequestEvaluation::StateSize(engine) / sizeof(std::max_align_t) + 1);
    ev = std::make_unique<RequestEvaluation>(engine, view, options, state.data());
  }
};

TEST(Engine, DecidesVariantsAndLabels) {
  TempDir dir;
  EngineConfig config;
  config.rules_path = dir.Write("site.rules", R"(
segment beta = cookie("beta") == "1"
page "/" { variant "home-beta" when beta  default "home" }
page "/shop/*" { default "shop" }
)");
  Diagnostics diags;
  auto engine = Engine::Create(config, diags);
  ASSERT_TRUE(engine) << (diags.items().empty() ? "" : FormatDiagnostic(diags.items()[0]));
  Status started = engine->StartWorker();
  ASSERT_TRUE(started.ok()) << started.message();

  ASSERT_EQ(engine->rules()->num_pages(), 2u);
  ASSERT_EQ(engine->variant_labels().size(), 3u);
  EXPECT_EQ(engine->variant_labels()[0].first, "/");
  EXPECT_EQ(engine->variant_labels()[0].second, "home-beta");

  Request plain(*engine, "/");
  Decision d = plain.ev->Decide();
  EXPECT_EQ(d.variant, "home");
  EXPECT_EQ(engine->VariantLabel(d), 1u);

  Request beta(*engine, "/", {{"Cookie", "beta=1"}});
  EXPECT_EQ(beta.ev->Decide().variant, "home-beta");
  EXPECT_EQ(beta.ev->Segments(), "beta");
  EXPECT_EQ(beta.ev->Goals(), "");

  Request none(*engine, "/about");
  EXPECT_EQ(none.ev->Decide().page, -1);
  EXPECT_EQ(engine->VariantLabel(none.ev->Decide()), Engine::kNoLabel);
}

TEST(Engine, BotsAndDefaultOnlyGetTheDefault) {
  TempDir dir;
  EngineConfig config;
  config.rules_path = dir.Write("site.rules", R"(
segment all = method == "GET"
page "/" { variant "personal" when all  default "home" }
)");
  Diagnostics diags;
  auto engine = Engine::Create(config, diags);
  ASSERT_TRUE(engine);
  Status started = engine->StartWorker();
  ASSERT_TRUE(started.ok()) << started.message();

  Request human(*engine, "/",
                {{"User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
                                "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"}});
  EXPECT_EQ(human.ev->Decide().variant, "personal");

  Request bot(*engine, "/",
              {{"User-Agent", "Mozilla/5.0 (compatible; Googlebot/2.1; "
                              "+http://www.google.com/bot.html)"}});
  Decision d = bot.ev->Decide();
  EXPECT_EQ(d.variant, "home");
  EXPECT_TRUE(d.is_default);

  Request head(*engine, "/");
  head.options.default_only = true;
  head.ev = std::make_unique<RequestEvaluation>(*engine, head.view, head.options,
                                                head.state.data());
  EXPECT_EQ(head.ev->Decide().variant, "home");
}

TEST(Engine, ExperimentsExposuresAndList) {
  TempDir dir;
  EngineConfig config;
  config.rules_path = dir.Write("site.rules", R"(
experiment hero {
  traffic 100%
  variants { control 50, bold 50 }
}
page "/" { variant "home-bold" when experiment.hero == "bold"  default "home" }
)");
  Diagnostics diags;
  auto engine = Engine::Create(config, diags);
  ASSERT_TRUE(engine) << (diags.items().empty() ? "" : FormatDiagnostic(diags.items()[0]));
  Status started = engine->StartWorker();
  ASSERT_TRUE(started.ok()) << started.message();
  ASSERT_EQ(engine->exposure_labels().size(), 2u);

  int bold = 0, control = 0;
  for (int i = 0; i < 200; ++i) {
    std::string id = "visitor-" + std::to_string(i);
    Request r(*engine, "/", {}, {}, id);
    Decision d = r.ev->Decide();
    size_t ids[4];
    ASSERT_EQ(r.ev->Exposures(ids, 4), 1u) << id;
    std::string_view list = r.ev->ExperimentList();
    if (d.variant == "home-bold") {
      ++bold;
      EXPECT_EQ(list, "hero:bold");
      EXPECT_EQ(engine->exposure_labels()[ids[0]].second, "bold");
    } else {
      ++control;
      EXPECT_EQ(list, "hero:control");
      EXPECT_EQ(engine->exposure_labels()[ids[0]].second, "control");
    }
  }
  EXPECT_GT(bold, 60);
  EXPECT_GT(control, 60);

  // Without consent a visitor-unit experiment does not enrol: no exposure, default served.
  Request anon(*engine, "/", {}, {}, "visitor-7");
  anon.options.consent = false;
  anon.ev = std::make_unique<RequestEvaluation>(*engine, anon.view, anon.options,
                                                anon.state.data());
  EXPECT_EQ(anon.ev->Decide().variant, "home");
  size_t ids[4];
  EXPECT_EQ(anon.ev->Exposures(ids, 4), 0u);
  EXPECT_EQ(anon.ev->ExperimentList(), "");
}

// $tailor_experiment_NAME and $tailor_experiments (docs/canary.md): any experiment is
// readable by index, once per request, and the list is the same whatever was read first.
TEST(Engine, ExperimentVariablesAndOrderIndependentList) {
  TempDir dir;
  EngineConfig config;
  config.rules_path = dir.Write("site.rules", R"(
experiment hero     { traffic 100%  variants { control 50, bold 50 } }
experiment promo    { traffic 100%  variants { a 1, b 1 } }
experiment checkout { variants { stable 90, canary 10 } }
experiment quiet    { variants { on 1 } }
experiment Beta_X   { variants { on 1 } }
segment promo_b = experiment.promo == "b"
page "/" { variant "home-bold" when experiment.hero == "bold"  default "home" }
)");
  Diagnostics diags;
  auto engine = Engine::Create(config, diags);
  ASSERT_TRUE(engine) << (diags.items().empty() ? "" : FormatDiagnostic(diags.items()[0]));
  Status started = engine->StartWorker();
  ASSERT_TRUE(started.ok()) << started.message();

  EXPECT_EQ(engine->ExperimentIndex("checkout"), 2);
  EXPECT_EQ(engine->ExperimentIndex("beta_x"), 4);  // nginx variable names are lower case
  EXPECT_EQ(engine->ExperimentIndex("nope"), -1);
  const int checkout = engine->ExperimentIndex("checkout");
  engine->UseExperimentVariable(checkout);
  engine->UseExperimentVariable(checkout);
  ASSERT_EQ(engine->variable_experiments().size(), 1u);

  int canary = 0;
  for (int i = 0; i < 300; ++i) {
    std::string id = "visitor-" + std::to_string(i);
    // list first
    Request a(*engine, "/", {}, {}, id);
    std::string first(a.ev->ExperimentList());
    std::string segments_a(a.ev->Segments());
    // everything else first
    Request b(*engine, "/", {}, {}, id);
    std::string segments_b(b.ev->Segments());
    std::string variant(b.ev->Experiment(checkout));
    EXPECT_EQ(b.ev->Experiment(checkout), variant);
    b.ev->Decide();
    EXPECT_EQ(std::string(b.ev->ExperimentList()), first) << id;
    EXPECT_EQ(segments_a, segments_b);
    // declaration order; quiet and Beta_X are read by nothing
    std::string want = "hero:" + std::string(a.ev->Decide().variant == "home-bold" ? "bold" : "control") +
                       ",promo:" + (segments_a == "promo_b" ? "b" : "a") + ",checkout:" + variant;
    EXPECT_EQ(first, want) << id;
    canary += variant == "canary";
    // one exposure per experiment, however often it was read
    size_t ids[8];
    EXPECT_EQ(b.ev->Exposures(ids, 8), 3u);
  }
  EXPECT_GT(canary, 10);
  EXPECT_LT(canary, 60);

  // Not enrolled (a bot): empty variant, not listed.
  Request bot(*engine, "/", {{"User-Agent", "Googlebot/2.1 (+http://www.google.com/bot.html)"}});
  EXPECT_EQ(bot.ev->Experiment(checkout), "");
  EXPECT_EQ(bot.ev->ExperimentList(), "");
}

TEST(Engine, TablesThroughTheRules) {
  TempDir dir;
  dir.Write("customers.csv", "id,tier:string,spend:number\nvisitor-1,gold,1200\nvisitor-2,silver,50\n");
  EngineConfig config;
  config.rules_path = dir.Write("site.rules", R"(
table crm = csv("customers.csv", key: id)
segment gold = crm.tier == "gold"
page "/" { variant "vip" when gold  default "home" }
)");
  Diagnostics diags;
  auto engine = Engine::Create(config, diags);
  ASSERT_TRUE(engine) << (diags.items().empty() ? "" : FormatDiagnostic(diags.items()[0]));
  Status started = engine->StartWorker();
  ASSERT_TRUE(started.ok()) << started.message();
  EXPECT_EQ(Request(*engine, "/", {}, {}, "visitor-1").ev->Decide().variant, "vip");
  EXPECT_EQ(Request(*engine, "/", {}, {}, "visitor-2").ev->Decide().variant, "home");
  EXPECT_EQ(Request(*engine, "/", {}, {}, "nobody").ev->Decide().variant, "home");
}

// A hot reload binds the rules' columns by name: a file whose columns moved or gained one
// still gives crm.tier the tier; one that drops a used column is rejected, the old data kept.
TEST(Engine, TableReloadBindsColumnsByName) {
  TempDir dir;
  const std::string csv =
      dir.Write("customers.csv", "id,tier:string,spend:number\nvisitor-1,gold,1200\n");
  EngineConfig config;
  config.tables_reload_ms = 1;
  config.rules_path = dir.Write("site.rules", R"(
table crm = csv("customers.csv", key: id)
segment gold = crm.tier == "gold"
segment big = crm.spend > 1000
page "/" { variant "vip" when gold  variant "big" when big  default "home" }
)");
  Diagnostics diags;
  auto engine = Engine::Create(config, diags);
  ASSERT_TRUE(engine) << (diags.items().empty() ? "" : FormatDiagnostic(diags.items()[0]));
  Status started = engine->StartWorker();
  ASSERT_TRUE(started.ok()) << started.message();
  auto variant = [&](const char* visitor) {
    return std::string(Request(*engine, "/", {}, {}, visitor).ev->Decide().variant);
  };
  // Replaces the file (a new inode) and polls until the reload is reported.
  auto reload = [&](const std::string& text) {
    std::ofstream(csv + ".tmp") << text;
    std::rename((csv + ".tmp").c_str(), csv.c_str());
    for (int i = 0; i < 2000; ++i) {
      auto messages = engine->Poll();
      if (!messages.empty()) return messages[0];
      usleep(1000);
    }
    return Engine::PollMessage{true, "no reload reported"};
  };
  EXPECT_EQ(variant("visitor-1"), "vip");

  Engine::PollMessage m = reload("spend:number,tier:string,id\n1200,gold,visitor-1\n5000,silver,visitor-2\n");
  EXPECT_FALSE(m.error) << m.text;
  EXPECT_EQ(variant("visitor-1"), "vip");
  EXPECT_EQ(variant("visitor-2"), "big");

  m = reload("id,region,spend:number,tier:string\nvisitor-1,eu,1,gold\nvisitor-2,us,1,silver\n");
  EXPECT_FALSE(m.error) << m.text;
  EXPECT_EQ(variant("visitor-1"), "vip");
  EXPECT_EQ(variant("visitor-2"), "home");

  m = reload("id,spend:number\nvisitor-1,1\nvisitor-2,5000\n");  // tier removed
  EXPECT_TRUE(m.error) << m.text;
  EXPECT_NE(m.text.find("column 'tier' was removed"), std::string::npos) << m.text;
  EXPECT_EQ(variant("visitor-1"), "vip");
  EXPECT_EQ(variant("visitor-2"), "home");

  m = reload("id,tier:bool,spend:number\nvisitor-1,true,1\n");  // tier changed type
  EXPECT_TRUE(m.error) << m.text;
  EXPECT_NE(m.text.find("changed type"), std::string::npos) << m.text;
  EXPECT_EQ(variant("visitor-1"), "vip");
}

TEST(Engine, ConfigurationErrorsAreReported) {
  TempDir dir;
  {
    EngineConfig config;
    config.rules_path = dir.path() + "/missing.rules";
    Diagnostics diags;
    EXPECT_FALSE(Engine::Create(config, diags));
    EXPECT_TRUE(diags.has_errors());
  }
  {
    EngineConfig config;
    config.secret_path = dir.Write("short.secret", "too short");
    Diagnostics diags;
    EXPECT_FALSE(Engine::Create(config, diags));
    ASSERT_TRUE(diags.has_errors());
    EXPECT_NE(diags.items()[0].message.find("at least 32"), std::string::npos);
  }
  {
    EngineConfig config;
    config.sources.push_back({"tailor_geoip2", dir.Write("bad.mmdb", "not a database"), {}});
    Diagnostics diags;
    EXPECT_FALSE(Engine::Create(config, diags));
    EXPECT_TRUE(diags.has_errors());
  }
}

}  // namespace
}  // namespace tailor
