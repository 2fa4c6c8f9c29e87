#include <gtest/gtest.h>

#include "core/signal_registry.h"

namespace tailor {
namespace {

struct Fixture {
  HeaderField headers[2] = {{"X-Beta", "yes"}, {"Cookie", "beta=1; name=J%C3%A9r%C3%B4me"}};
  RequestView rv;
  Services services;
  alignas(16) char arena_buf[256];
  Arena arena{arena_buf, sizeof arena_buf};
  alignas(16) char memo_buf[64] = {};
  RequestMemo memo{memo_buf, sizeof memo_buf};
  Fixture() {
    rv.method = "GET";
    rv.host = "example.com";
    rv.path = "/shop/shoes";
    rv.query = "utm_medium=e%6Dail&q=red+shoes";
    rv.headers = headers;
  }
  Value Eval(std::string_view name, std::string_view arg = {}) {
    const SignalDef* def = SignalRegistry::Builtin().Find(name);
    EXPECT_NE(def, nullptr) << name;
    EvalEnv env{rv, services, arena, memo};
    SignalArgs args;
    args.str = arg;
    return def->fn(args, env);
  }
};

TEST(RequestSignals, ReadTheRequest) {
  Fixture f;
  EXPECT_EQ(f.Eval("query", "utm_medium").str, "email");
  EXPECT_EQ(f.Eval("query", "q").str, "red shoes");
  EXPECT_TRUE(f.Eval("query", "none").missing());
  EXPECT_EQ(f.Eval("header", "x-beta").str, "yes");
  EXPECT_TRUE(f.Eval("header", "x-gamma").missing());
  EXPECT_EQ(f.Eval("cookie", "name").str, "J\xC3\xA9r\xC3\xB4me");
  EXPECT_EQ(f.Eval("path").str, "/shop/shoes");
  EXPECT_EQ(f.Eval("host").str, "example.com");
  EXPECT_EQ(f.Eval("method").str, "GET");
}

TEST(SignalRegistry, UnknownAndTypes) {
  const SignalRegistry& r = SignalRegistry::Builtin();
  EXPECT_EQ(r.Find("nonexistent"), nullptr);
  ASSERT_NE(r.Find("header"), nullptr);
  EXPECT_EQ(r.Find("header")->arg, SignalArg::kString);
  EXPECT_EQ(r.Find("path")->arg, SignalArg::kNone);
}

}  // namespace
}  // namespace tailor
