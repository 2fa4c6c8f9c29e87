#include "core/secret.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

namespace tailor {
namespace {

class SecretFile {
 public:
  explicit SecretFile(const std::string& bytes) {
    char tmpl[] = "/tmp/tailor-secret-XXXXXX";
    int fd = mkstemp(tmpl);
    close(fd);
    path_ = tmpl;
    std::ofstream(path_, std::ios::binary) << bytes;
  }
  ~SecretFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

const std::string k40 = "0123456789abcdefghijklmnopqrstuvwxyzABCD";

TEST(LoadSecret, DropsOneLineEndOnly) {
  for (const std::string& tail : {std::string(""), std::string("\n"), std::string("\r\n")}) {
    SecretFile f(k40 + tail);
    auto s = LoadSecret(f.path());
    ASSERT_TRUE(s.ok()) << s.status().message();
    EXPECT_EQ(s.value(), k40) << "tail of " << tail.size() << " bytes";
  }
  // Whitespace other than one line end is key material.
  SecretFile spaces(k40 + " \t\n");
  EXPECT_EQ(LoadSecret(spaces.path()).value(), k40 + " \t");
  SecretFile two(k40 + "\n\n");
  EXPECT_EQ(LoadSecret(two.path()).value(), k40 + "\n");
}

TEST(LoadSecret, RefusesShortLargeAndMissing) {
  SecretFile short16("0123456789abcdef\n");
  auto s = LoadSecret(short16.path());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("16 bytes; at least 32"), std::string::npos)
      << s.status().message();

  // 31 bytes plus a line end is still short: the line end is not key material.
  SecretFile short31(k40.substr(0, 31) + "\n");
  EXPECT_FALSE(LoadSecret(short31.path()).ok());
  SecretFile exact(k40.substr(0, 32));
  EXPECT_TRUE(LoadSecret(exact.path()).ok());

  SecretFile large(std::string(kMaxSecretBytes + 1, 'x'));
  s = LoadSecret(large.path());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("larger than"), std::string::npos);
  SecretFile at_limit(std::string(kMaxSecretBytes, 'x'));
  EXPECT_TRUE(LoadSecret(at_limit.path()).ok());

  EXPECT_FALSE(LoadSecret("/nonexistent/tailor.secret").ok());
}

}  // namespace
}  // namespace tailor
