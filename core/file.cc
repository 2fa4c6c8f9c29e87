#include "core/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace tailor {
namespace {

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace

Result<std::string> ReadFileLimited(const std::string& path, size_t max_bytes,
                                    FileReadFailure* failure) {
  FileReadFailure ignored;
  FileReadFailure& why = failure != nullptr ? *failure : ignored;
  why = FileReadFailure();
  auto fail = [&](FileReadFailure::Kind kind, int err, std::string message) {
    why.kind = kind;
    why.error_number = err;
    return Status::Error(std::move(message));
  };
  auto too_large = [&] {
    return fail(FileReadFailure::Kind::kTooLarge, 0,
                path + " is larger than " + std::to_string(max_bytes) + " bytes");
  };

  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    int err = errno;
    return fail(FileReadFailure::Kind::kCannotOpen, err,
                "cannot read " + path + ": " + std::strerror(err));
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) {
    int err = errno;
    return fail(FileReadFailure::Kind::kReadError, err, "cannot read " + path);
  }
  if (S_ISDIR(st.st_mode))
    return fail(FileReadFailure::Kind::kIsDirectory, EISDIR, path + " is a directory");
  if (S_ISREG(st.st_mode) && static_cast<uint64_t>(st.st_size) > max_bytes) return too_large();

  std::string text;
  if (S_ISREG(st.st_mode)) text.reserve(static_cast<size_t>(st.st_size));
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      return fail(FileReadFailure::Kind::kReadError, err, "cannot read " + path);
    }
    if (n == 0) break;
    if (static_cast<size_t>(n) > max_bytes - text.size()) return too_large();
    text.append(buf, static_cast<size_t>(n));
  }
  return text;
}

}  // namespace tailor
