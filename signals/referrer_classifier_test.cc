#include "signals/referrer_classifier.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "signals/referrer_signals.h"

namespace tailor {
namespace {

struct Classified {
  std::string medium, source, term;
  bool campaign = false;
};

Classified Cls(const ReferrerClassifier& c, std::string_view referer,
               std::string_view query = {}, std::string_view host = "shop.example.com",
               std::span<const std::string_view> own = {}) {
  alignas(16) char buf[2048];
  Arena arena(buf, sizeof buf);
  ReferrerResult r = c.Classify(referer, host, query, own, arena);
  return {std::string(MediumName(r.medium)), std::string(r.source), std::string(r.term),
          r.from_campaign};
}

TEST(ReferrerClassifier, DirectAndInternal) {
  ReferrerClassifier c;
  EXPECT_EQ(Cls(c, "").medium, "direct");
  EXPECT_EQ(Cls(c, "   ").medium, "direct");
  EXPECT_EQ(Cls(c, "https://shop.example.com/cart").medium, "internal");
  EXPECT_EQ(Cls(c, "https://SHOP.Example.com:8443/cart").medium, "internal");
  EXPECT_EQ(Cls(c, "https://www.shop.example.com/").medium, "internal");  // www-insensitive
  std::string_view own[] = {"example.com", ".example.net"};
  EXPECT_EQ(Cls(c, "https://blog.example.com/post", {}, "shop.example.com", own).medium,
            "internal");
  EXPECT_EQ(Cls(c, "https://example.net/", {}, "shop.example.com", own).medium, "internal");
  EXPECT_EQ(Cls(c, "https://notexample.com/", {}, "shop.example.com", own).medium, "unknown");
  EXPECT_TRUE(Cls(c, "https://shop.example.com/").source.empty());
}

TEST(ReferrerClassifier, SearchEnginesWithTerms) {
  ReferrerClassifier c;
  auto g = Cls(c, "https://www.google.com/search?q=red+running+shoes&hl=en");
  EXPECT_EQ(g.medium, "search");
  EXPECT_EQ(g.source, "google");
  EXPECT_EQ(g.term, "red running shoes");
  auto uk = Cls(c, "https://www.google.co.uk/");
  EXPECT_EQ(uk.medium, "search");
  EXPECT_EQ(uk.source, "google");
  EXPECT_EQ(uk.term, "");
  EXPECT_EQ(Cls(c, "https://www.google.com.br/url?q=x").source, "google");
  EXPECT_EQ(Cls(c, "https://www.bing.com/search?q=caf%C3%A9").term, "caf\xC3\xA9");
  auto y = Cls(c, "https://search.yahoo.com/search?p=hiking+boots");
  EXPECT_EQ(y.source, "yahoo");
  EXPECT_EQ(y.term, "hiking boots");
  EXPECT_EQ(Cls(c, "https://duckduckgo.com/").source, "duckduckgo");
  EXPECT_EQ(Cls(c, "https://yandex.ru/search/?text=boots").term, "boots");
  EXPECT_EQ(Cls(c, "https://www.baidu.com/s?wd=abc").term, "abc");
  EXPECT_EQ(Cls(c, "android-app://com.google.android.googlequicksearchbox/").source, "google");
}

TEST(ReferrerClassifier, EveryMediumFromRealReferrers) {
  ReferrerClassifier c;
  struct Case {
    const char* referer;
    const char* medium;
    const char* source;
  } cases[] = {
      {"https://www.facebook.com/", "social", "facebook"},
      {"https://l.facebook.com/l.php?u=https%3A%2F%2Fshop.example.com", "social", "facebook"},
      {"https://lm.facebook.com/", "social", "facebook"},
      {"https://t.co/AbCdEf", "social", "twitter"},
      {"https://www.linkedin.com/feed/", "social", "linkedin"},
      {"https://www.reddit.com/r/running/", "social", "reddit"},
      {"https://out.reddit.com/t3_abc", "social", "reddit"},
      {"https://www.youtube.com/", "social", "youtube"},
      {"https://www.instagram.com/", "social", "instagram"},
      {"https://pinterest.co.uk/pin/1", "social", "pinterest"},
      {"https://mail.google.com/", "email", "gmail"},
      {"https://outlook.live.com/", "email", "outlook"},
      {"https://mail.yahoo.com/d/folders/1", "email", "yahoo-mail"},
      {"android-app://com.google.android.gm", "email", "gmail"},
      {"https://www.linkedin.com/jobs/view/123", "jobs", "linkedin"},
      {"https://de.indeed.com/viewjob?jk=1", "jobs", "indeed"},
      {"https://www.indeed.co.uk/", "jobs", "indeed"},
      {"https://www.glassdoor.com/Job/", "jobs", "glassdoor"},
      {"https://jobs.lever.co/example", "jobs", "lever"},
      {"https://chatgpt.com/", "chatbot", "chatgpt"},
      {"https://chat.openai.com/c/1", "chatbot", "chatgpt"},
      {"https://claude.ai/chat/1", "chatbot", "claude"},
      {"https://gemini.google.com/app", "chatbot", "gemini"},
      {"https://www.perplexity.ai/search?q=1", "chatbot", "perplexity"},
      {"https://copilot.microsoft.com/", "chatbot", "copilot"},
      {"https://www.googleadservices.com/pagead/aclk?sa=L", "paid", "google"},
      {"https://ad.doubleclick.net/ddm/clk/1", "display", "google"},
      {"https://trc.taboola.com/", "display", "taboola"},
      {"https://www.awin1.com/cread.php?a=1", "affiliate", "awin"},
      {"https://click.linksynergy.com/", "affiliate", "rakuten"},
      {"https://blog.someone.org/post/1", "unknown", "blog.someone.org"},
      {"https://www.Random-Site.COM/", "unknown", "random-site.com"},
  };
  for (const Case& k : cases) {
    auto r = Cls(c, k.referer);
    EXPECT_EQ(r.medium, k.medium) << k.referer;
    EXPECT_EQ(r.source, k.source) << k.referer;
  }
}

TEST(ReferrerClassifier, CampaignParametersWin) {
  ReferrerClassifier c;
  auto a = Cls(c, "https://www.google.com/", "utm_source=Newsletter&utm_medium=email&utm_campaign=x");
  EXPECT_EQ(a.medium, "email");
  EXPECT_EQ(a.source, "newsletter");
  EXPECT_TRUE(a.campaign);
  EXPECT_EQ(Cls(c, "", "utm_medium=cpc&utm_source=google").medium, "paid");
  EXPECT_EQ(Cls(c, "", "utm_medium=Paid_Social&utm_source=fb").medium, "paid");
  EXPECT_EQ(Cls(c, "", "utm_medium=banner").medium, "display");
  EXPECT_EQ(Cls(c, "", "utm_medium=affiliate").medium, "affiliate");
  EXPECT_EQ(Cls(c, "", "utm_medium=social").medium, "social");
  EXPECT_EQ(Cls(c, "", "utm_medium=whatever").medium, "unknown");
  EXPECT_EQ(Cls(c, "", "utm_medium=cpc&utm_term=red+shoes").term, "red shoes");
  // Click IDs: paid, with the ad network as source.
  struct {
    const char* query;
    const char* source;
  } clicks[] = {{"gclid=abc", "google"},       {"gbraid=1", "google"},
                {"wbraid=1", "google"},        {"dclid=1", "google"},
                {"msclkid=1", "microsoft"},    {"fbclid=IwAR0", "facebook"},
                {"ttclid=1", "tiktok"},        {"li_fat_id=1", "linkedin"},
                {"twclid=1", "twitter"}};
  for (auto& k : clicks) {
    auto r = Cls(c, "https://www.facebook.com/", std::string("x=1&") + k.query);
    EXPECT_EQ(r.medium, "paid") << k.query;
    EXPECT_EQ(r.source, k.source) << k.query;
  }
  // An empty click ID is no click ID.
  EXPECT_EQ(Cls(c, "https://www.facebook.com/", "gclid=").medium, "social");
  // utm_medium beats a click ID.
  EXPECT_EQ(Cls(c, "", "gclid=1&utm_medium=email&utm_source=crm").medium, "email");
  // utm_source alone names the source, keeps the referrer's medium.
  auto s = Cls(c, "https://www.facebook.com/", "utm_source=spring");
  EXPECT_EQ(s.medium, "social");
  EXPECT_EQ(s.source, "spring");
  EXPECT_EQ(Cls(c, "", "utm_source=spring").medium, "unknown");
}

TEST(ReferrerClassifier, CampaignParams) {
  alignas(16) char buf[512];
  Arena arena(buf, sizeof buf);
  CampaignParams p = ParseCampaignParams(
      "utm_source=news%20letter&utm_medium=email&utm_campaign=spring+sale&utm_term=a&"
      "utm_content=hero&utm_source=second&gclid=1",
      arena);
  EXPECT_EQ(p.source, "news letter");
  EXPECT_EQ(p.medium, "email");
  EXPECT_EQ(p.campaign, "spring sale");
  EXPECT_EQ(p.term, "a");
  EXPECT_EQ(p.content, "hero");
  EXPECT_EQ(p.click_id, "gclid");
}

TEST(ReferrerClassifier, HostileInput) {
  ReferrerClassifier c;
  std::string huge = "https://" + std::string(10000, 'a') + ".com/";
  EXPECT_EQ(Cls(c, huge).medium, "unknown");
  EXPECT_EQ(Cls(c, huge).source, "");
  std::string long_term = "https://www.google.com/search?q=" + std::string(10000, 'x');
  EXPECT_LE(Cls(c, long_term).term.size(), 256u);
  EXPECT_EQ(Cls(c, "not a url").medium, "unknown");
  EXPECT_EQ(Cls(c, "://").medium, "unknown");
  EXPECT_EQ(Cls(c, "https://").medium, "unknown");
  EXPECT_EQ(Cls(c, "https://[::1").medium, "unknown");
  EXPECT_EQ(Cls(c, "https://user:pw@www.google.com/?q=a").source, "google");
  EXPECT_EQ(Cls(c, "https://www.google.com./?q=%zz%4").term, "%zz%4");
  EXPECT_EQ(Cls(c, "https://\xff\xfe.com/").medium, "unknown");
  std::string bad_utf8_term = "https://www.google.com/search?q=%C3%28%FF";
  EXPECT_EQ(Cls(c, bad_utf8_term).medium, "search");
  // A full arena: strings stay empty, nothing crashes.
  Arena tiny(nullptr, 0);
  ReferrerResult r = c.Classify("https://unknown.org/?q=1", "x", "utm_source=abc", {}, tiny);
  EXPECT_EQ(r.source, "");
}

TEST(ReferrerClassifier, SplitUrl) {
  UrlParts u = SplitUrl("https://user@Example.com:8080/a/b?x=1#frag");
  ASSERT_TRUE(u.ok);
  EXPECT_EQ(u.host, "Example.com");
  EXPECT_EQ(u.path, "/a/b");
  EXPECT_EQ(u.query, "x=1");
  EXPECT_FALSE(SplitUrl("example.com/path").ok);
  EXPECT_FALSE(SplitUrl("ht tp://x").ok);
}

TEST(ReferrerClassifier, YamlDatabaseText) {
  ReferrerClassifier c;
  Diagnostics d;
  const char* yaml =
      "# comment\n"
      "search:\n"
      "  Example Search:\n"
      "    parameters:\n"
      "      - query\n"
      "    domains:\n"
      "      - search.example.org\n"
      "      - example.org/find\n"
      "social:\n"
      "  Google:   # overrides the built-in search entry for google.com\n"
      "    domains:\n"
      "      - google.com\n";
  ASSERT_TRUE(c.LoadDatabaseText(yaml, "test.yml", d)) << FormatDiagnostic(d.items()[0]);
  auto r = Cls(c, "https://search.example.org/?query=kites");
  EXPECT_EQ(r.medium, "search");
  EXPECT_EQ(r.source, "example-search");
  EXPECT_EQ(r.term, "kites");
  EXPECT_EQ(Cls(c, "https://example.org/find/x").medium, "search");
  EXPECT_EQ(Cls(c, "https://example.org/other").medium, "unknown");
  EXPECT_EQ(Cls(c, "https://google.com/").medium, "social");
  // Other Google hosts still use the built-in knowledge.
  EXPECT_EQ(Cls(c, "https://www.google.de/").medium, "search");
}

TEST(ReferrerClassifier, YamlDatabaseErrors) {
  ReferrerClassifier c;
  Diagnostics d;
  EXPECT_FALSE(c.LoadDatabaseText("sideways:\n  X:\n    domains:\n      - x.com\n", "bad.yml", d));
  ASSERT_EQ(d.error_count(), 1u);
  EXPECT_EQ(d.items()[0].line, 1);
  EXPECT_NE(d.items()[0].message.find("unknown medium"), std::string::npos);
  Diagnostics d2;
  EXPECT_FALSE(c.LoadDatabaseText("search:\n  - stray\n", "bad.yml", d2));
  EXPECT_EQ(d2.items()[0].line, 2);
  Diagnostics d3;
  EXPECT_FALSE(c.LoadDatabaseFile("/nonexistent/referers.yml", d3));
  EXPECT_EQ(d3.error_count(), 1u);
}

TEST(ReferrerClassifier, SharedRefererParserDatabase) {
  std::string path = std::string(TAILOR_SOURCE_DIR) + "/../shared/data/referers/referers.yml";
  if (!std::ifstream(path)) GTEST_SKIP() << "no " << path;
  ReferrerClassifier c;
  size_t builtin = c.host_count();
  Diagnostics d;
  ASSERT_TRUE(c.LoadDatabaseFile(path, d))
      << (d.items().empty() ? "" : FormatDiagnostic(d.items()[0]));
  EXPECT_GT(c.host_count(), builtin + 1000);
  EXPECT_EQ(Cls(c, "https://www.google.com/search?q=a").medium, "search");
  EXPECT_EQ(Cls(c, "https://mail.126.com/").medium, "email");
  EXPECT_EQ(Cls(c, "https://poe.com/").medium, "chatbot");
  EXPECT_EQ(Cls(c, "https://adnxs.com/").medium, "paid");  // the database's own medium
  EXPECT_EQ(Cls(c, "https://www.bing.com/images/search?q=cat").medium, "search");
  EXPECT_EQ(Cls(c, "https://maps.yandex.ru/").medium, "unknown");
  EXPECT_EQ(Cls(c, "https://maps.yandex.ru/").source, "yandex-maps");
}

// referers.yml read through libyaml gives what the hand-written reader it replaced gave
// (every entry compared when the reader changed): the same number of hosts, and the first and
// last source of each section, path prefixes and search-term parameters as before. One
// difference, a fix: "Walhello :" is the source "walhello" (YAML drops the space before the
// ':'; the old reader kept it, giving "walhello-").
TEST(ReferrerClassifier, SharedRefererParserDatabaseEntries) {
  std::string path = std::string(TAILOR_SOURCE_DIR) + "/../shared/data/referers/referers.yml";
  if (!std::ifstream(path)) GTEST_SKIP() << "no " << path;
  ReferrerClassifier c;
  Diagnostics d;
  ASSERT_TRUE(c.LoadDatabaseFile(path, d))
      << (d.items().empty() ? "" : FormatDiagnostic(d.items()[0]));
  EXPECT_TRUE(d.items().empty());
  EXPECT_EQ(c.host_count(), 2665u);  // 159 built-in (some replaced) + 2506 from the file
  struct Sample {
    const char* referer;
    const char* medium;
    const char* source;
    const char* term;
  };
  const Sample samples[] = {
      {"https://support.google.com/", "unknown", "google", ""},
      {"https://n.maps.yandex.ru/?text=kiev", "unknown", "yandex-maps", "kiev"},
      {"https://mail.126.com/", "email", "126-mail", ""},
      {"https://orange.fr/webmail/inbox", "email", "orange-webmail", ""},
      {"https://mail.zoho.com/", "email", "zoho", ""},
      {"https://facebook.com/", "social", "facebook", ""},
      {"https://lm.workplace.com/", "social", "workplace", ""},
      {"https://1.cz/?q=kolo", "search", "1.cz", "kolo"},
      {"https://www.bing.com/images/search?Q=cat", "search", "bing-images", "cat"},
      {"https://apollo.lv/portal/search/?q=riga", "search", "apollo-latvia", "riga"},
      {"https://www.walhello.com/?key=x", "search", "walhello", "x"},
      {"https://zoohoo.cz/", "search", "zoohoo", ""},
      {"https://acuityplatform.com/", "paid", "acuity-ads", ""},
      {"https://z1.zedo.com/", "paid", "zedo", ""},
      {"https://character.ai/", "chatbot", "character.ai", ""},
      {"https://poe.com/", "chatbot", "poe", ""},
  };
  for (const Sample& s : samples) {
    Classified r = Cls(c, s.referer);
    EXPECT_EQ(r.medium, s.medium) << s.referer;
    EXPECT_EQ(r.source, s.source) << s.referer;
    EXPECT_EQ(r.term, s.term) << s.referer;
  }
}

// Malformed YAML: libyaml's message at its line and column; a structure that is not a
// database: the node's line and column; an unknown key: a warning, the source still counts.
TEST(ReferrerClassifier, YamlDatabaseDiagnostics) {
  struct Case {
    const char* yaml;
    int line, column;
    const char* message;  // the last diagnostic's message starts with this
  };
  const Case cases[] = {
      {"search:\n\tA:\n", 2, 1, "YAML: "},
      {"search:\n  A:\n    domains:\n      - [x.com\n", 5, 1, "YAML: "},
      {"search:\n  A:\n    domains:\n      - a example\n", 4, 9, "not a host name"},
  };
  for (const Case& k : cases) {
    ReferrerClassifier c;
    Diagnostics d;
    EXPECT_FALSE(c.LoadDatabaseText(k.yaml, "f.yml", d)) << k.yaml;
    ASSERT_FALSE(d.items().empty()) << k.yaml;
    const Diagnostic& last = d.items().back();
    EXPECT_EQ(last.line, k.line) << k.yaml;
    EXPECT_EQ(last.column, k.column) << k.yaml;
    EXPECT_EQ(last.message.rfind(k.message, 0), 0u) << last.message;
    EXPECT_EQ(last.source_line, SourceLine(k.yaml, k.line)) << k.yaml;
  }
  ReferrerClassifier c;
  Diagnostics d;
  EXPECT_TRUE(c.LoadDatabaseText(
      "search:\n  A:\n    colour: red\n    domains: [a.example]\n", "f.yml", d));
  ASSERT_EQ(d.items().size(), 1u);
  EXPECT_EQ(d.items()[0].severity, Severity::kWarning);
  EXPECT_EQ(d.items()[0].line, 3);
  EXPECT_EQ(Cls(c, "https://a.example/").medium, "search");
}

TEST(ReferrerSignals, ThroughTheRegistry) {
  ReferrerClassifier c;
  HeaderField headers[] = {{"Referer", "https://www.bing.com/search?q=trail+shoes"}};
  RequestView rv;
  rv.host = "shop.example.com";
  rv.query = "utm_campaign=spring&utm_content=hero";
  rv.headers = headers;
  Services services;
  alignas(16) char arena_buf[1024];
  Arena arena(arena_buf, sizeof arena_buf);
  std::vector<char> memo_buf(SignalRegistry::Builtin().memo_size() + 64, 0);
  RequestMemo memo(memo_buf.data(), memo_buf.size());
  EvalEnv env{rv, services, arena, memo};
  auto eval = [&](const char* name) {
    const SignalDef* def = SignalRegistry::Builtin().Find(name);
    EXPECT_NE(def, nullptr) << name;
    return def->fn(SignalArgs{}, env);
  };
  EXPECT_TRUE(eval("referrer.medium").missing());  // no classifier configured
  EXPECT_EQ(eval("campaign.campaign").str, "spring");
  std::fill(memo_buf.begin(), memo_buf.end(), 0);
  services.referrer = &c;
  EXPECT_EQ(eval("referrer.medium").str, "search");
  EXPECT_EQ(eval("referrer.source").str, "bing");
  EXPECT_EQ(eval("referrer.term").str, "trail shoes");
  EXPECT_EQ(eval("campaign.content").str, "hero");
  EXPECT_TRUE(eval("campaign.source").missing());
  size_t used = arena.used();
  EXPECT_EQ(eval("referrer.term").str, "trail shoes");  // memoized: no second decode
  EXPECT_EQ(arena.used(), used);
}

}  // namespace
}  // namespace tailor
