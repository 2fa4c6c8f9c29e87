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
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
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
    auto obj = loader(path);
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
    worker_ = std::thread([this] {
      pending_ = loader_(path_);
      done_.store(true, std::memory_order_release);
    });
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

  ReloadEvent Finish() {
    Result<std::shared_ptr<const T>> loaded = std::move(pending_);
    pending_ = Status::Error("not loaded");
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
  Result<std::shared_ptr<const T>> pending_{Status::Error("not loaded")};
};

}  // namespace tailor
