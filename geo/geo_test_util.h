// Test helpers: sockaddrs from text, paths of the test databases.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>
#include <string>

namespace tailor::testing {

struct TestAddr {
  sockaddr_storage ss{};
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&ss); }
};

inline TestAddr Addr(const char* ip) {
  TestAddr a;
  if (std::strchr(ip, ':')) {
    auto* s6 = reinterpret_cast<sockaddr_in6*>(&a.ss);
    s6->sin6_family = AF_INET6;
    inet_pton(AF_INET6, ip, &s6->sin6_addr);
  } else {
    auto* s4 = reinterpret_cast<sockaddr_in*>(&a.ss);
    s4->sin_family = AF_INET;
    inet_pton(AF_INET, ip, &s4->sin_addr);
  }
  return a;
}

inline std::string MaxmindTest(const std::string& name) {
  return std::string(TAILOR_MAXMIND_TEST_DIR) + "/" + name;
}
inline std::string DemoDb() { return TAILOR_DEMO_GEO_DB; }

}  // namespace tailor::testing
