// Reloader<T>: hot reload of one file-backed, immutable object (a geo database, a table).
//
// The owner (an nginx worker's timer, the CLI) calls Poll() periodically. Poll() never
// blocks: it stats the file (device, inode, size, mtime); when the file changed, it starts a
// background thread that loads and validates the new version off the request path; a later
// Poll() sees the result and either swaps it in (kSwapped) or keeps the old object and
// reports why (kRejected; that same file version is not retried until it changes again).
// Requests take Current() (a shared_ptr copy) at their start and keep it to their end, so an
// old object is released exactly when the last request using it finishes.
//
// Threading: Poll() and Current() must be called from one thread (the owner; an nginx
// worker is single-threaded); only the loader runs on the background thread. The request
// path therefore reads `current_` with no lock and no atomic beyond shared_ptr's refcount.
//
// Exceptions: an exception escaping a std::thread calls std::terminate, which would kill the
// nginx worker, so the background thread catches everything the loader throws (std::bad_alloc
// from a huge file, anything else) and turns it into a rejected reload: the old object stays
// and the message names the file and the exception. Create() does the same at config time.
// The destructor (worker exit, configuration reload) joins a load still running: the thread
// uses this object, so it must finish first; it is never detached.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <cstdint>
#include <functional>
#include <exception>
#include <memory>
#include <new>
#include <string>
#include <system_error>
#include <thread>

#include "core/status.h"

namespace tailor {

// What identifies one version of a file.
struct FileIdentity {
  uint64_t device = 0;
  uint64_t inode = 0;
  int64_t size = 0;
  int64_t mtime_ns = 0;
  bool operator==(const FileIdentity&) const = default;
};
inline Result<FileIdentity> StatFile(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return Status::Error(path + ": " + std::strerror(errno));
  FileIdentity id;
  id.device = st.st_dev;
  id.inode = st.st_ino;
  id.size = st.st_size;
  id.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  return id;
}

enum class ReloadOutcome {
  kUnchanged,  // same file (or the rejected version again), nothing to do
  kLoading,    // a changed file is being loaded in the background
  kSwapped,    // the new version is now Current()
  kRejected,   // the new version failed to load; the old one stays; message says why
};
inline const char* ReloadOutcomeName(ReloadOutcome o) {
  switch (o) {
    case ReloadOutcome::kUnchanged: return "unchanged";
    case ReloadOutcome::kLoading: return "loading";
    case ReloadOutcome::kSwapped: return "swapped";
    case ReloadOutcome::kRejected: return "rejected";
  }
  return "unchanged";
}

struct ReloadEvent {
  ReloadOutcome outcome = ReloadOutcome::kUnchanged;
  std::string message;  // kRejected: the loader's error (names the file); kSwapped: a summary
};

template <typename T>
class Reloader {
 public:
  using Loader = std::function<Result<std::shared_ptr<const T>>(const std::string& path)>;

  // Config time: loads `path` synchronously (the error fails the configuration).
  static Result<std::unique_ptr<Reloader>> Create(std::string path, Loader loader) {
    auto id = StatFile(path);
    if (!id.ok()) return id.status();
    Result<std::shared_ptr<const T>> obj = Status::Error("not loaded");
    char what[kWhatSize];
    if (!CallLoader(loader, path, &obj, what)) return Status::Error(ExceptionMessage(path, what));
    if (!obj.ok()) return obj.status();
    std::unique_ptr<Reloader> r(new Reloader(std::move(path), std::move(loader)));
    r->current_ = std::move(obj).value();
    r->current_id_ = id.value();
    return r;
  }

  ~Reloader() {
    if (worker_.joinable()) worker_.join();
  }
  Reloader(const Reloader&) = delete;
  Reloader& operator=(const Reloader&) = delete;

  // The object new requests should use (owner thread only).
  const std::shared_ptr<const T>& Current() const { return current_; }
  const std::string& path() const { return path_; }

  // Non-blocking check (owner thread only): see the file comment.
  ReloadEvent Poll() {
    if (worker_.joinable()) {
      if (!done_.load(std::memory_order_acquire)) return {ReloadOutcome::kLoading, {}};
      worker_.join();
      return Finish();
    }
    auto id = StatFile(path_);
    if (!id.ok()) {
      // A file being replaced may briefly not exist: keep serving, report once per state.
      if (!missing_reported_) {
        missing_reported_ = true;
        return {ReloadOutcome::kRejected, id.status().message() + " (keeping the loaded version)"};
      }
      return {};
    }
    missing_reported_ = false;
    if (id.value() == current_id_ || (has_rejected_ && id.value() == rejected_id_)) return {};
    loading_id_ = id.value();
    done_.store(false, std::memory_order_relaxed);
    pending_ = Status::Error("not loaded");
    threw_ = false;
    try {
      worker_ = std::thread([this] {
        threw_ = !CallLoader(loader_, path_, &pending_, what_);
        done_.store(true, std::memory_order_release);
      });
    } catch (const std::system_error& e) {
      // No thread (EAGAIN: a process or memory limit): keep the old object and try again at
      // the next Poll, when the limit may have passed.
      return {ReloadOutcome::kRejected,
              path_ + ": cannot start the reload thread: " + e.what() + " (keeping the loaded version)"};
    }
    return {ReloadOutcome::kLoading, {}};
  }

  // Blocks until a background load (if any) finishes and returns what Poll would have
  // (tests and the CLI).
  ReloadEvent Wait() {
    if (!worker_.joinable()) return {};
    worker_.join();
    return Finish();
  }

 private:
  Reloader(std::string path, Loader loader) : path_(std::move(path)), loader_(std::move(loader)) {}

  static constexpr size_t kWhatSize = 256;

  // Runs the loader; false when it threw, with what() copied into `what` (a fixed buffer: after
  // std::bad_alloc, building a message string may throw again, so nothing here allocates).
  static bool CallLoader(const Loader& loader, const std::string& path,
                         Result<std::shared_ptr<const T>>* out, char (&what)[kWhatSize]) noexcept {
    what[0] = '\0';
    try {
      *out = loader(path);
      return true;
    } catch (const std::bad_alloc&) {
      std::strncpy(what, "out of memory (std::bad_alloc)", kWhatSize - 1);
    } catch (const std::exception& e) {
      std::strncpy(what, e.what(), kWhatSize - 1);
    } catch (...) {
      std::strncpy(what, "an exception that is not a std::exception", kWhatSize - 1);
    }
    what[kWhatSize - 1] = '\0';
    return false;
  }
  static std::string ExceptionMessage(const std::string& path, const char* what) {
    return path + ": loading failed with an exception: " + what;
  }

  ReloadEvent Finish() {
    Result<std::shared_ptr<const T>> loaded = std::move(pending_);
    pending_ = Status::Error("not loaded");
    if (threw_) {
      threw_ = false;
      loaded = Status::Error(ExceptionMessage(path_, what_));
    }
    // The file may have changed again while loading: then what was loaded is not what the
    // identity says; the next Poll sees the newer identity and loads again.
    if (!loaded.ok()) {
      has_rejected_ = true;
      rejected_id_ = loading_id_;
      return {ReloadOutcome::kRejected, loaded.status().message() + " (keeping the loaded version)"};
    }
    current_ = std::move(loaded).value();
    current_id_ = loading_id_;
    has_rejected_ = false;
    return {ReloadOutcome::kSwapped, path_ + ": reloaded"};
  }

  std::string path_;
  Loader loader_;
  std::shared_ptr<const T> current_;
  FileIdentity current_id_;
  FileIdentity loading_id_;
  FileIdentity rejected_id_;
  bool has_rejected_ = false;
  bool missing_reported_ = false;
  std::thread worker_;
  std::atomic<bool> done_{false};
  // Written by the background thread, read by the owner after done_ (acquire) or join().
  Result<std::shared_ptr<const T>> pending_{Status::Error("not loaded")};
  bool threw_ = false;
  char what_[kWhatSize] = {};
};

}  // namespace tailor
