// Arena: a bump allocator over a buffer the caller provides (the nginx glue takes it from the
// request pool). The request path uses it instead of the heap; when it is full, Allocate
// returns nullptr and the caller treats the value as missing (fail open). exhausted() then
// tells the request's owner that some value was missing for want of space, not because the
// request lacked it, so it can serve the default and count the failure.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace tailor {

class Arena {
 public:
  Arena() = default;
  Arena(void* buffer, size_t capacity)
      : base_(static_cast<char*>(buffer)), capacity_(capacity) {}

  void* Allocate(size_t n, size_t align = alignof(std::max_align_t)) {
    uintptr_t p = reinterpret_cast<uintptr_t>(base_) + used_;
    uintptr_t aligned = (p + align - 1) & ~(static_cast<uintptr_t>(align) - 1);
    size_t pad = aligned - p;
    if (base_ == nullptr || pad + n > capacity_ - used_) {
      exhausted_ = true;
      return nullptr;
    }
    used_ += pad + n;
    return reinterpret_cast<void*>(aligned);
  }
  char* AllocateChars(size_t n) { return static_cast<char*>(Allocate(n, 1)); }

  // Copies s into the arena; returns an empty view and sets *ok=false when full.
  std::string_view Copy(std::string_view s, bool* ok = nullptr) {
    char* p = AllocateChars(s.size());
    if (p == nullptr) {
      if (ok) *ok = false;
      return {};
    }
    if (!s.empty()) std::memcpy(p, s.data(), s.size());
    if (ok) *ok = true;
    return {p, s.size()};
  }

  size_t used() const { return used_; }
  size_t capacity() const { return capacity_; }
  // True once an allocation failed (since construction or Reset).
  bool exhausted() const { return exhausted_; }
  void Reset() {
    used_ = 0;
    exhausted_ = false;
  }

 private:
  char* base_ = nullptr;
  size_t capacity_ = 0;
  size_t used_ = 0;
  bool exhausted_ = false;
};

}  // namespace tailor
