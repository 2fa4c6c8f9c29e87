#include "signals/language.h"

#include <gtest/gtest.h>

#include <string>

namespace tailor {
namespace {

std::unique_ptr<LanguageMatcher> Make(std::vector<std::string> langs, std::string def = {}) {
  auto m = LanguageMatcher::Create(std::move(langs), std::move(def));
  EXPECT_TRUE(m.ok()) << m.status().message();
  return std::move(m).value();
}

TEST(LanguageMatcher, Rfc4647Lookup) {
  auto m = Make({"fr", "en", "de", "pt-BR"}, "en");
  EXPECT_EQ(m->Match("fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5"), "fr");
  EXPECT_EQ(m->Match("de-DE"), "de");                // truncation: de-DE -> de
  EXPECT_EQ(m->Match("en-Latn-US-x-private"), "en");  // drops the private-use singleton too
  EXPECT_EQ(m->Match("pt-BR"), "pt-BR");
  EXPECT_EQ(m->Match("PT-br"), "pt-BR");              // case-insensitive, answer as configured
  EXPECT_EQ(m->Match("pt"), "en");                    // lookup never widens pt -> pt-BR
  EXPECT_EQ(m->Match("ja, it"), "en");                // default
  EXPECT_EQ(m->Match(""), "en");
}

TEST(LanguageMatcher, QValuesHonoured) {
  auto m = Make({"fr", "en", "de"});
  EXPECT_EQ(m->Match("en;q=0.5, de;q=0.9"), "de");
  EXPECT_EQ(m->Match("en;q=0.5, de;q=0.5"), "en");  // ties keep header order
  EXPECT_EQ(m->Match("de;q=0, en;q=0.1"), "en");    // q=0: not acceptable
  EXPECT_EQ(m->Match("de;q=1.0, en"), "de");
  EXPECT_EQ(m->Match("de;q=0.001, fr;q=0.01"), "fr");
  EXPECT_EQ(m->Match("de;q=2, en;q=abc, fr"), "fr");  // malformed q: range skipped
  EXPECT_EQ(m->Match("*"), "");                      // no default configured: no answer
}

TEST(LanguageMatcher, HostileHeaders) {
  auto m = Make({"fr", "en"});
  std::string many;
  for (int i = 0; i < 2000; ++i) many += "xx-YY;q=0.5, ";
  many += "fr";
  EXPECT_EQ(m->Match(many), "");  // only the first 32 ranges count
  EXPECT_EQ(m->Match(std::string(10240, ',')), "");
  EXPECT_EQ(m->Match("\xff\xfe;q=1, en"), "en");
  EXPECT_EQ(m->Match(";;;,,,=;q="), "");
  EXPECT_EQ(m->Match(std::string(10000, 'a')), "");
}

TEST(LanguageMatcher, ConfigChecks) {
  EXPECT_FALSE(LanguageMatcher::Create({}).ok());
  EXPECT_FALSE(LanguageMatcher::Create({"fr", "en us"}).ok());
  EXPECT_FALSE(LanguageMatcher::Create({"toolongsubtag"}).ok());
  EXPECT_FALSE(LanguageMatcher::Create({"fr"}, "-").ok());
}

}  // namespace
}  // namespace tailor
