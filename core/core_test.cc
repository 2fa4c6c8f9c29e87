#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <new>
#include <set>
#include <stdexcept>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <string>

#include "core/arena.h"
#include "core/crypto.h"
#include "core/diagnostic.h"
#include "core/file.h"
#include "core/reloader.h"
#include "core/request_view.h"
#include "core/text.h"
#include "core/time.h"

namespace tailor {
namespace {

TEST(Text, CaseInsensitive) {
  EXPECT_TRUE(EqualsIgnoreCase("User-Agent", "user-agent"));
  EXPECT_FALSE(EqualsIgnoreCase("User-Agent", "user-agen"));
  EXPECT_TRUE(StartsWithIgnoreCase("Mozilla/5.0", "mozilla"));
  EXPECT_TRUE(EndsWithIgnoreCase("a.GOOGLE.com", ".google.COM"));
  EXPECT_TRUE(ContainsIgnoreCase("Mozilla (iPhone; CPU)", "iphone"));
  EXPECT_FALSE(ContainsIgnoreCase("Mozilla", "iphone"));
}

TEST(Time, DaysFromCivil) {
  EXPECT_EQ(DaysFromCivil(1970, 1, 1), 0);
  EXPECT_EQ(DaysFromCivil(1969, 12, 31), -1);
  EXPECT_EQ(DaysFromCivil(2000, 3, 1), 11017);
  EXPECT_EQ(DaysFromCivil(0, 1, 1), -719528);
  EXPECT_EQ(DaysFromCivil(2026, 2, 31), DaysFromCivil(2026, 3, 3));  // past the month's end
  // Counted day by day over four centuries, leap years and month ends included.
  int64_t expected = DaysFromCivil(1900, 1, 1);
  for (int y = 1900; y < 2300; ++y) {
    const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    const unsigned kLength[] = {31, leap ? 29u : 28u, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    for (unsigned m = 1; m <= 12; ++m)
      for (unsigned d = 1; d <= kLength[m - 1]; ++d)
        ASSERT_EQ(DaysFromCivil(y, m, d), expected++) << y << "-" << m << "-" << d;
  }
}

TEST(Time, ParseFixedDigits) {
  int v = -1;
  EXPECT_TRUE(ParseFixedDigits("x2026-", 1, 4, &v));
  EXPECT_EQ(v, 2026);
  EXPECT_FALSE(ParseFixedDigits("x20a6", 1, 4, &v));
  EXPECT_FALSE(ParseFixedDigits("x202", 1, 4, &v));
  EXPECT_FALSE(ParseFixedDigits("x", 5, 1, &v));
}

TEST(File, ReadFileLimited) {
  const std::string path = ::testing::TempDir() + "/read-file-" + std::to_string(getpid());
  { std::ofstream(path) << "0123456789"; }
  Result<std::string> read = ReadFileLimited(path, 10);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read.value(), "0123456789");
  FileReadFailure why;
  read = ReadFileLimited(path, 9, &why);
  EXPECT_FALSE(read.ok());
  EXPECT_EQ(why.kind, FileReadFailure::Kind::kTooLarge);
  EXPECT_EQ(read.status().message(), path + " is larger than 9 bytes");
  read = ReadFileLimited(path + ".missing", 10, &why);
  EXPECT_EQ(why.kind, FileReadFailure::Kind::kCannotOpen);
  EXPECT_EQ(why.error_number, ENOENT);
  EXPECT_EQ(read.status().message(),
            "cannot read " + path + ".missing: " + std::strerror(ENOENT));
  read = ReadFileLimited(::testing::TempDir(), 10, &why);
  EXPECT_EQ(why.kind, FileReadFailure::Kind::kIsDirectory);
  // Not a regular file: the limit holds while reading.
  read = ReadFileLimited("/dev/zero", 100000, &why);
  EXPECT_EQ(why.kind, FileReadFailure::Kind::kTooLarge);
  std::remove(path.c_str());
}

TEST(Text, PercentDecode) {
  char buf[64];
  Arena arena(buf, sizeof buf);
  EXPECT_EQ(*PercentDecode("a%20b+c", arena), "a b c");
  EXPECT_EQ(*PercentDecode("plain", arena), "plain");
  EXPECT_EQ(*PercentDecode("bad%zz%4", arena), "bad%zz%4");
  EXPECT_EQ(*PercentDecode("a+b", arena, false), "a+b");
  char tiny[2];
  Arena small(tiny, sizeof tiny);
  EXPECT_FALSE(PercentDecode("%41%42%43", small).has_value());
}

TEST(Arena, FailsWhenFull) {
  alignas(16) char buf[32];
  Arena arena(buf, sizeof buf);
  EXPECT_NE(arena.Allocate(16, 8), nullptr);
  EXPECT_NE(arena.Allocate(16, 8), nullptr);
  EXPECT_EQ(arena.Allocate(1, 1), nullptr);
}

TEST(RequestView, HeadersCookiesQuery) {
  HeaderField headers[] = {{"Host", "example.com"},
                           {"Cookie", "a=1; beta=1 ; tailor_id=xyz"},
                           {"cookie", "late=2"},
                           {"X-Beta", "yes"}};
  RequestView rv;
  rv.headers = headers;
  rv.query = "utm_medium=email&flag&x=%41";
  EXPECT_EQ(rv.FindHeader("x-beta").value(), "yes");
  EXPECT_FALSE(rv.FindHeader("x-missing").has_value());
  EXPECT_EQ(rv.FindCookie("beta").value(), "1");
  EXPECT_EQ(rv.FindCookie("late").value(), "2");
  EXPECT_EQ(rv.FindCookie("tailor_id").value(), "xyz");
  EXPECT_FALSE(rv.FindCookie("Beta").has_value());
  EXPECT_EQ(rv.FindQueryParam("utm_medium").value(), "email");
  EXPECT_EQ(rv.FindQueryParam("flag").value(), "");
  EXPECT_EQ(rv.FindQueryParam("x").value(), "%41");
  EXPECT_FALSE(rv.FindQueryParam("utm").has_value());
  EXPECT_EQ(FindQueryParamIn("a=1&&b=2&a=3", "a").value(), "1");
  EXPECT_EQ(FindQueryParamIn("a=1&&b=2&a=3", "b").value(), "2");
  EXPECT_FALSE(FindQueryParamIn("", "a").has_value());
  // Hidden cookies (Tailor's own, without consent) are not found; the others still are.
  rv.hidden_cookies[0] = "tailor_id";
  EXPECT_FALSE(rv.FindCookie("tailor_id").has_value());
  EXPECT_EQ(rv.FindCookie("beta").value(), "1");
  CookieJar jar;
  rv.cookie_jar = &jar;
  EXPECT_FALSE(rv.FindCookie("tailor_id").has_value());
  EXPECT_EQ(rv.FindCookie("late").value(), "2");
}

// The cookie jar answers exactly what rescanning answers: first occurrence across headers,
// trimmed names and values, empty names and values, and more cookies than the jar holds.
TEST(RequestView, CookieJarMatchesRescan) {
  std::string many;
  for (int i = 0; i < 40; ++i) many += "c" + std::to_string(i) + "=" + std::to_string(i) + "; ";
  many += "dup=late";
  HeaderField headers[] = {{"Cookie", "a=1;  b = two ; =empty; flag; dup=first; a=again"},
                           {"Referer", "x=y"},
                           {"COOKIE", many},
                           {"Cookie", "tail=end; c39=shadowed"}};
  RequestView plain;
  plain.headers = headers;
  CookieJar jar;
  RequestView indexed = plain;
  indexed.cookie_jar = &jar;
  const char* names[] = {"a", "b", "", "flag", "dup", "c0", "c31", "c32", "c39", "tail",
                         "x", "missing", "A", "c1 "};
  for (int pass = 0; pass < 2; ++pass)
    for (const char* n : names) EXPECT_EQ(indexed.FindCookie(n), plain.FindCookie(n)) << n;
  EXPECT_TRUE(jar.parsed);
  EXPECT_TRUE(jar.overflow);
  EXPECT_EQ(jar.count, CookieJar::kMax);
  EXPECT_EQ(indexed.FindCookie("a").value(), "1");
  EXPECT_EQ(indexed.FindCookie("b").value(), "two");
  EXPECT_EQ(indexed.FindCookie("dup").value(), "first");
  EXPECT_EQ(indexed.FindCookie("c39").value(), "39");
  EXPECT_EQ(indexed.FindCookie("tail").value(), "end");
  EXPECT_EQ(indexed.FindCookie("flag").value(), "");
  EXPECT_FALSE(indexed.FindCookie("x").has_value());

  CookieJar small;
  RequestView few = plain;
  few.headers = std::span<const HeaderField>(headers, 2);
  few.cookie_jar = &small;
  EXPECT_EQ(few.FindCookie("b").value(), "two");
  EXPECT_FALSE(few.FindCookie("c0").has_value());
  EXPECT_FALSE(small.overflow);
  EXPECT_EQ(small.count, 6u);
}

TEST(Diagnostic, CaretUnderColumn) {
  Diagnostic d{Severity::kError, "r.rules", 3, 5, "unknown signal \"foo\"", "x = foo"};
  EXPECT_EQ(FormatDiagnosticLine(d), "r.rules:3:5: error: unknown signal \"foo\"");
  EXPECT_EQ(FormatDiagnostic(d), "r.rules:3:5: error: unknown signal \"foo\"\n  x = foo\n      ^");
  EXPECT_EQ(SourceLine("a\nbb\r\nccc", 2), "bb");
  EXPECT_EQ(SourceLine("a\nbb", 3), "");
}

TEST(Crypto, Base64UrlRoundTrip) {
  for (size_t n = 0; n < 40; ++n) {
    uint8_t in[40], out[40];
    for (size_t i = 0; i < n; ++i) in[i] = static_cast<uint8_t>(i * 37 + 11);
    char text[64];
    Base64UrlEncode(in, n, text);
    long m = Base64UrlDecode(std::string_view(text, Base64UrlEncodedSize(n)), out, sizeof out);
    ASSERT_EQ(m, static_cast<long>(n));
    EXPECT_EQ(std::memcmp(in, out, n), 0);
  }
  uint8_t out[16];
  EXPECT_EQ(Base64UrlDecode("ab+c", out, sizeof out), -1);  // '+' is not URL-safe
  EXPECT_EQ(Base64UrlDecode("a", out, sizeof out), -1);     // impossible length
  EXPECT_EQ(Base64UrlDecode("AB", out, sizeof out), -1);    // non-canonical trailing bits
}

// The table-driven decoder against a character-at-a-time reference: random texts over the
// alphabet plus a few invalid bytes, every length 0..12 (valid, bad characters, bad tails).
TEST(Crypto, Base64UrlDecodeMatchesReference) {
  auto reference = [](std::string_view in, uint8_t* out, size_t cap) -> long {
    if (in.size() % 4 == 1 || in.size() * 3 / 4 > cap) return -1;
    const std::string_view abc =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (char c : in) {
      size_t d = abc.find(c);
      if (d == std::string_view::npos) return -1;
      acc = (acc << 6) | static_cast<uint32_t>(d);
      bits += 6;
      if (bits >= 8) {
        bits -= 8;
        out[o++] = static_cast<uint8_t>((acc >> bits) & 0xff);
      }
    }
    if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) return -1;
    return static_cast<long>(o);
  };
  const char chars[] = "AQgw_-z9+/=. \x80";  // valid first, then invalid bytes
  uint32_t seed = 12345;
  for (int round = 0; round < 20000; ++round) {
    char text[12];
    size_t n = round % 13;
    for (size_t i = 0; i < n; ++i) {
      seed = seed * 1103515245 + 12345;
      size_t k = (seed >> 16) % (round % 7 == 0 ? sizeof chars - 1 : 6);
      text[i] = chars[k];
    }
    uint8_t a[16] = {}, b[16] = {};
    long la = Base64UrlDecode(std::string_view(text, n), a, sizeof a);
    long lb = reference(std::string_view(text, n), b, sizeof b);
    ASSERT_EQ(la, lb) << std::string(text, n);
    if (la > 0) EXPECT_EQ(std::memcmp(a, b, static_cast<size_t>(la)), 0);
  }
}

TEST(Crypto, HmacSha256KnownVector) {
  // RFC 4231 test case 2.
  Sha256Digest d = HmacSha256("Jefe", "what do ya want for nothing?");
  static const uint8_t kExpected[] = {0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e,
                                      0x6a, 0x04, 0x24, 0x26, 0x08, 0x95, 0x75, 0xc7,
                                      0x5a, 0x00, 0x3f, 0x08, 0x9d, 0x27, 0x39, 0x83,
                                      0x9d, 0xec, 0x58, 0xb9, 0x64, 0xec, 0x38, 0x43};
  EXPECT_EQ(std::memcmp(d.data(), kExpected, 32), 0);
  uint8_t a[16], b[16];
  ASSERT_TRUE(SecureRandom(a, sizeof a));
  ASSERT_TRUE(SecureRandom(b, sizeof b));
  EXPECT_FALSE(TimingSafeEqual(a, b, sizeof a));
}

TEST(Crypto, PrecomputedKeyMatchesOneShotHmac) {
  // RFC 4231 test case 2 through the precomputed schedule.
  HmacSha256Key jefe("Jefe");
  EXPECT_EQ(jefe.Sign("what do ya want for nothing?"),
            HmacSha256("Jefe", "what do ya want for nothing?"));
  // RFC 4231 test case 6: a 131-byte key (hashed first) and a longer message.
  std::string long_key(131, '\xaa');
  std::string msg = "Test Using Larger Than Block-Size Key - Hash Key First";
  static const uint8_t kCase6[] = {0x60, 0xe4, 0x31, 0x59, 0x1e, 0xe0, 0xb6, 0x7f,
                                   0x0d, 0x8a, 0x26, 0xaa, 0xcb, 0xf5, 0xb7, 0x7f,
                                   0x8e, 0x0b, 0xc6, 0x21, 0x37, 0x28, 0xc5, 0x14,
                                   0x05, 0x46, 0x04, 0x0f, 0x0e, 0xe3, 0x7f, 0x54};
  Sha256Digest d = HmacSha256Key(long_key).Sign(msg);
  EXPECT_EQ(std::memcmp(d.data(), kCase6, 32), 0);
  for (size_t n : {0u, 1u, 55u, 56u, 64u, 200u}) {
    std::string data(n, 'x');
    EXPECT_EQ(HmacSha256Key("k").Sign(data), HmacSha256("k", data)) << n;
  }
}

TEST(Crypto, PooledRandomNeverRepeatsAndDiffersAfterFork) {
  // Thousands of 16-byte draws from the pool (several refills): all different.
  std::set<std::string> seen;
  for (int i = 0; i < 3000; ++i) {
    char b[16];
    ASSERT_TRUE(SecureRandom(b, sizeof b));
    EXPECT_TRUE(seen.insert(std::string(b, sizeof b)).second);
  }
  // A forked child must not draw the bytes the parent draws next.
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    char b[16];
    bool ok = SecureRandom(b, sizeof b);
    ssize_t w = ok ? write(fds[1], b, sizeof b) : -1;
    _exit(w == 16 ? 0 : 1);
  }
  char parent[16], child[16];
  ASSERT_TRUE(SecureRandom(parent, sizeof parent));
  ASSERT_EQ(read(fds[0], child, sizeof child), 16);
  int status = 0;
  waitpid(pid, &status, 0);
  close(fds[0]);
  close(fds[1]);
  EXPECT_EQ(status, 0);
  EXPECT_NE(std::memcmp(parent, child, 16), 0);
}

// A loader that throws on the background thread (std::bad_alloc for a huge file, anything
// else) is a rejected reload: the old object stays and the process is not terminated.
TEST(Reloader, ALoaderThatThrowsIsARejectedReload) {
  const std::string path = ::testing::TempDir() + "/reloader-" + std::to_string(getpid());
  auto write = [&](const std::string& text) {
    std::ofstream(path + ".tmp") << text;
    ASSERT_EQ(std::rename((path + ".tmp").c_str(), path.c_str()), 0);
  };
  write("v1");
  int mode = 0;  // 0: load, 1: throw std::bad_alloc, 2: throw std::runtime_error, 3: throw 42
  auto loader = [&mode](const std::string& p) -> Result<std::shared_ptr<const std::string>> {
    if (mode == 1) throw std::bad_alloc();
    if (mode == 2) throw std::runtime_error("the parser gave up");
    if (mode == 3) throw 42;
    std::ifstream in(p);
    return std::make_shared<const std::string>(std::istreambuf_iterator<char>(in),
                                               std::istreambuf_iterator<char>());
  };
  auto created = Reloader<std::string>::Create(path, loader);
  ASSERT_TRUE(created.ok()) << created.status().message();
  auto r = std::move(created).value();
  ASSERT_EQ(*r->Current(), "v1");

  struct Case {
    int mode;
    const char* text;
    const char* message;
  };
  for (const Case& c : {Case{1, "v2", "out of memory (std::bad_alloc)"},
                        Case{2, "v33", "the parser gave up"},
                        Case{3, "v444", "not a std::exception"}}) {
    mode = c.mode;
    write(c.text);
    ASSERT_EQ(r->Poll().outcome, ReloadOutcome::kLoading) << c.text;
    ReloadEvent ev = r->Wait();
    EXPECT_EQ(ev.outcome, ReloadOutcome::kRejected) << c.text;
    EXPECT_NE(ev.message.find(path + ": loading failed with an exception: "), std::string::npos)
        << ev.message;
    EXPECT_NE(ev.message.find(c.message), std::string::npos) << ev.message;
    EXPECT_EQ(*r->Current(), "v1");
    EXPECT_EQ(r->Poll().outcome, ReloadOutcome::kUnchanged);  // that version is not retried
  }
  mode = 0;
  write("v55555");
  ASSERT_EQ(r->Poll().outcome, ReloadOutcome::kLoading);
  EXPECT_EQ(r->Wait().outcome, ReloadOutcome::kSwapped);
  EXPECT_EQ(*r->Current(), "v55555");

  // Config time: the exception is the configuration's error.
  mode = 2;
  auto failed = Reloader<std::string>::Create(path, loader);
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.status().message().find("the parser gave up"), std::string::npos);

  // Destroyed while a load runs (a worker exiting): the destructor waits for the thread.
  mode = 0;
  write("v666666");
  ASSERT_EQ(r->Poll().outcome, ReloadOutcome::kLoading);
  r.reset();
  std::remove(path.c_str());
}

}  // namespace
}  // namespace tailor
