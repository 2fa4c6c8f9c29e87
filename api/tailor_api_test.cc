// The C API as the nginx glue drives it: request-time failures reach tailor_eval_errors().
#include "api/tailor.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "experiments/preview_token.h"
#include "signals/visitor_profile.h"

namespace {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/tailor-api-XXXXXX";
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

void Log(void* ctx, int, const char* msg, size_t len) {
  static_cast<std::string*>(ctx)->append(msg, len).append("\n");
}

tailor_str_t S(const std::string& s) { return {s.size(), s.data()}; }

// One request through the C API, as the glue makes it.
struct Request {
  std::vector<std::string> storage;
  std::vector<tailor_header_t> headers;
  tailor_request_t req{};
  std::vector<std::max_align_t> buf;
  tailor_eval_t* ev = nullptr;

  Request(const tailor_engine_t* engine, const std::string& path, const std::string& query,
          std::vector<std::pair<std::string, std::string>> h, int consent = 1) {
    h.emplace_back("User-Agent",
                   "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0");
    storage.reserve(2 * h.size() + 2);
    for (auto& [n, v] : h) {
      storage.push_back(n);
      const std::string& name = storage.back();
      storage.push_back(v);
      headers.push_back({S(name), S(storage.back())});
    }
    storage.push_back(path);
    req.path = S(storage.back());
    storage.push_back(query);
    req.query = S(storage.back());
    req.method = {3, "GET"};
    req.scheme = {4, "http"};
    req.host = {12, "shop.example"};
    req.headers = headers.data();
    req.nheaders = headers.size();
    req.now_ms = 1'800'000'000'000;
    size_t size = tailor_eval_size(engine, headers.size());
    buf.resize(size / sizeof(std::max_align_t) + 1);
    tailor_eval_options_t options{};
    options.visitor_id = {22, "AAAAAAAAAAAAAAAAAAAAAA"};
    options.consent = consent;
    ev = tailor_eval_init(engine, &req, &options, buf.data(), buf.size() * sizeof(buf[0]));
  }
  ~Request() {
    if (ev) tailor_eval_finish(ev);
  }
  std::string Variant() {
    tailor_decision_t d;
    EXPECT_EQ(tailor_eval_decide(ev, &d), 0);
    return std::string(d.variant.data, d.variant.len);
  }
};

// tailor_eval_goals: the goals the request reaches, as $tailor_goals shows them.
TEST(CApi, GoalsText) {
  TempDir dir;
  std::string rules = dir.Write("site.rules", R"(
segment beta = cookie("beta") == "1"
goal order  when path == "/order/done" value query("total")
goal signup when path == "/account/welcome" or beta
goal fixed  when path == "/order/done" value 2.50
)");
  tailor_engine_conf_t conf{};
  conf.rules_path = rules.c_str();
  conf.tables_reload_ms = -1;
  std::string log;
  tailor_engine_t* engine = tailor_engine_create(&conf, Log, &log);
  ASSERT_NE(engine, nullptr) << log;
  ASSERT_EQ(tailor_engine_worker_init(engine, Log, &log), 0) << log;
  auto goals = [&](const std::string& path, const std::string& query,
                   std::vector<std::pair<std::string, std::string>> h = {}) {
    Request r(engine, path, query, std::move(h));
    EXPECT_NE(r.ev, nullptr);
    if (r.ev == nullptr) return std::string("(no evaluation)");
    tailor_str_t out;
    EXPECT_EQ(tailor_eval_goals(r.ev, &out), 0);
    std::string first(out.data, out.len);
    tailor_str_t again;
    EXPECT_EQ(tailor_eval_goals(r.ev, &again), 0);
    EXPECT_EQ(again.data, out.data);  // memoized
    return first;
  };
  EXPECT_EQ(goals("/order/done", "total=12.50"), "order:12.5,fixed:2.5");
  EXPECT_EQ(goals("/order/done", ""), "order,fixed:2.5");
  EXPECT_EQ(goals("/order/done", "total=-3"), "order,fixed:2.5");
  EXPECT_EQ(goals("/order/done", "total=abc", {{"Cookie", "beta=1"}}), "order,signup,fixed:2.5");
  EXPECT_EQ(goals("/account/welcome", ""), "signup");
  EXPECT_EQ(goals("/", ""), "");
  tailor_engine_destroy(engine);
}

// An evaluation that runs out of its scratch arena serves the page's default, and the glue
// counts tailor_errors_total{kind="scratch"}.
TEST(CApi, ScratchExhaustionServesTheDefaultAndIsCounted) {
  EXPECT_STREQ(tailor_error_kind_name(TAILOR_ERR_SCRATCH), "scratch");
  TempDir dir;
  std::string rules = dir.Write("site.rules", R"(
page "/" {
  variant "search"    when query("q") starts_with "x"
  variant "home-beta" when cookie("beta") == "1"
  default "home"
}
)");
  tailor_engine_conf_t conf{};
  conf.rules_path = rules.c_str();
  conf.tables_reload_ms = -1;
  std::string log;
  tailor_engine_t* engine = tailor_engine_create(&conf, Log, &log);
  ASSERT_NE(engine, nullptr) << log;
  ASSERT_EQ(tailor_engine_worker_init(engine, Log, &log), 0) << log;

  {
    Request plain(engine, "/", "q=x%41", {{"Cookie", "beta=1"}});
    ASSERT_NE(plain.ev, nullptr);
    EXPECT_EQ(plain.Variant(), "search");
    EXPECT_EQ(tailor_eval_errors(plain.ev) & (1u << TAILOR_ERR_SCRATCH), 0u);
  }
  {
    // query("q") is percent-decoded into the arena; 12 KB do not fit in it. The rules cannot
    // tell whether "search" was meant, so "home-beta" (the next variant) would be a guess.
    std::string q = "q=x";
    while (q.size() < 12 * 1024) q += "%41";
    Request big(engine, "/", q, {{"Cookie", "beta=1"}});
    ASSERT_NE(big.ev, nullptr);
    EXPECT_EQ(big.Variant(), "home");
    EXPECT_NE(tailor_eval_errors(big.ev) & (1u << TAILOR_ERR_SCRATCH), 0u);
    tailor_decision_t d;
    ASSERT_EQ(tailor_eval_decide(big.ev, &d), 0);
    EXPECT_EQ(d.is_default, 1);
    EXPECT_EQ(d.matched, 1);
  }
  tailor_engine_destroy(engine);
}

// A forged lifecycle value is ignored and counted as tailor_errors_total{kind="lifecycle"}.
TEST(CApi, ForgedLifecycleValueIsCounted) {
  EXPECT_STREQ(tailor_error_kind_name(TAILOR_ERR_LIFECYCLE), "lifecycle");
  TempDir dir;
  const std::string secret = "tailor-api-secret-0123456789abcdef";
  std::string rules = dir.Write("site.rules", R"(
page "/" { variant "loyal" when lifecycle == "repeat_customer"  default "home" }
)");
  std::string secret_path = dir.Write("tailor.secret", secret + "\n");
  const char* orders[] = {"cookie:orders"};
  tailor_engine_conf_t conf{};
  conf.rules_path = rules.c_str();
  conf.secret_path = secret_path.c_str();
  conf.lifecycle_orders = orders;
  conf.nlifecycle_orders = 1;
  conf.tables_reload_ms = -1;
  std::string log;
  tailor_engine_t* engine = tailor_engine_create(&conf, Log, &log);
  ASSERT_NE(engine, nullptr) << log;
  ASSERT_EQ(tailor_engine_worker_init(engine, Log, &log), 0) << log;
  {
    Request forged(engine, "/", "", {{"Cookie", "orders=2"}});
    EXPECT_EQ(forged.Variant(), "home");
    EXPECT_NE(tailor_eval_errors(forged.ev) & (1u << TAILOR_ERR_LIFECYCLE), 0u);
  }
  {
    Request real(engine, "/", "",
                 {{"Cookie", "orders=" + tailor::SignLifecycleValue(secret, "orders", "2")}});
    EXPECT_EQ(real.Variant(), "loyal");
    EXPECT_EQ(tailor_eval_errors(real.ev) & (1u << TAILOR_ERR_LIFECYCLE), 0u);
  }
  tailor_engine_destroy(engine);

  // "unsigned:" trusts the client; a signed source without tailor_secret does not load.
  const char* unsigned_orders[] = {"unsigned:cookie:orders"};
  conf.lifecycle_orders = unsigned_orders;
  engine = tailor_engine_create(&conf, Log, &log);
  ASSERT_NE(engine, nullptr) << log;
  ASSERT_EQ(tailor_engine_worker_init(engine, Log, &log), 0) << log;
  {
    Request trusted(engine, "/", "", {{"Cookie", "orders=2"}});
    EXPECT_EQ(trusted.Variant(), "loyal");
  }
  tailor_engine_destroy(engine);
  conf.lifecycle_orders = orders;
  conf.secret_path = nullptr;
  log.clear();
  EXPECT_EQ(tailor_engine_create(&conf, Log, &log), nullptr);
  EXPECT_NE(log.find("takes values signed with tailor_secret"), std::string::npos) << log;
}

// The evaluation finds the reviewer's preview token itself and tells the glue what it needs
// to set the cookie: the token, whether it came from the query, and its expiry.
TEST(CApi, PreviewTokenIsFoundInTheQueryThenTheCookie) {
  TempDir dir;
  const std::string secret = "tailor-api-secret-0123456789abcdef";
  std::string rules = dir.Write("site.rules", R"(
page "/" { variant "home-bold" when query("never") == "1"  default "home" }
)");
  std::string secret_path = dir.Write("tailor.secret", secret + "\n");
  tailor_engine_conf_t conf{};
  conf.rules_path = rules.c_str();
  conf.secret_path = secret_path.c_str();
  conf.tables_reload_ms = -1;
  std::string log;
  tailor_engine_t* engine = tailor_engine_create(&conf, Log, &log);
  ASSERT_NE(engine, nullptr) << log;
  ASSERT_EQ(tailor_engine_worker_init(engine, Log, &log), 0) << log;
  const int64_t expires = 1'800'000'000 + 3600;  // the requests' clock plus an hour
  auto made = tailor::MakePreviewToken(tailor::DerivePreviewKey(secret), {}, "home-bold",
                                       expires);
  ASSERT_TRUE(made.ok());
  const std::string token = made.value();
  tailor_preview_t p;
  {
    Request r(engine, "/", "a=1&tailor_preview=" + token,
              {{"Cookie", "tailor_preview=garbage"}}, /*consent=*/0);
    EXPECT_EQ(tailor_eval_preview(r.ev, &p), 1);
    EXPECT_EQ(std::string(p.token.data, p.token.len), token);
    EXPECT_EQ(p.from_query, 1);
    EXPECT_EQ(p.expires_s, expires);
    EXPECT_EQ(r.Variant(), "home-bold");
  }
  {
    Request r(engine, "/", "", {{"Cookie", std::string(TAILOR_PREVIEW_NAME) + "=" + token}});
    EXPECT_EQ(tailor_eval_preview(r.ev, &p), 1);
    EXPECT_EQ(std::string(p.token.data, p.token.len), token);
    EXPECT_EQ(p.from_query, 0);
    EXPECT_EQ(r.Variant(), "home-bold");
  }
  {
    // without consent the cookie is not read
    Request r(engine, "/", "", {{"Cookie", "tailor_preview=" + token}}, /*consent=*/0);
    EXPECT_EQ(tailor_eval_preview(r.ev, &p), 0);
    EXPECT_EQ(p.token.len, 0u);
    EXPECT_EQ(r.Variant(), "home");
  }
  {
    Request r(engine, "/", "tailor_preview=garbage", {});
    EXPECT_EQ(tailor_eval_preview(r.ev, &p), -1);
    EXPECT_EQ(std::string(p.token.data, p.token.len), "garbage");
    EXPECT_EQ(p.from_query, 1);
    EXPECT_EQ(p.expires_s, 0);
    EXPECT_NE(tailor_eval_errors(r.ev) & (1u << TAILOR_ERR_PREVIEW), 0u);
    EXPECT_EQ(r.Variant(), "home");
  }
  tailor_engine_destroy(engine);
}

}  // namespace
